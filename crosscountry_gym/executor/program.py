"""The Jacobian program: accumulate a Jacobian by eliminating vertices in a given order.

``jacobian(f, order="rev", argnums=0)(*args)`` returns what ``jax.jacrev(f, argnums)(*args)``
returns. A call runs four steps, all at JAX trace time (so ``jax.jit(jacobian(f, order))``
compiles to the accumulation arithmetic only, and ``jax.vmap`` / ``jax.jit`` compose):

1. :func:`prepare` (once per argument signature, cached by :class:`Executor`):
   :func:`crosscountry_gym.tracer.trace` turns ``f`` at the argument shapes into a graph plus
   the flattened jaxpr, and the order is resolved against that graph before anything is
   evaluated. The order is checked once: the graph-free checks
   (:func:`~crosscountry_gym.orders.parse_order`) when the transform is built, the graph checks
   (:func:`order_for`) here.
2. :func:`evaluate_partials`: the flattened jaxpr is evaluated on the call-time arguments and
   every edge's local partial is built in the compact layout of its type
   (:mod:`crosscountry_gym.executor.partials`).
3. :func:`eliminate`: vertices are eliminated in order by the engine's skeleton
   (:func:`crosscountry_gym.engine.eliminate_vertex`) with the compact algebra as its
   arithmetic (:mod:`crosscountry_gym.executor.compact`): each in-edge x out-edge pair is one
   einsum over the cost model's varying index classes, merged into the existing edge by
   addition.
4. :func:`assemble`: the remaining input -> output edges are expanded (selects, no
   multiplications) into blocks of the shape ``jax.jacrev`` returns, in its pytree structure and
   dtypes.

Steps 3-4 are what :mod:`crosscountry_gym.executor.counting` stages and counts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import jax
import jax.extend.core as jcore
import jax.numpy as jnp

from ..engine import eliminate_vertex, validate_order
from ..graph import Graph
from ..orders import OrderSpec, heuristic_order, parse_order
from ..tracer import Trace, bind_eqn, normalize_argnums, trace
from . import elementwise
from .compact import CompactEdge, astype, merge, product, reshape, to_dense
from .elementwise import SharedTerms
from .partials import edge_partial, needed_operands

__all__ = [
    "jacobian",
    "Executor",
    "Prepared",
    "prepare",
    "order_for",
    "evaluate_partials",
    "eliminate",
    "assemble",
]

Edges = dict[tuple[int, int], CompactEdge]
"""Compact edges keyed (source row, target vertex), as the partials phase builds them."""


# ---------------------------------------------------------------------------------------------
# Step 1: preparation (per argument signature): trace, order, output structure, partials plan
# ---------------------------------------------------------------------------------------------


def order_for(graph: Graph, spec: OrderSpec) -> tuple[int, ...]:
    """The full order of ``graph`` for an order already through
    :func:`~crosscountry_gym.orders.parse_order`: a name by its heuristic, a tuple of ids checked
    against the graph (the graph-free checks are not repeated)."""
    if isinstance(spec, str):
        return heuristic_order(graph, spec)
    return validate_order(graph, spec)


def _aval_key(x: Any) -> tuple:
    a = jax.typeof(x)
    return (tuple(a.shape), str(a.dtype), bool(getattr(a, "weak_type", False)))


def _spec(x: Any) -> jax.ShapeDtypeStruct:
    a = jax.typeof(x)
    return jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=getattr(a, "weak_type", False))


@dataclass
class Prepared:
    """Everything static about one (function, argument signature, argnums, order)."""

    trace: Trace
    order: tuple[int, ...]
    jac_treedef: Any
    jac_leaves: list[jax.ShapeDtypeStruct]
    diff_leaves: list[tuple[int, int]]  # (flat leaf index, row) in jacrev's inner order
    edge_jobs: list  # see _plan_partials
    needed_eqns: set[int]


def prepare(f: Callable, args: tuple, argnums: int | Sequence[int], spec: OrderSpec) -> Prepared:
    """Trace ``f`` at the shapes of ``args``, resolve the parsed order ``spec`` against the graph
    and plan the partials phase. Raises before anything is evaluated."""
    if argnums is None:
        raise ValueError("argnums must be an int or a tuple of ints, got None")
    user_argnums = normalize_argnums(argnums, len(args))
    specs = jax.tree_util.tree_map(_spec, args)
    tr = trace(f, *specs, argnums=tuple(sorted(user_argnums)))
    ordered = order_for(tr.graph, spec)
    ref = jax.eval_shape(jax.jacrev(f, argnums=argnums), *specs)
    leaves, treedef = jax.tree_util.tree_flatten(ref)
    # Flat-leaf ranges of every positional argument.
    starts, k = [], 0
    for a in args:
        starts.append(k)
        k += len(jax.tree_util.tree_leaves(a))
    diff = []
    for a in user_argnums:
        n = len(jax.tree_util.tree_leaves(args[a]))
        for i in range(starts[a], starts[a] + n):
            diff.append((i, tr.input_rows[i]))
    n_out = len(tr.output_vars)
    if len(leaves) != n_out * len(diff):
        raise RuntimeError(
            f"internal: jax.jacrev has {len(leaves)} blocks, expected {n_out} x {len(diff)}"
        )
    jobs, needed_eqns = _plan_partials(tr)
    return Prepared(tr, ordered, treedef, leaves, diff, jobs, needed_eqns)


def _plan_partials(tr: Trace) -> tuple[list, set[int]]:
    """Per edge: (vertex, source row, operand slots, graph edge, operands whose values are read);
    and the indices of the equations that must be evaluated to provide those values."""
    edge_of = {(e.source, e.target): e for e in tr.graph.edges}
    jobs = []
    needed_vars: set[Any] = set()
    for vx in tr.vertices:
        slots: dict[int, list[int]] = {}
        for j, op in enumerate(vx.operands):
            if op.row is not None:
                slots.setdefault(op.row, []).append(j)
        for row, js in slots.items():
            e = edge_of[(row, vx.vertex)]
            needed = needed_operands(vx.eqn, js, e.type)
            jobs.append((vx, row, tuple(js), e, needed))
            for i in needed:
                v = vx.eqn.invars[i]
                if not isinstance(v, jcore.Literal):
                    needed_vars.add(v)
            if elementwise.has_partial_rule(vx.eqn):  # its rule may read the output too
                needed_vars.add(vx.eqn.outvars[vx.outvar_index])
    needed_eqns: set[int] = set()
    for k in range(len(tr.eqns) - 1, -1, -1):
        eqn = tr.eqns[k]
        if any(v in needed_vars for v in eqn.outvars if not isinstance(v, jcore.DropVar)):
            needed_eqns.add(k)
            needed_vars.update(v for v in eqn.invars if not isinstance(v, jcore.Literal))
    return jobs, needed_eqns


# ---------------------------------------------------------------------------------------------
# Step 2: the partials phase
# ---------------------------------------------------------------------------------------------


def _read(env: dict, v: Any) -> Any:
    return v.val if isinstance(v, jcore.Literal) else env[v]


def evaluate_partials(prep: Prepared, flat_args: Sequence[Any]) -> Edges:
    """Evaluate the needed primal values and every edge's compact partial.

    Keyed (source row, target vertex). Only equations whose values some partial reads are
    evaluated (``prep.needed_eqns``), so a jitted program holds no unused primal work.
    """
    tr = prep.trace
    env: dict[Any, Any] = dict(tr.const_env)
    for v, x in zip(tr.all_input_vars, flat_args, strict=True):
        env[v] = x
    shared = SharedTerms()  # one reciprocal / rsqrt per value, for primals and partials alike
    for k, eqn in enumerate(tr.eqns):
        if k in prep.needed_eqns:
            invals = [_read(env, v) for v in eqn.invars]
            fast = elementwise.primal(shared, eqn, invals)
            outs = [fast] if fast is not None else bind_eqn(eqn, invals)
            for v, val in zip(eqn.outvars, outs, strict=True):
                if not isinstance(v, jcore.DropVar):
                    env[v] = val
    edges: Edges = {}
    for vx, row, js, e, needed in prep.edge_jobs:
        eqn = vx.eqn
        invals = [_read(env, v) if i in needed else None for i, v in enumerate(eqn.invars)]
        out = env.get(eqn.outvars[vx.outvar_index])
        edges[(row, vx.vertex)] = edge_partial(
            eqn, invals, js, vx.outvar_index, e.type, e.out_shape, e.in_shape,
            shared=shared, out=out,
        )
    return edges


# ---------------------------------------------------------------------------------------------
# Step 3: elimination
# ---------------------------------------------------------------------------------------------


def eliminate(prep: Prepared, edges: Edges) -> tuple[dict[int, dict[int, CompactEdge]], int]:
    """Eliminate ``prep.order`` with the engine's skeleton and the compact algebra.

    Returns the final successor dict, keyed by row on both levels (``succ[source][target]``),
    and the multiplications booked by :func:`~crosscountry_gym.executor.compact.product`.
    """
    ni = prep.trace.graph.num_inputs
    succ: dict[int, dict[int, CompactEdge]] = {}
    pred: dict[int, dict[int, CompactEdge]] = {}
    for (r, t), e in edges.items():
        succ.setdefault(r, {})[ni + t] = e
        pred.setdefault(ni + t, {})[r] = e
    total = 0
    for v in prep.order:
        total += eliminate_vertex(succ, pred, ni + v, product, merge)
    return succ, total


# ---------------------------------------------------------------------------------------------
# Step 4: assembly
# ---------------------------------------------------------------------------------------------


def assemble(prep: Prepared, succ: dict[int, dict[int, CompactEdge]]) -> Any:
    """Blocks in ``jax.jacrev``'s structure: out leaf x (argnums, arg leaves)."""
    tr = prep.trace
    ni = tr.graph.num_inputs
    blocks = []
    k = 0
    for out_var, out_row in zip(tr.output_vars, tr.output_rows, strict=True):
        out_shape = tuple(out_var.aval.shape)
        for _, in_row in prep.diff_leaves:
            want = prep.jac_leaves[k]
            k += 1
            block = None
            if in_row is not None and out_row is not None:
                if out_row > ni:
                    e = succ.get(in_row, {}).get(out_row)
                    if e is not None:
                        block = to_dense(e, want.dtype)
                elif out_row == in_row:
                    block = jnp.eye(prod(out_shape), dtype=want.dtype)
            if block is None:
                block = jnp.zeros(want.shape, want.dtype)
            blocks.append(astype(reshape(block, want.shape), want.dtype))
    return jax.tree_util.tree_unflatten(prep.jac_treedef, blocks)


