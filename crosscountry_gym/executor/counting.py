"""Honest counting: the scalar multiplications of the program the executor emits.

:func:`count_multiplications` computes the partials abstractly, stages the elimination and the
assembly (steps 3-4 of :mod:`crosscountry_gym.executor.program`) into a jaxpr and counts its
``mul`` / ``dot_general`` operations with :func:`count_jaxpr_multiplications`; any other
arithmetic raises :class:`UncountedArithmeticError`. The count equals
``cost(make_graph(f, *args, argnums=argnums), order, "exact")``, and it must equal what the
compact algebra booked (``docs/executor.md``, *Honest counting*).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend.core as jcore
import numpy as np

from ..orders import OrderSpec
from . import program
from .compact import CompactEdge, IndexMap

__all__ = ["count_multiplications", "count_jaxpr_multiplications", "UncountedArithmeticError"]


class UncountedArithmeticError(RuntimeError):
    """The accumulation program contains arithmetic the multiplication counter cannot account for."""


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
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)  # a ClosedJaxpr or a Jaxpr
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


def _count(ex: program.Executor, args: tuple) -> tuple[int, int]:
    """(multiplications in the emitted accumulation program, multiplications booked)."""
    prep = ex.prepare(args)
    flat = jax.tree_util.tree_leaves(args)
    holder: dict[str, Any] = {}

    def phase1(*xs: Any) -> list[Any]:
        edges = program.evaluate_partials(prep, xs)
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
        succ, booked = program.eliminate(prep, edges)
        holder["booked"] = booked
        return program.assemble(prep, succ)

    jaxpr = jax.make_jaxpr(phase2)(shapes)
    return count_jaxpr_multiplications(jaxpr), holder["booked"]


def count_with(ex: program.Executor, args: tuple) -> int:
    """The emitted multiplications of ``ex`` at ``args``, checked against the booked ones."""
    emitted, booked = _count(ex, args)
    if emitted != booked:
        raise RuntimeError(
            f"internal: {emitted} multiplications emitted but {booked} booked by the algebra"
        )
    return emitted


def count_multiplications(
    f: Callable[..., Any], order: OrderSpec = "rev", argnums: int | Sequence[int] = 0
) -> Callable[..., int]:
    """Number of scalar multiplications the executor emits to accumulate the Jacobian.

    Returns a function of ``f``'s arguments. The partials are computed abstractly; the elimination
    and output assembly are staged into a jaxpr and its ``mul`` / ``dot_general`` operations are
    counted (any other arithmetic raises). This equals
    ``cost(make_graph(f, *args, argnums=argnums), order, "exact")``; a disagreement with the
    executor's own bookkeeping raises ``RuntimeError``.
    """
    ex = program.Executor(f, order, argnums)

    def counter(*args: Any) -> int:
        return count_with(ex, args)

    return counter
