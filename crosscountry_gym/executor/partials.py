"""Local partials of one traced equation, computed directly in the compact layout of their type.

For an edge ``operand -> vertex`` of type ``code`` (from the tracer's graph), this module returns
the :class:`~crosscountry_gym.executor.compact.CompactEdge` holding exactly the non-redundant values of
the partial derivative, evaluated at the call-time primal values:

* **structural** edges (-1 copy, -6 identity, -7 transposition) carry nothing;
* **type 11** (slice, concatenate, pad, reshape, dynamic_slice, ...) becomes an
  :class:`~crosscountry_gym.executor.compact.IndexMap`, found by running the primitive itself on an
  integer ``iota`` in place of the operand (and ``-1`` in place of the other float operands):
  each output element then names the operand element it copies. With static parameters this
  happens once at trace time (``jax.ensure_compile_time_eval``); traced start indices give a
  traced map;
* **dot_general** partials are a transposed/reshaped view of the other operand (no arithmetic);
* every other valued edge uses the **seeded directional derivative** of the equation: one JVP
  per basis vector of the *untied* operand positions, with ones along the tied positions (the
  tie makes each output element see only its own diagonal entry), or, when the untied output
  positions are fewer, one VJP per basis vector of those. For an elementwise op that is a single
  JVP with a ones tangent. K-tied positions are then read at index 0 (the tracer only claims a K
  tie where the partial is constant along it).

The cost of computing partials is not part of the elimination cost (the cost model counts only
the accumulation); it is kept small so that the runtime benchmark is fair.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..sparsity import UNDEFINED, Tie, code_of, sparsity_of
from ..tracer import bind_eqn
from ..tracer.rules import CUSTOM_CALLS, RULES
from . import elementwise
from .compact import (
    CompactEdge,
    ExecutorAlgebraError,
    IndexMap,
    is_valued,
    layout,
    layout_shape,
    reshape,
    transpose,
)
from .elementwise import SharedTerms

__all__ = ["edge_partial", "needed_operands"]

Array = Any


def _shape(eqn: Any, i: int) -> tuple[int, ...]:
    return tuple(eqn.invars[i].aval.shape)


def _float_operand(eqn: Any, i: int) -> bool:
    return bool(jnp.issubdtype(eqn.invars[i].aval.dtype, jnp.floating))


def needed_operands(eqn: Any, slots: Sequence[int], code: int) -> set[int]:
    """Operand positions whose primal values :func:`edge_partial` reads (others: shapes only).

    Structural edges need nothing, index maps only integer (index) operands, dot_general only
    the other operand; other valued partials linearize the whole equation.
    """
    if code in (-1, -6, -7):
        return set()
    n = len(eqn.invars)
    if code == UNDEFINED and eqn.primitive.name in _RUNTIME_PERMUTATIONS:
        return set(range(n))  # the permutation depends on the values
    if code == UNDEFINED:
        return {i for i in range(n) if not _float_operand(eqn, i)}
    if eqn.primitive.name == "dot_general" and all(
        _dot_plan(eqn, j, code) is not None for j in slots
    ):
        return {1 - j for j in slots}
    return set(range(n))


def edge_partial(
    eqn: Any,
    invals: Sequence[Any],
    slots: Sequence[int],
    outvar_index: int,
    code: int,
    out2: tuple[int, int],
    in2: tuple[int, int],
    *,
    shared: SharedTerms | None = None,
    out: Any = None,
) -> CompactEdge:
    """The compact partial of output ``outvar_index`` of ``eqn`` w.r.t. the operand in ``slots``.

    ``slots`` lists every operand position holding this source variable (``mul x x``: two), and
    the partial is the sum over them. ``code``, ``out2`` and ``in2`` are the edge's record.
    Only the operands named by :func:`needed_operands` must hold values in ``invals``. With
    ``shared`` (and ``out``, the equation's primal output), elementwise partials that have a
    rule in :mod:`~crosscountry_gym.executor.elementwise` reuse its shared reciprocals instead of JAX's
    JVP rule.
    """
    if code in (-1, -6, -7):
        return CompactEdge(code, out2, in2)
    if code == UNDEFINED:
        return CompactEdge(code, out2, in2, imap=_index_map(eqn, invals, slots, outvar_index))
    if not is_valued(code):
        raise ExecutorAlgebraError(f"edge type {code} cannot be evaluated")
    if eqn.primitive.name == "dot_general":
        plans = [_dot_plan(eqn, j, code) for j in slots]
        if all(p is not None for p in plans):
            vals = None
            for j, plan in zip(slots, plans, strict=True):
                v = _dot_apply(invals[1 - j], plan, layout_shape(code, out2, in2))
                vals = v if vals is None else vals + v
            return CompactEdge(code, out2, in2, values=vals)
    diag = None
    if shared is not None and out is not None and len(eqn.outvars) == 1:
        diag = elementwise.partial(shared, eqn, invals, out, slots)
    values = _seeded(eqn, invals, slots, outvar_index, code, out2, in2, diag=diag)
    return CompactEdge(code, out2, in2, values=values)


_REVERSE_ONLY = frozenset({"custom_vjp_call", "custom_vjp_call_jaxpr"})
"""Calls whose derivative JAX defines in reverse mode only (a custom VJP rule)."""


def _all_tangents(eqn: Any) -> bool:
    """Dense vertices (primitives without a structural rule) and custom calls are linearized
    with a tangent for every float operand: some JAX rules (``custom_linear_solve``) fail on
    the symbolic zero tangent a fixed operand would get."""
    return eqn.primitive.name not in RULES or eqn.primitive.name in CUSTOM_CALLS


# ---------------------------------------------------------------------------------------------
# Index maps of data-movement primitives (type 11)
# ---------------------------------------------------------------------------------------------


_RUNTIME_PERMUTATIONS = frozenset({"sort", "top_k"})
"""Type-11 primitives whose selection depends on the operand values (not on indices only)."""


def _flat_iota(shape: Sequence[int]) -> np.ndarray:
    return np.arange(prod(shape), dtype=np.int32).reshape(tuple(shape))


def _permutation_map(eqn: Any, invals: Sequence[Any], k: int) -> IndexMap:
    """sort / top_k: result k (operand k permuted, or the top values) in gather form.

    sort: the flat source index of every element is sorted along with the keys, exactly as
    JAX's own derivative of ``sort`` does, so ties are broken the same way. top_k: the source
    of each value is read from its index output.
    """
    p = eqn.params
    shape = _shape(eqn, k if eqn.primitive.name == "sort" else 0)
    src = _flat_iota(shape)
    if eqn.primitive.name == "sort":
        nk = int(p["num_keys"])
        keys = tuple(invals[:nk])
        out = jax.lax.sort(
            (*keys, jnp.asarray(src)), dimension=int(p["dimension"]),
            is_stable=bool(p["is_stable"]), num_keys=nk,
        )[-1]
    else:
        idx = bind_eqn(eqn, invals)[1]
        axis = int(p.get("axis", len(shape) - 1)) % len(shape)
        out = jnp.take_along_axis(jnp.asarray(src), idx.astype(np.int32), axis=axis)
    n_out = prod(eqn.outvars[k].aval.shape)
    return IndexMap((jnp.reshape(out, (n_out,)),), n_out, prod(shape))


def _index_map(eqn: Any, invals: Sequence[Any], slots: Sequence[int], k: int) -> IndexMap:
    if eqn.primitive.name in _RUNTIME_PERMUTATIONS:
        return _permutation_map(eqn, invals, k)
    shape_x = _shape(eqn, slots[0])
    n_in = prod(shape_x)
    n_out = prod(eqn.outvars[k].aval.shape)
    terms = []
    for j in slots:
        with jax.ensure_compile_time_eval():
            vals = []
            for i, v in enumerate(invals):
                if i == j:
                    vals.append(np.arange(n_in, dtype=np.int32).reshape(shape_x))
                elif _float_operand(eqn, i):
                    vals.append(np.full(_shape(eqn, i), -1, np.int32))
                else:
                    vals.append(v)
            out = bind_eqn(eqn, vals)[k]
        out = jnp.reshape(out, (n_out,))
        if not isinstance(out, jax.core.Tracer):
            out = np.asarray(out, np.int32)
        terms.append(out)
    return IndexMap(tuple(terms), n_out, n_in)


# ---------------------------------------------------------------------------------------------
# dot_general: the partial is a relabelled view of the other operand
# ---------------------------------------------------------------------------------------------


def _positions(shape: Sequence[int]) -> tuple[int | None, ...]:
    """2-D index position (1 or 2) of every true dimension (rank <= 2; else none)."""
    return tuple(range(1, len(shape) + 1)) if len(shape) <= 2 else (None,) * len(shape)


def _dot_plan(eqn: Any, j: int, code: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Shape-only plan of a dot_general partial w.r.t. operand ``j`` (0 = lhs, 1 = rhs).

    ``d out[b, lf, rf] / d lhs[b', lf', c] = delta(b, b') delta(lf, lf') rhs[b, c, rf]``: batch
    dims are D ties, this operand's free dims K ties, and the compact array is the other operand
    with its dims put in layout order (size-1 axes where a 2-D position has no true dim).
    Returns ``(dims of the other operand to drop (size 1), permutation)`` or None when ``code``
    is not the type this derivation gives (the generic path then runs).
    """
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lc, rc, lb, rb = (tuple(int(d) for d in t) for t in (lc, rc, lb, rb))
    ls, rs = _shape(eqn, 0), _shape(eqn, 1)
    out_shape = tuple(eqn.outvars[0].aval.shape)
    if max(len(ls), len(rs), len(out_shape)) > 2:
        return None
    lfree = [d for d in range(len(ls)) if d not in lc and d not in lb]
    rfree = [d for d in range(len(rs)) if d not in rc and d not in rb]
    nb = len(lb)
    if j == 0:
        me_s, me_c, me_b, ot_s, ot_c, ot_b = ls, lc, lb, rs, rc, rb
        my_out = {nb + k: d for k, d in enumerate(lfree)}
        ot_out = {nb + len(lfree) + k: d for k, d in enumerate(rfree)}
    else:
        me_s, me_c, me_b, ot_s, ot_c, ot_b = rs, rc, rb, ls, lc, lb
        my_out = {nb + len(lfree) + k: d for k, d in enumerate(rfree)}
        ot_out = {nb + k: d for k, d in enumerate(lfree)}
    opos, ipos = _positions(out_shape), _positions(me_s)
    ties = set()
    for k, d in enumerate(me_b):
        if opos[k] and ipos[d]:
            ties.add(Tie(opos[k], ipos[d] + 2, "D"))
    for od, d in my_out.items():
        if opos[od] and ipos[d]:
            ties.add(Tie(opos[od], ipos[d] + 2, "K"))
    if code_of(frozenset(ties)) != code:
        return None
    out_dim_at = {p: d for d, p in enumerate(opos) if p}
    in_dim_at = {p + 2: d for d, p in enumerate(ipos) if p}
    src_dims: list[int] = []  # dims of the other operand, in layout order
    for ax in layout(code):
        p = ax[0]
        if p in (1, 2):
            od = out_dim_at.get(p)
            if od is None:
                continue  # a 2-D position without a true dim: a size-1 axis
            if od < nb:
                src_dims.append(ot_b[od])
            elif od in ot_out:
                src_dims.append(ot_out[od])
            else:
                return None
        else:
            d = in_dim_at.get(p)
            if d is None:
                continue
            if d not in me_c:
                return None
            src_dims.append(ot_c[me_c.index(d)])
    drop = tuple(d for d in range(len(ot_s)) if d not in src_dims)
    if any(ot_s[d] != 1 for d in drop):
        return None
    kept = [d for d in range(len(ot_s)) if d not in drop]
    return drop, tuple(kept.index(d) for d in src_dims)


def _dot_apply(other: Array, plan: tuple, shape: tuple[int, ...]) -> Array:
    drop, perm = plan
    if drop:
        other = reshape(other, [s for d, s in enumerate(other.shape) if d not in drop])
    return reshape(transpose(other, perm), shape)


# ---------------------------------------------------------------------------------------------
# Generic valued edges: seeded JVP / VJP
# ---------------------------------------------------------------------------------------------


def _seeded(
    eqn: Any,
    invals: Sequence[Any],
    slots: Sequence[int],
    k: int,
    code: int,
    out2: tuple[int, int],
    in2: tuple[int, int],
    diag: Array | None = None,
) -> Array:
    """Seeded JVPs (or VJPs) of the equation, arranged in the layout of ``code``.

    ``diag``: the elementwise partial (the output's shape), when a shared-term rule gave it; it
    is exactly the one JVP with a ones seed, so it is used when that is the only seed.
    """
    x0 = invals[slots[0]]
    in_true = _shape(eqn, slots[0])
    out_true = tuple(eqn.outvars[k].aval.shape)
    others = [
        i for i in range(len(invals)) if i not in slots and _float_operand(eqn, i)
    ] if _all_tangents(eqn) else []

    def f_all(x: Array, *rest: Array) -> Array:
        vals = list(invals)
        for j in slots:
            vals[j] = x
        for i, r in zip(others, rest, strict=True):
            vals[i] = r
        return bind_eqn(eqn, vals)[k]

    rest0 = [invals[i] for i in others]  # empty unless every float operand gets a tangent

    def linearized(x: Array):
        lin = jax.linearize(f_all, x, *rest0)[1]
        zeros = [jnp.zeros_like(r) for r in rest0]
        return lambda t: lin(t, *zeros)

    def vjp_of(x: Array):
        y, vjp_all = jax.vjp(f_all, x, *rest0)
        return y, lambda c: vjp_all(c)[:1]

    sp = sparsity_of(code)
    tie_of = {t.a: t for t in sp.ties} | {t.b: t for t in sp.ties}
    sizes = {1: out2[0], 2: out2[1], 3: in2[0], 4: in2[1]}
    untied_in = [p for p in (3, 4) if p not in tie_of]
    untied_out = [p for p in (1, 2) if p not in tie_of]
    n_fwd = prod(sizes[p] for p in untied_in)
    n_rev = prod(sizes[p] for p in untied_out)
    dtype = jnp.result_type(x0)
    if n_fwd <= n_rev and eqn.primitive.name not in _REVERSE_ONLY:
        seeds = _basis(untied_in, sizes, in2, dtype)  # [n, p1, p2]
        if seeds.shape[0] == 1 and diag is not None and tuple(jnp.shape(diag)) == out_true:
            ys = diag
        elif seeds.shape[0] == 1:
            ys = linearized(x0)(seeds[0].reshape(in_true))
        else:
            ys = jax.vmap(linearized(x0))(seeds.reshape((-1, *in_true)))
        ys = reshape(ys, tuple(sizes[p] for p in untied_in) + out2)
        # dims: untied input positions (in order), then o1, o2
        dim_of = {p: i for i, p in enumerate(untied_in)}
        dim_of |= {1: len(untied_in), 2: len(untied_in) + 1}
        read_zero = [p for p in (1, 2) if p in tie_of and tie_of[p].kind == "K"]
        values, dims = ys, dim_of
    else:
        seeds = _basis(untied_out, sizes, out2, dtype)  # [n, o1, o2]
        y, vjp = vjp_of(x0)
        ct = seeds.reshape((-1, *out_true)).astype(jnp.result_type(y))
        if ct.shape[0] == 1:
            xs = vjp(ct[0])[0]
        else:
            xs = jax.vmap(lambda c: vjp(c)[0])(ct)
        xs = reshape(xs, tuple(sizes[p] for p in untied_out) + in2)
        dim_of = {p: i for i, p in enumerate(untied_out)}
        dim_of |= {3: len(untied_out), 4: len(untied_out) + 1}
        read_zero = [p for p in (3, 4) if p in tie_of and tie_of[p].kind == "K"]
        values, dims = xs, dim_of
    # K-tied positions: constant along the tie, read index 0.
    idx: list[Any] = [slice(None)] * values.ndim
    for p in read_zero:
        idx[dims[p]] = 0
    if read_zero:
        values = values[tuple(idx)]
    kept = [d for d in range(len(idx)) if not isinstance(idx[d], int)]
    new_dim = {old: i for i, old in enumerate(kept)}
    # Layout axes: each axis read from the dim of one of its positions present in `dims`.
    order = []
    for ax in layout(code):
        p = next(q for q in ax if q in dims)
        order.append(new_dim[dims[p]])
    if len(order) != values.ndim:
        raise ExecutorAlgebraError(f"internal: seeded partial of type {code} has stray axes")
    return transpose(values, order)


def _basis(untied: Sequence[int], sizes: dict[int, int], shape2: tuple[int, int], dtype) -> Array:
    """Seeds ``[n, s1, s2]``: one-hot along the untied positions, ones along the others."""
    grids = np.indices(shape2)
    n_sizes = [sizes[p] for p in untied]
    n = prod(n_sizes)
    seeds = np.ones((n, *shape2), dtype=bool)
    ks = np.indices(n_sizes).reshape(len(untied), n) if untied else np.zeros((0, 1), int)
    for i, p in enumerate(untied):
        g = grids[(p - 1) % 2]  # position 1/3 -> first 2-D dim, 2/4 -> second
        seeds &= g[None] == ks[i][:, None, None]
    return seeds.astype(dtype)