# ---------------------------------------------------------------------------------------------
# The transform
# ---------------------------------------------------------------------------------------------


class Executor:
    """One function, one order, one ``argnums``: the parsed order and a cache of
    :class:`Prepared` per argument signature (shared by :func:`jacobian` and
    :func:`~crosscountry_gym.executor.counting.count_multiplications`)."""

    def __init__(self, f: Callable, order: OrderSpec, argnums: int | Sequence[int]):
        if not callable(f):
            raise TypeError(f"expected a callable, got {type(f).__name__}")
        self.f = f
        self.order = parse_order(order)
        self.argnums = argnums
        self._cache: dict[tuple, Prepared] = {}

    def prepare(self, args: tuple) -> Prepared:
        leaves, tree = jax.tree_util.tree_flatten(args)
        key = (tree, tuple(_aval_key(x) for x in leaves))
        if key not in self._cache:
            self._cache[key] = prepare(self.f, args, self.argnums, self.order)
        return self._cache[key]

    def transform(self) -> Callable[..., Any]:
        """The Jacobian function of this executor (what :func:`jacobian` returns)."""

        @functools.wraps(self.f)
        def jac_fn(*args: Any) -> Any:
            prep = self.prepare(args)
            succ, _ = eliminate(prep, evaluate_partials(prep, jax.tree_util.tree_leaves(args)))
            return assemble(prep, succ)

        jac_fn.executor = self  # type: ignore[attr-defined]
        return jac_fn


def jacobian(
    f: Callable[..., Any], order: OrderSpec = "rev", argnums: int | Sequence[int] = 0
) -> Callable[..., Any]:
    """``jax.jacrev``-like transform that accumulates the Jacobian in a given elimination order.

    Args:
        f: a JAX function of positional arguments (pytrees allowed), as for ``jax.jacrev``.
        order: "auto" (the cheapest order a short deterministic search finds; the choice
            for a cheaper Jacobian), "fwd", "rev", "markowitz" (or another name of
            :data:`crosscountry_gym.orders.ORDER_NAMES`), or a list of vertex ids of
            ``make_graph(f, *args, argnums=argnums)``: every non-output vertex exactly once.
        argnums: int or tuple of ints, as in JAX.

    Returns:
        A function with the signature of ``f`` whose result has the pytree structure, shapes
        and dtypes of ``jax.jacrev(f, argnums)(*args)``. It is traceable: ``jax.jit`` and
        ``jax.vmap`` apply as usual, and under ``jit`` only the accumulation is compiled.

    Raises:
        InvalidOrderError: (a ``ValueError``) on a malformed order immediately; on an order that
            does not fit the traced graph at the first call, before any evaluation.
    """
    return Executor(f, order, argnums).transform()
