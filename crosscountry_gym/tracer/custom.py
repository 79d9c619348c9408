"""Edge types of calls with a custom derivative rule (``docs/tracer.md``, "Custom derivatives").

``jax.custom_jvp`` / ``jax.custom_vjp`` functions exist because their rule differs from the
derivative of their primal body where it matters: ``jax.nn.relu`` is 0 at 0, ``softplus`` (via
``logaddexp``) is 0.5 at 0, a straight-through estimator has a derivative where ``round`` has
none. ``jax.jacrev`` uses the rule, so the exact model must too: such a call stays **one
equation** (one vertex per result), and the executor takes its local partial from JAX's
derivative of the call, which is the rule.

The edge types must describe the rule's Jacobian, not the primal's, so they are read off the
rule itself: the rule is a linear map of tangents (``custom_jvp``: tangents in -> tangents out)
or of cotangents (``custom_vjp``: cotangents out -> cotangents in, the transposed Jacobian).
That map is traced into its own elimination graph, every intermediate vertex is eliminated by
the engine, and the type left on each input -> output edge is the sparsity of that Jacobian
block (transposed back for ``custom_vjp``). The primal values are constants of that graph, so
a tie is claimed only where it holds at every point. If the rule cannot be traced, every block
is dense (type 1), which is always sound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from ..engine import EliminationState
from ..sparsity import COPY, UNDEFINED, Tie, code_of, sparsity_of
from .rules import EdgeSpec, UnsupportedPrimitiveError, equation_key

__all__ = ["custom_call_types", "transpose_type"]

_SWAP = {1: 3, 2: 4, 3: 1, 4: 2}


def transpose_type(code: int) -> int:
    """The type of the transposed Jacobian block ``J'[a, b, c, d] = J[c, d, a, b]``.

    Position p of ``J'`` is position ``_SWAP[p]`` of ``J``, so a tie (1, 3) stays (1, 3), (2, 4)
    stays (2, 4), and (1, 4) and (2, 3) trade places; the kind (D or K) is kept.
    """
    if code in (0, COPY, UNDEFINED):
        return code
    sp = sparsity_of(code)
    ties = set()
    for t in sp.ties:
        a, b = sorted((_SWAP[t.a], _SWAP[t.b]))
        ties.add(Tie(a, b, t.kind))
    return code_of(frozenset(ties), structural=sp.structural)


def _is_float(aval: Any) -> bool:
    return bool(np.issubdtype(aval.dtype, np.floating))


def _spec(v: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype)


def _linear_map(eqn: Any, float_in: Sequence[int], float_out: Sequence[int]):
    """The rule as a function ``(primals, seeds) -> results`` and whether it is transposed."""
    from .trace import bind_eqn

    def call_active(primals: Sequence[Any], xs: Sequence[Any]) -> list[Any]:
        vals = list(primals)
        for j, x in zip(float_in, xs, strict=True):
            vals[j] = x
        outs = bind_eqn(eqn, vals)
        return [outs[k] for k in float_out]

    if eqn.primitive.name == "custom_jvp_call":

        def tangent_map(primals: tuple, tangents: tuple) -> list[Any]:
            active = [primals[j] for j in float_in]
            return jax.jvp(lambda *xs: call_active(primals, xs), active, list(tangents))[1]

        return tangent_map, False

    def cotangent_map(primals: tuple, cotangents: tuple) -> list[Any]:
        active = [primals[j] for j in float_in]
        _, vjp = jax.vjp(lambda *xs: call_active(primals, xs), *active)
        return list(vjp(list(cotangents)))

    return cotangent_map, True


def custom_call_types(eqn: Any, active: Sequence[bool]) -> list[list[EdgeSpec]]:
    """Per result, per operand: the edge type of the custom call ``eqn`` (None: no edge).

    ``active[j]`` says whether operand j can carry an edge (a float variable with a row).
    Type 11 (an index map) is reported as dense: the executor builds index maps by running a
    primitive on integers, which a custom rule need not allow.
    """
    key = (equation_key(eqn), tuple(bool(a) for a in active))
    hit = _CACHE.get(key)
    if hit is not None:
        return [list(row) for row in hit[0]]
    result = _custom_call_types(eqn, active)
    if len(_CACHE) >= 512:
        _CACHE.pop(next(iter(_CACHE)))
    # the params are kept alive with the entry, so their ids in the key cannot be reused
    _CACHE[key] = (tuple(tuple(row) for row in result), dict(eqn.params))
    return result


_CACHE: dict[tuple, tuple[tuple, dict]] = {}
"""Types per (call, operand avals, active operands): an unrolled loop repeats one call."""


def _custom_call_types(eqn: Any, active: Sequence[bool]) -> list[list[EdgeSpec]]:
    from .trace import trace

    n_in, n_out = len(eqn.invars), len(eqn.outvars)
    none = [[None] * n_in for _ in range(n_out)]
    float_in = [j for j in range(n_in) if active[j]]
    float_out = [k for k, v in enumerate(eqn.outvars) if _is_float(v.aval)]
    if not float_in or not float_out:
        return none

    def dense() -> list[list[EdgeSpec]]:
        return [
            [1 if (j in float_in and k in float_out) else None for j in range(n_in)]
            for k in range(n_out)
        ]

    fn, transposed = _linear_map(eqn, float_in, float_out)
    primal_specs = tuple(_spec(v) for v in eqn.invars)
    seed_of = float_out if transposed else float_in
    seeds = tuple(_spec(eqn.outvars[k] if transposed else eqn.invars[k]) for k in seed_of)
    try:
        tr = trace(fn, primal_specs, seeds, argnums=1, cost_model="exact")
    except (UnsupportedPrimitiveError, ValueError, TypeError, NotImplementedError):
        return dense()
    st = EliminationState(tr.graph, "exact")
    for v in tr.graph.eliminable:
        st.eliminate(v)
    final = {(e.source, e.target): e.type for e in st.to_graph().edges}
    ni = tr.graph.num_inputs
    result = [list(row) for row in none]
    # results of the linear map: one per float operand (vjp) or per float result (jvp)
    targets = float_in if transposed else float_out
    for m, row in enumerate(tr.output_rows):
        for s, _seed in enumerate(seed_of):
            if row is None:
                t = None
            elif row <= ni:
                t = -6 if row == s + 1 else None  # the map returns a seed unchanged
            else:
                t = final.get((s + 1, row - ni))
            if t is None:
                continue
            if t == UNDEFINED:
                t = 1
            elif t == COPY:
                t = -6
            if transposed:
                t = transpose_type(t)
                j, k = targets[m], seed_of[s]
            else:
                j, k = seed_of[s], targets[m]
            result[k][j] = t
    return result

