"""The JAX executor: accumulate a Jacobian by eliminating vertices in a given order.

Public API::

    jacobian(f, order="rev", argnums=0)(*args)          # like jax.jacrev(f, argnums)(*args)
    count_multiplications(f, order, argnums=0)(*args)    # scalar multiplications emitted
    verify_order(task_or_fn, order, *args, ...)          # costs, errors vs jax.jacrev, pass/fail

How a call runs (all at JAX trace time, so ``jax.jit(jacobian(f, order))`` compiles to the
accumulation arithmetic only, and ``jax.vmap`` / ``jax.jit`` compose):

1. :func:`crosscountry_gym.trace.trace` turns ``f`` at the argument shapes into a graph plus the
   flattened jaxpr (cached per argument signature). ``order`` is resolved ("fwd", "rev",
   "markowitz", any heuristic name of :mod:`crosscountry_gym.baselines`, or a list of vertex ids
   of that graph) and validated before anything is evaluated.
2. The flattened jaxpr is evaluated on the call-time arguments; every edge's local partial is
   built in the compact layout of its type (:mod:`crosscountry_gym.partials`).
3. Vertices are eliminated in order with the compact algebra (:mod:`crosscountry_gym.compact`):
   each in-edge x out-edge pair is one einsum over the cost model's varying index classes,
   merged into the existing edge by addition.
4. The remaining input -> output edges are expanded (selects, no multiplications) into blocks of
   the shape ``jax.jacrev`` returns, in its pytree structure and dtypes.

Multiplications are counted from the emitted program itself (:func:`count_multiplications`
inspects the jaxpr of steps 3-4) and equal ``cost(make_graph(f, *args), order, "exact")``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from math import prod
from typing import Any

import jax
import jax.extend.core as jcore
import jax.numpy as jnp
import numpy as np

from . import elementwise
from .compact import CompactEdge, IndexMap, astype, product, reshape, to_dense
from .compact import merge as merge_edges
from .elementwise import SharedTerms
from .engine import InvalidOrderError, cost
from .orders import OrderSpec, parse_order, resolve_order
from .partials import bind_eqn, edge_partial, needed_operands

__all__ = [
    "jacobian",
    "count_multiplications",
    "verify_order",
    "VerifyResult",
    "resolve_order",
    "count_jaxpr_multiplications",
    "UncountedArithmeticError",
]



class UncountedArithmeticError(RuntimeError):
    """The accumulation program contains arithmetic the multiplication counter cannot account for."""


# ---------------------------------------------------------------------------------------------
# Orders
# ---------------------------------------------------------------------------------------------


_precheck_order = parse_order


# ---------------------------------------------------------------------------------------------
# Preparation (per argument signature): trace, order, output structure
# ---------------------------------------------------------------------------------------------


def _aval_key(x: Any) -> tuple:
    a = jax.typeof(x)
    return (tuple(a.shape), str(a.dtype), bool(getattr(a, "weak_type", False)))


def _spec(x: Any) -> jax.ShapeDtypeStruct:
    a = jax.typeof(x)
    return jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=getattr(a, "weak_type", False))


def _norm_argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    if isinstance(argnums, bool):
        raise ValueError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
    if isinstance(argnums, int | np.integer):
        seq = (int(argnums),)
    else:
        seq = tuple(argnums)
    out = []
    for a in seq:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise ValueError(f"argnums entries must be ints, got {a!r}")
        if not -nargs <= int(a) < nargs:
            raise ValueError(f"argnums entry {a} out of range for {nargs} positional arguments")
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"argnums has duplicate entries: {argnums!r}")
    return tuple(out)


@dataclass
class _Prepared:
    """Everything static about one (function, argument signature, argnums, order)."""

    trace: Any
    order: tuple[int, ...]
    edge_of: dict[tuple[int, int], Any]  # (source row, target vertex) -> graph Edge
    jac_treedef: Any
    jac_leaves: list[jax.ShapeDtypeStruct]
    diff_leaves: list[tuple[int, int]]  # (flat leaf index, row) in jacrev's inner order
    edge_jobs: list  # see _plan_partials
    needed_eqns: set[int]


def _prepare(f: Callable, args: tuple, argnums: int | Sequence[int], order: OrderSpec) -> _Prepared:
    from .trace import trace as do_trace

    user_argnums = _norm_argnums(argnums, len(args))
    specs = jax.tree_util.tree_map(_spec, args)
    tr = do_trace(f, *specs, argnums=tuple(sorted(user_argnums)))
    ordered = resolve_order(tr.graph, order)
    edge_of = {(e.source, e.target): e for e in tr.graph.edges}
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
    jobs, needed_eqns = _plan_partials(tr, edge_of)
    return _Prepared(tr, ordered, edge_of, treedef, leaves, diff, jobs, needed_eqns)


# ---------------------------------------------------------------------------------------------
# The three phases
# ---------------------------------------------------------------------------------------------


def _read(env: dict, v: Any) -> Any:
    return v.val if isinstance(v, jcore.Literal) else env[v]


def _partials(prep: _Prepared, flat_args: Sequence[Any]) -> dict[tuple[int, int], CompactEdge]:
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
    edges: dict[tuple[int, int], CompactEdge] = {}
    for vx, row, js, e, needed in prep.edge_jobs:
        eqn = vx.eqn
        invals = [_read(env, v) if i in needed else None for i, v in enumerate(eqn.invars)]
        out = env.get(eqn.outvars[vx.outvar_index])
        edges[(row, vx.vertex)] = edge_partial(
            eqn, invals, js, vx.outvar_index, e.type, e.out_shape, e.in_shape,
            shared=shared, out=out,
        )
    return edges


def _plan_partials(tr: Any, edge_of: dict) -> tuple[list, set[int]]:
    """Per edge: (vertex, source row, operand slots, graph edge, operands whose values are read);
    and the indices of the equations that must be evaluated to provide those values."""
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


def _eliminate(
    prep: _Prepared, edges: dict[tuple[int, int], CompactEdge]
) -> tuple[dict[int, dict[int, CompactEdge]], int]:
    """Eliminate ``prep.order``; returns the final successor dict and the booked mult count."""
    ni = prep.trace.graph.num_inputs
    succ: dict[int, dict[int, CompactEdge]] = {}
    pred: dict[int, dict[int, CompactEdge]] = {}
    for (r, t), e in edges.items():
        succ.setdefault(r, {})[t] = e
        pred.setdefault(t, {})[r] = e
    total = 0
    for v in prep.order:
        row = ni + v
        ins = pred.pop(v, {})
        outs = succ.pop(row, {})
        for r, e_in in ins.items():
            succ_r = succ[r]
            for t, e_out in outs.items():
                new, mults = product(e_in, e_out)
                total += mults
                merged = merge_edges(succ_r.get(t), new)
                succ_r[t] = merged
                pred[t][r] = merged
            del succ_r[v]
            if not succ_r:
                del succ[r]
        for t in outs:
            del pred[t][row]
    return succ, total


def _assemble(prep: _Prepared, succ: dict[int, dict[int, CompactEdge]]) -> Any:
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
                    e = succ.get(in_row, {}).get(out_row - ni)
                    if e is not None:
                        block = to_dense(e, want.dtype)
                elif out_row == in_row:
                    n = prod(out_shape)
                    block = jnp.eye(n, dtype=want.dtype)
            if block is None:
                block = jnp.zeros(want.shape, want.dtype)
            blocks.append(astype(reshape(block, want.shape), want.dtype))
    return jax.tree_util.tree_unflatten(prep.jac_treedef, blocks)


# ---------------------------------------------------------------------------------------------
# Public transforms
# ---------------------------------------------------------------------------------------------


class _Executor:
    """Shared state of :func:`jacobian` and :func:`count_multiplications`: a signature cache."""

    def __init__(self, f: Callable, order: OrderSpec, argnums: int | Sequence[int]):
        if not callable(f):
            raise TypeError(f"expected a callable, got {type(f).__name__}")
        self.f = f
        self.order = _precheck_order(order)
        self.argnums = argnums
        self._cache: dict[tuple, _Prepared] = {}

    def prepare(self, args: tuple) -> _Prepared:
        leaves, tree = jax.tree_util.tree_flatten(args)
        key = (tree, tuple(_aval_key(x) for x in leaves))
        if key not in self._cache:
            self._cache[key] = _prepare(self.f, args, self.argnums, self.order)
        return self._cache[key]


def jacobian(
    f: Callable[..., Any], order: OrderSpec = "rev", argnums: int | Sequence[int] = 0
) -> Callable[..., Any]:
    """``jax.jacrev``-like transform that accumulates the Jacobian in a given elimination order.

    Args:
        f: a JAX function of positional arguments (pytrees allowed), as for ``jax.jacrev``.
        order: "fwd", "rev", "markowitz" (or another heuristic name), or a list of vertex ids of
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
    ex = _Executor(f, order, argnums)

    @functools.wraps(f)
    def jac_fn(*args: Any) -> Any:
        prep = ex.prepare(args)
        flat = jax.tree_util.tree_leaves(args)
        succ, _ = _eliminate(prep, _partials(prep, flat))
        return _assemble(prep, succ)

    jac_fn.executor = ex  # type: ignore[attr-defined]
    return jac_fn


# Primitives that move, select or add values without multiplying them.
_NO_MUL = frozenset(
    """add add_any sub neg select_n broadcast_in_dim reshape transpose squeeze expand_dims
    concatenate stack pad slice dynamic_slice dynamic_update_slice gather scatter-add scatter_add
    scatter iota eq ne lt le gt ge and or not convert_element_type copy copy_p
    reduce_sum rev split max min clamp stop_gradient""".split()
)


def count_jaxpr_multiplications(jaxpr: Any) -> int:
    """Scalar multiplications of a (closed) jaxpr: ``mul`` (one per output element) and
    ``dot_general`` (batch x free x free x contracted). Recurses into sub-jaxprs.

    Raises :class:`UncountedArithmeticError` for any other arithmetic primitive, so that nothing
    the executor emits can escape the count.
    """
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        subs = list(jcore.jaxprs_in_params(eqn.params))
        if subs:
            for sub in subs:
                total += count_jaxpr_multiplications(sub)
            continue
        if name == "mul":
            total += int(np.prod(eqn.outvars[0].aval.shape, dtype=np.int64))
        elif name == "dot_general":
            (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
            ls = eqn.invars[0].aval.shape
            rs = eqn.invars[1].aval.shape
            n = int(np.prod(ls, dtype=np.int64))
            n *= int(np.prod([s for d, s in enumerate(rs) if d not in rc and d not in rb],
                             dtype=np.int64))
            total += n
        elif name not in _NO_MUL:
            raise UncountedArithmeticError(
                f"the accumulation program contains {name!r}, which the counter does not model"
            )
    return total


def _count(ex: _Executor, args: tuple) -> tuple[int, int]:
    """(multiplications in the emitted accumulation program, multiplications booked)."""
    prep = ex.prepare(args)
    flat = jax.tree_util.tree_leaves(args)
    holder: dict[str, Any] = {}

    def phase1(*xs: Any) -> list[Any]:
        edges = _partials(prep, xs)
        arrays: list[Any] = []
        layout: list[tuple] = []
        for key, e in edges.items():
            terms = None
            if e.imap is not None:
                terms = []
                for t in e.imap.terms:
                    if isinstance(t, np.ndarray):
                        terms.append(("static", t))
                    else:
                        terms.append(("array", len(arrays)))
                        arrays.append(t)
            vi = None
            if e.values is not None:
                vi = len(arrays)
                arrays.append(e.values)
            layout.append((key, e, vi, terms))
        holder["layout"] = layout
        return arrays

    shapes = jax.eval_shape(phase1, *flat)

    def phase2(arrays: list[Any]) -> Any:
        edges = {}
        for key, e, vi, terms in holder["layout"]:
            imap = None
            if terms is not None:
                imap = IndexMap(
                    tuple(t if kind == "static" else arrays[t] for kind, t in terms),
                    e.imap.n_out,
                    e.imap.n_in,
                )
            edges[key] = CompactEdge(
                e.code, e.out_shape, e.in_shape,
                values=None if vi is None else arrays[vi], imap=imap,
            )
        succ, booked = _eliminate(prep, edges)
        holder["booked"] = booked
        return _assemble(prep, succ)

    jaxpr = jax.make_jaxpr(phase2)(shapes)
    return count_jaxpr_multiplications(jaxpr), holder["booked"]


def count_multiplications(
    f: Callable[..., Any], order: OrderSpec = "rev", argnums: int | Sequence[int] = 0
) -> Callable[..., int]:
    """Number of scalar multiplications the executor emits to accumulate the Jacobian.

    Returns a function of ``f``'s arguments. The partials are computed abstractly; the elimination
    and output assembly are staged into a jaxpr and its ``mul`` / ``dot_general`` operations are
    counted (any other arithmetic raises). This equals
    ``cost(make_graph(f, *args, argnums=argnums), order, model="exact")``; a disagreement with the
    executor's own bookkeeping raises ``RuntimeError``.
    """
    ex = _Executor(f, order, argnums)

    def counter(*args: Any) -> int:
        emitted, booked = _count(ex, args)
        if emitted != booked:
            raise RuntimeError(
                f"internal: {emitted} multiplications emitted but {booked} booked by the algebra"
            )
        return emitted

    return counter


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_order`.

    ``rel_error`` is normwise: max |J - J_ref| / max |J_ref| over all finite entries of all
    blocks. NaN / inf entries must coincide (NaNs compare equal, as the spec asks).
    """

    name: str
    order: tuple[int, ...] = field(repr=False)
    cost_exact: int
    cost_alphagrad: int
    multiplications: int
    max_abs_error: float
    rel_error: float
    nonfinite_match: bool
    dtype: str
    tolerance: float
    passed: bool
    graph_fingerprint: str = ""
    notes: tuple[str, ...] = ()

    @property
    def max_rel_error(self) -> float:
        """Alias of ``rel_error`` (the normwise relative error)."""
        return self.rel_error

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["order"] = list(self.order)
        d["notes"] = list(self.notes)
        return d


_TOL = {"float64": 1e-10, "float32": 1e-4}


def _cast_args(args: tuple, dtype: str) -> tuple:
    """Float arrays cast to ``dtype``; Python floats stay weakly typed (they follow the precision
    mode without changing the traced graph); other leaves unchanged."""

    def cast(x: Any) -> Any:
        if isinstance(x, int | float | bool):
            return x
        a = jnp.asarray(x)
        return a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree_util.tree_map(cast, args)


def _compare(got: Any, ref: Any) -> tuple[float, float, bool]:
    g_leaves = [np.asarray(x, np.float64) for x in jax.tree_util.tree_leaves(got)]
    r_leaves = [np.asarray(x, np.float64) for x in jax.tree_util.tree_leaves(ref)]
    if len(g_leaves) != len(r_leaves):
        return float("inf"), float("inf"), False
    max_abs, scale, match = 0.0, 0.0, True
    for g, r in zip(g_leaves, r_leaves, strict=True):
        if g.shape != r.shape:
            return float("inf"), float("inf"), False
        fin_g, fin_r = np.isfinite(g), np.isfinite(r)
        if not np.array_equal(fin_g, fin_r):
            match = False
        nonfin = ~fin_r & ~fin_g
        if not np.array_equal(np.isnan(g[nonfin]), np.isnan(r[nonfin])) or not np.array_equal(
            g[nonfin & ~np.isnan(r)], r[nonfin & ~np.isnan(r)]
        ):
            match = False
        both = fin_g & fin_r
        if both.any():
            max_abs = max(max_abs, float(np.max(np.abs(g[both] - r[both]))))
            scale = max(scale, float(np.max(np.abs(r[both]))))
    rel = max_abs / scale if scale > 0 else max_abs
    return max_abs, rel, match


def verify_order(
    task_or_fn: Any,
    order: OrderSpec | dict,
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    dtype: str = "float64",
    tolerance: float | None = None,
) -> VerifyResult:
    """Run ``order`` for real and check it: costs in both models, error vs ``jax.jacrev``.

    Args:
        task_or_fn: a task name (e.g. "RoeFlux_1d"), a ``crosscountry_gym.tasks.Task``, or a
            JAX function (then ``args`` are required).
        order: "fwd" / "rev" / "markowitz" / heuristic name / list of vertex ids of the freshly
            traced graph ``make_graph(fn, *args, argnums=argnums)``; or a dict with an "order"
            key (and optionally "fingerprint", checked against that graph).
        args: inputs (default: the task's example inputs).
        argnums: differentiated arguments (default: all arguments of a task, 0 for a function).
        dtype: "float64" (tolerance 1e-10) or "float32" (1e-4): float inputs are cast to it.
        tolerance: override the relative-error tolerance.

    Returns a :class:`VerifyResult`; ``passed`` means the counted multiplications equal the
    exact cost, non-finite entries coincide and the normwise relative error is within tolerance.
    """
    from .trace import make_graph

    if dtype not in _TOL:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    name, fn = _resolve_target(task_or_fn)
    if not args:
        if name is None:
            raise ValueError("verify_order on a function needs its example arguments")
        args = importlib.import_module("crosscountry_gym.tasks").load(name).args
    if argnums is None:
        argnums = tuple(range(len(args))) if name is not None else 0
    fingerprint = None
    if isinstance(order, dict):
        if "order" not in order:
            raise InvalidOrderError("an order object needs an 'order' key with the vertex ids")
        fingerprint = order.get("fingerprint") or order.get("graph_fingerprint")
        order = order["order"]
    spec = _precheck_order(order)
    tol = _TOL[dtype] if tolerance is None else float(tolerance)
    notes: list[str] = []
    with jax.enable_x64(dtype == "float64"):
        cast = _cast_args(tuple(args), dtype)
        graph = make_graph(fn, *cast, argnums=argnums)
        if fingerprint is not None and fingerprint != graph.fingerprint:
            spec = _translate_or_refuse(name, fn, args, argnums, graph, fingerprint, spec, notes)
        ordered = resolve_order(graph, spec)
        c_exact = cost(graph, ordered, "exact")
        c_paper = cost(graph, ordered, "alphagrad")
        mults = count_multiplications(fn, ordered, argnums)(*cast)
        got = jax.jit(jacobian(fn, ordered, argnums))(*cast)
        ref = jax.jit(jax.jacrev(fn, argnums=argnums))(*cast)
        max_abs, rel, match = _compare(got, ref)
    if c_exact != c_paper:
        notes.append(
            f"paper-compatible cost {c_paper} differs from the exact cost {c_exact}: the "
            "paper's tables deviate from real arithmetic for this order (cost_model.md 8)"
        )
    passed = bool(mults == c_exact and match and rel <= tol)
    return VerifyResult(
        name=name or getattr(fn, "__name__", "function"),
        order=tuple(ordered),
        cost_exact=c_exact,
        cost_alphagrad=c_paper,
        multiplications=mults,
        max_abs_error=max_abs,
        rel_error=rel,
        nonfinite_match=match,
        dtype=dtype,
        tolerance=tol,
        passed=passed,
        graph_fingerprint=graph.fingerprint,
        notes=tuple(notes),
    )


def _translate_or_refuse(name, fn, args, argnums, graph, fingerprint, spec, notes):
    """An order made for another graph: accept the same function traced from the original
    (uncast) arguments, or the task's frozen paper graph through the tracer's vertex map."""
    from .trace import make_graph

    if make_graph(fn, *args, argnums=argnums).fingerprint == fingerprint:
        return spec  # the cast changed dtypes only; the graph is the same
    if name is not None and not isinstance(spec, str):
        tasks = importlib.import_module("crosscountry_gym.tasks")
        if tasks.load(name).graph.fingerprint == fingerprint:
            fidelity = importlib.import_module("crosscountry_gym.tasks.fidelity")
            try:
                out = fidelity.translate_order(name, spec, rules="exact")
            except ValueError as err:
                raise InvalidOrderError(
                    f"the order is in {name}'s frozen paper-graph ids, and they cannot be carried "
                    f"over to the traced graph: {err}"
                ) from None
            notes.append(
                "order given in the frozen paper graph's vertex ids; translated to the traced "
                "graph's ids with the tracer's vertex map"
            )
            return out
    raise InvalidOrderError(
        f"the order was made for graph {str(fingerprint)[:16]}..., but "
        f"{name or 'the function'} traces to graph {graph.fingerprint[:16]}...; its vertex ids "
        "do not apply"
    )


def _resolve_target(task_or_fn: Any) -> tuple[str | None, Callable]:
    if isinstance(task_or_fn, str):
        tasks = importlib.import_module("crosscountry_gym.tasks")
        task = tasks.load(task_or_fn)
        return task.name, task.fn
    if hasattr(task_or_fn, "graph") and hasattr(task_or_fn, "fn") and hasattr(task_or_fn, "name"):
        return task_or_fn.name, task_or_fn.fn
    if callable(task_or_fn):
        return None, task_or_fn
    raise TypeError(f"expected a task name, a Task or a function, got {type(task_or_fn).__name__}")
