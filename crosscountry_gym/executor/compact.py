"""Compact edge algebra: Jacobian edges stored and multiplied in the layout of their sparsity type.

An edge r -> v is conceptually the 4-index tensor ``J[o1, o2, p1, p2]`` (positions 1..4; ``o`` =
2-D shape of the target v, ``p`` = 2-D shape of the source r; ``docs/cost_model.md`` section 1).
Its type code (:mod:`crosscountry_gym.sparsity`) says which (output, input) position pairs are tied.
This module stores only the non-redundant numbers of each edge:

* **valued types** (1..10, -2..-5, -8..-10): an array with one axis per *untied* position and one
  axis per **D** tie (the diagonal along which values vary); **K** ties (Kronecker deltas,
  constant along the diagonal) have no axis. Axes are ordered by the smallest position they cover
  (:func:`layout`). Example: type 2 = D(1,3) on a (n, m) <- (n, 1) edge is an array
  ``[n, m, 1]`` indexed (o1=p1, o2, p2); type 10 is a 0-d scalar.
* **structural types** -1 (copy), -6 (identity), -7 (transposition): no array at all.
* **type 11** (reshape, slice, concatenate, ...): an :class:`IndexMap`, a sum of selection maps
  in gather form, applied with gathers and scatter-adds (never a multiplication).

The product of an in-edge r -> v and an out-edge v -> t (:func:`product`) is then a single
einsum whose index letters are the *varying classes* of the cost model's union-find
(``docs/cost_model.md`` section 4.3). It is emitted as one ``lax.dot_general`` (or, without summed
letters, one broadcasting ``lax.mul``), whose scalar multiplications are the product of the sizes
of its letters: exactly the consistent ("exact") cost of that pair. Products with structural or
11 edges emit only transposes, gathers and scatter-adds and cost 0, as in the model. Merging
(:func:`merge`) re-expresses both operands in the coarser layout of the merged type with
broadcasts and ``where`` selections (no multiplications) and adds them.

Everything here runs at JAX trace time on ``jax.Array`` values (or NumPy arrays), so the functions
can be used under ``jit`` and ``vmap``. Shapes are the edge records' 2-D shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from math import prod
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from ..sparsity import COPY, UNDEFINED, merge_rule, product_rule, sparsity_of

__all__ = [
    "CompactEdge",
    "IndexMap",
    "ExecutorAlgebraError",
    "layout",
    "layout_shape",
    "is_valued",
    "relayout",
    "to_dense",
    "from_dense",
    "product",
    "merge",
    "identity_edge",
]

Array = Any
STRUCTURAL_VALUELESS = (COPY, -6, -7)


def reshape(x: Array, shape: Sequence[int]) -> Array:
    """``jnp.reshape`` that emits nothing when the shape is unchanged."""
    shape = tuple(int(n) for n in shape)
    return x if tuple(x.shape) == shape else jnp.reshape(x, shape)


def transpose(x: Array, perm: Sequence[int]) -> Array:
    """``jnp.transpose`` that emits a reshape (or nothing) when only size-1 axes move."""
    perm = list(perm)
    if perm == list(range(len(perm))):
        return x
    shape = tuple(x.shape[i] for i in perm)
    big = [i for i in perm if x.shape[i] != 1]
    if big == sorted(big):
        return reshape(x, shape)
    return jnp.transpose(x, perm)


def astype(x: Array, dtype: Any) -> Array:
    """``x.astype(dtype)`` that emits nothing when the dtype is unchanged."""
    return x if x.dtype == dtype else x.astype(dtype)


class ExecutorAlgebraError(ValueError):
    """An edge combination that the cost model types but no exact compact value can represent."""


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------


def is_valued(code: int) -> bool:
    """True for the types stored as a compact numeric array (not -1/-6/-7/11, not 0)."""
    if code in (0, UNDEFINED):
        return False
    return sparsity_of(code).carries_values


@cache
def layout(code: int) -> tuple[tuple[int, ...], ...]:
    """Axes of the compact array of a valued type, as tuples of the positions each axis indexes.

    One axis per untied position and one per D tie; K-tied positions have none. Ordered by the
    smallest position covered. Examples: ``layout(1) == ((1,), (2,), (3,), (4,))``,
    ``layout(2) == ((1, 3), (2,), (4,))``, ``layout(8) == ((2, 4),)``, ``layout(10) == ()``.
    """
    if not is_valued(code):
        raise ValueError(f"type {code} has no compact array layout")
    sp = sparsity_of(code)
    tied = {t.a: t for t in sp.ties} | {t.b: t for t in sp.ties}
    axes: list[tuple[int, ...]] = []
    for pos in (1, 2, 3, 4):
        if pos not in tied:
            axes.append((pos,))
        else:
            t = tied[pos]
            if t.kind == "D" and pos == t.a:
                axes.append((t.a, t.b))
    return tuple(axes)


def _ties(code: int) -> dict[tuple[int, int], str]:
    return {(t.a, t.b): t.kind for t in sparsity_of(code).ties}


def _pos_sizes(out_shape: tuple[int, int], in_shape: tuple[int, int]) -> dict[int, int]:
    return {1: out_shape[0], 2: out_shape[1], 3: in_shape[0], 4: in_shape[1]}


def layout_shape(code: int, out_shape: tuple[int, int], in_shape: tuple[int, int]) -> tuple:
    """Shape of the compact array of an edge of type ``code`` with the given 2-D record."""
    sizes = _pos_sizes(out_shape, in_shape)
    shp = []
    for ax in layout(code):
        s = {sizes[p] for p in ax}
        if len(s) != 1:
            raise ExecutorAlgebraError(
                f"type {code} ties positions {ax} of sizes {[sizes[p] for p in ax]}: "
                f"record out={out_shape} in={in_shape} is inconsistent"
            )
        shp.append(s.pop())
    return tuple(shp)


def check_record(code: int, out_shape: tuple[int, int], in_shape: tuple[int, int]) -> None:
    """Raise :class:`ExecutorAlgebraError` if tied positions of the record have unequal sizes."""
    if code in (0, COPY, UNDEFINED):
        if code == COPY and prod(out_shape) != prod(in_shape):
            raise ExecutorAlgebraError(f"copy edge with sizes out={out_shape} in={in_shape}")
        return
    sizes = _pos_sizes(out_shape, in_shape)
    for (a, b), _ in _ties(code).items():
        if sizes[a] != sizes[b]:
            raise ExecutorAlgebraError(
                f"type {code} ties positions ({a},{b}) but the record out={out_shape} "
                f"in={in_shape} gives sizes {sizes[a]} and {sizes[b]}"
            )


# ---------------------------------------------------------------------------------------------
# Index maps (type 11)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexMap:
    """A linear map from the flat source (size ``n_in``) to the flat target (size ``n_out``).

    It is the sum of ``terms``; each term is a selection in gather form: an int array ``src`` of
    shape ``(n_out,)`` with ``target[i] = source[src[i]]`` (``src[i] == -1``: nothing). Terms may
    be NumPy arrays (static structure: reshape, slice, concatenate, ...) or traced int arrays
    (``dynamic_slice`` with traced start indices). Applying a map costs no multiplication.
    """

    terms: tuple[Array, ...]
    n_out: int
    n_in: int

    @staticmethod
    def identity(n: int) -> IndexMap:
        return IndexMap((np.arange(n, dtype=np.int32),), n, n)

    def plus(self, other: IndexMap) -> IndexMap:
        if (self.n_out, self.n_in) != (other.n_out, other.n_in):
            raise ExecutorAlgebraError("adding index maps of different sizes")
        return IndexMap(self.terms + other.terms, self.n_out, self.n_in)

    def then(self, outer: IndexMap) -> IndexMap:
        """The composition ``outer o self`` (first self: source -> middle, then outer)."""
        if outer.n_in != self.n_out:
            raise ExecutorAlgebraError("composing index maps of mismatched sizes")
        terms = []
        for so in outer.terms:
            for si in self.terms:
                terms.append(_compose_src(si, so))
        return IndexMap(tuple(terms), outer.n_out, self.n_in)

    def gather_rows(self, x: Array) -> Array:
        """``M @ x`` for ``x`` of shape ``(n_in, k)``: result ``(n_out, k)``, gathers only.

        A static (NumPy) term is applied as nothing (identity), a slice (a contiguous range)
        or one gather without JAX's negative-index normalisation; only a traced term pays for
        the general path."""
        out = None
        for src in self.terms:
            g = _select(x, src, 0, self.n_in)
            out = g if out is None else out + g
        return out

    def scatter_cols(self, y: Array) -> Array:
        """``y @ M`` for ``y`` of shape ``(k, n_out)``: result ``(k, n_in)``.

        A static term that sends every source element to at most one target is inverted and
        applied as a gather (or slice, or nothing); otherwise scatter-adds."""
        out = None
        for src in self.terms:
            inv = _static_inverse(src, self.n_in)
            if inv is not None:
                g = _select(y, inv, 1, self.n_out)
            else:
                g = jnp.zeros((y.shape[0], self.n_in), y.dtype)
                idx = _lib(src).where(src >= 0, src, self.n_in)  # out of range: dropped
                g = g.at[:, idx].add(y, mode="drop")
            out = g if out is None else out + g
        return out

    def dense(self, dtype: Any) -> Array:
        """The map as a dense ``(n_out, n_in)`` 0/1 (sum) matrix, built by scatter (no mul)."""
        out = jnp.zeros((self.n_out, self.n_in), dtype)
        rows = np.arange(self.n_out)
        for src in self.terms:
            idx = _lib(src).where(src >= 0, src, self.n_in)
            out = out.at[rows, idx].add(jnp.ones((self.n_out,), dtype), mode="drop")
        return out


def _static_inverse(src: Array, n_in: int) -> np.ndarray | None:
    """For a static gather-form term, the gather-form term of its transpose (each source
    element -> the one target reading it, or -1), or None if it is traced or some source
    element is read twice."""
    if not isinstance(src, np.ndarray):
        return None
    valid = src[src >= 0]
    if len(np.unique(valid)) != len(valid):
        return None
    inv = np.full(n_in, -1, dtype=np.int32)
    pos = np.nonzero(src >= 0)[0]
    inv[src[pos]] = pos
    return inv


def _select(x: Array, src: Array, axis: int, n_src: int) -> Array:
    """``x`` indexed along ``axis`` by the gather-form term ``src`` (-1: a zero)."""
    static = isinstance(src, np.ndarray)
    if static:
        src = np.asarray(src, np.int64)
        n = len(src)
        if n and np.all(src >= 0):
            start = int(src[0])
            if np.array_equal(src, np.arange(start, start + n)):
                if start == 0 and n == x.shape[axis]:
                    return x
                return lax.slice_in_dim(x, start, start + n, axis=axis)
            return _static_gather(x, src, axis)
        if n and np.all(src < 0):
            return jnp.zeros(_with(x.shape, axis, n), x.dtype)
    # some targets read nothing: gather from x with one zero appended (index n_src)
    xp = jnp.concatenate([x, jnp.zeros(_with(x.shape, axis, 1), x.dtype)], axis=axis)
    if static:
        return _static_gather(xp, np.where(src >= 0, src, n_src), axis)
    return jnp.take(xp, jnp.where(src >= 0, src, n_src), axis=axis)


def _with(shape: tuple[int, ...], axis: int, n: int) -> tuple[int, ...]:
    return tuple(n if d == axis else s for d, s in enumerate(shape))


def _static_gather(x: Array, idx: np.ndarray, axis: int) -> Array:
    """One ``gather`` along ``axis`` with static in-bounds indices (no normalisation ops)."""
    nd = x.ndim
    dnums = lax.GatherDimensionNumbers(
        offset_dims=tuple(d for d in range(nd) if d != axis),
        collapsed_slice_dims=(axis,),
        start_index_map=(axis,),
    )
    sizes = _with(tuple(x.shape), axis, 1)
    unique = len(np.unique(idx)) == len(idx)
    # the offset dims are every dim but ``axis``, so the index (batch) dim lands at ``axis``
    return lax.gather(
        x, np.asarray(idx, np.int32)[:, None], dnums, sizes,
        indices_are_sorted=bool(np.all(np.diff(idx) >= 0)), unique_indices=unique,
        mode=lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )


def _lib(a: Array):
    return np if isinstance(a, np.ndarray) else jnp


def _compose_src(inner: Array, outer: Array) -> Array:
    """Gather-form composition: result[i] = inner[outer[i]] (or -1)."""
    lib = np if isinstance(inner, np.ndarray) and isinstance(outer, np.ndarray) else jnp
    inner_p = lib.concatenate([lib.asarray(inner), lib.asarray([-1], dtype=inner.dtype)])
    idx = lib.where(outer >= 0, outer, inner.shape[0])
    return inner_p[idx]


# ---------------------------------------------------------------------------------------------
# Edges
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactEdge:
    """One Jacobian edge: type code, 2-D record shapes and its compact value.

    ``values`` is set for valued types (array of :func:`layout_shape`); ``imap`` for type 11;
    both are None for the structural types -1, -6, -7.
    """

    code: int
    out_shape: tuple[int, int]
    in_shape: tuple[int, int]
    values: Array = None
    imap: IndexMap | None = field(default=None)

    def __post_init__(self) -> None:
        check_record(self.code, self.out_shape, self.in_shape)
        if is_valued(self.code):
            if self.values is None:
                raise ExecutorAlgebraError(f"valued type {self.code} without values")
            want = layout_shape(self.code, self.out_shape, self.in_shape)
            if tuple(self.values.shape) != want:
                raise ExecutorAlgebraError(
                    f"type {self.code} edge out={self.out_shape} in={self.in_shape} needs a "
                    f"compact array of shape {want}, got {tuple(self.values.shape)}"
                )
        elif self.code == UNDEFINED:
            if self.imap is None:
                raise ExecutorAlgebraError("type 11 edge without an index map")
            if (self.imap.n_out, self.imap.n_in) != (prod(self.out_shape), prod(self.in_shape)):
                raise ExecutorAlgebraError("type 11 index map does not match the record sizes")
        elif self.code not in STRUCTURAL_VALUELESS:
            raise ExecutorAlgebraError(f"unknown edge type {self.code}")

    @property
    def sizes(self) -> dict[int, int]:
        return _pos_sizes(self.out_shape, self.in_shape)


def identity_edge(shape: tuple[int, int]) -> CompactEdge:
    """The structural identity (-6) on a vertex of 2-D shape ``shape``."""
    return CompactEdge(-6, shape, shape)


# ---------------------------------------------------------------------------------------------
# Relayout and densification (no multiplications: transposes, broadcasts, selects)
# ---------------------------------------------------------------------------------------------


def relayout(values: Array, src: int, dst: int, sizes: dict[int, int]) -> Array:
    """Re-express the compact array of type ``src`` in the (coarser) layout of type ``dst``.

    Valid when every tie of ``dst`` is a tie of ``src`` and a K tie of ``dst`` is K in ``src``.
    Missing axes are broadcast (a K tie becoming D, or a dense position); ties that ``dst`` drops
    become ``where(eye, x, 0)`` selections. Emits no multiplication.
    """
    if src == dst:
        return values
    src_ties, dst_ties = _ties(src), _ties(dst)
    for pair, kind in dst_ties.items():
        if pair not in src_ties or (kind == "K" and src_ties[pair] == "D"):
            raise ExecutorAlgebraError(f"cannot re-express type {src} in the layout of {dst}")
    src_axes, dst_axes = layout(src), layout(dst)
    pos2dst = {p: i for i, ax in enumerate(dst_axes) for p in ax}
    values = jnp.asarray(values)
    # Each source axis feeds the destination axis holding its first position (injective).
    feed = {pos2dst[ax[0]]: j for j, ax in enumerate(src_axes)}
    perm = [feed[i] for i in range(len(dst_axes)) if i in feed]
    x = transpose(values, perm)
    full_shape = tuple(sizes[ax[0]] for ax in dst_axes)
    shape_expanded = tuple(full_shape[i] if i in feed else 1 for i in range(len(dst_axes)))
    x = reshape(x, shape_expanded)
    if shape_expanded != full_shape:
        x = jnp.broadcast_to(x, full_shape)
    # Ties present in src but not in dst: their two positions lie on two distinct dst axes.
    mask = None
    for (a, b) in src_ties:
        if (a, b) in dst_ties:
            continue
        ia, ib = pos2dst[a], pos2dst[b]
        eye = np.eye(sizes[a], sizes[b], dtype=bool)
        shp = [1] * len(dst_axes)
        shp[ia], shp[ib] = sizes[a], sizes[b]
        m = eye.reshape(shp) if ia < ib else eye.T.reshape(shp)
        mask = m if mask is None else (mask & m)
    if mask is not None:
        x = jnp.where(mask, x, jnp.zeros((), x.dtype))
    return x


def _structural_as_valued(code: int, dtype: Any) -> tuple[Array, int]:
    """Identity (-1, -6) as type 10 with value 1; transposition (-7) as type -10 with value 1."""
    one = jnp.ones((), dtype)
    if code in (COPY, -6):
        return one, 10
    if code == -7:
        return one, -10
    raise ExecutorAlgebraError(f"type {code} is not structural")


def to_dense(edge: CompactEdge, dtype: Any = None) -> Array:
    """The full tensor ``J[o1, o2, p1, p2]`` of an edge (selects and scatters only)."""
    if dtype is None:
        dtype = edge.values.dtype if edge.values is not None else jnp.float32
    if edge.code == UNDEFINED:
        d = edge.imap.dense(dtype)
        return d.reshape(edge.out_shape + edge.in_shape)
    if edge.code == COPY:
        n = prod(edge.out_shape)
        return jnp.eye(n, dtype=dtype).reshape(edge.out_shape + edge.in_shape)
    if edge.code in (-6, -7):
        vals, code = _structural_as_valued(edge.code, dtype)
    else:
        vals, code = edge.values, edge.code
    return astype(relayout(vals, code, 1, edge.sizes), dtype)


def from_dense(dense: Array, code: int) -> Array:
    """Compact array of type ``code`` read off a dense ``J[o1,o2,p1,p2]`` (test oracle helper).

    Takes the diagonal for D ties and index 0 along K ties; it does not check that the dense
    tensor really has the structure (compare ``to_dense(from_dense(J))`` with ``J`` for that).
    """
    dense = np.asarray(dense)
    sizes = dict(zip((1, 2, 3, 4), dense.shape, strict=True))
    axes = layout(code)
    idx: list[Any] = [None] * 4
    grids = np.indices(tuple(sizes[ax[0]] for ax in axes), sparse=False) if axes else []
    for i, ax in enumerate(axes):
        for p in ax:
            idx[p - 1] = grids[i]
    for p in (1, 2, 3, 4):
        if idx[p - 1] is None:  # K-tied: constant along the diagonal, read index 0
            idx[p - 1] = 0
    return dense[tuple(idx)]


# ---------------------------------------------------------------------------------------------
# Product r -> v -> t
# ---------------------------------------------------------------------------------------------

_T1, _T2, _V1, _V2, _S1, _S2 = range(6)
_OUT_POS = (_T1, _T2, _V1, _V2)  # positions 1..4 of the out-edge v -> t
_IN_POS = (_V1, _V2, _S1, _S2)  # positions 1..4 of the in-edge r -> v
_RES_POS = (_T1, _T2, _S1, _S2)  # positions 1..4 of the result r -> t


@dataclass(frozen=True)
class _Plan:
    """Static einsum plan of one (in-type, out-type) product: letters per operand and result."""

    out_letters: tuple[int, ...]
    in_letters: tuple[int, ...]
    res_letters: tuple[int, ...]
    result: int


@cache
def _plan(tin: int, tout: int) -> _Plan:
    parent = list(range(6))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for code, pos in ((tout, _OUT_POS), (tin, _IN_POS)):
        for (a, b) in _ties(code):
            parent[find(pos[a - 1])] = find(pos[b - 1])

    def letters(code: int, pos: tuple[int, ...]) -> tuple[int, ...]:
        if not is_valued(code):
            return ()
        return tuple(find(pos[ax[0] - 1]) for ax in layout(code))

    result = product_rule(tin, tout, "exact").result
    return _Plan(letters(tout, _OUT_POS), letters(tin, _IN_POS), letters(result, _RES_POS), result)


def contract(
    x: Array, xl: tuple[int, ...], y: Array, yl: tuple[int, ...], ol: tuple[int, ...]
) -> tuple[Array, int]:
    """Einsum ``x[xl] * y[yl] -> out[ol]`` as one dot_general or broadcasting mul.

    Returns the result and its number of scalar multiplications (the product of the sizes of all
    letters: one multiplication per term of the sum). Letters summed in only one operand are not
    allowed (the compact algebra never needs them).
    """
    size: dict[int, int] = {}
    for arr, ls in ((x, xl), (y, yl)):
        for n, l in zip(arr.shape, ls, strict=True):
            if size.setdefault(l, n) != n:
                raise ExecutorAlgebraError(f"index size mismatch in product: {size[l]} vs {n}")
    for l in set(xl) ^ set(yl):
        if l not in ol:
            raise ExecutorAlgebraError("a letter is summed in only one operand")
    mults = prod(size.values())
    dtype = jnp.result_type(x.dtype, y.dtype)
    x, y = astype(x, dtype), astype(y, dtype)
    contracted = [l for l in xl if l in yl and l not in ol]
    if all(size[l] == 1 for l in contracted):
        # No real summation: a broadcasting elementwise multiply (fuses well in XLA).
        xb = _broadcast_to_letters(x, xl, ol, size)
        yb = _broadcast_to_letters(y, yl, ol, size)
        return lax.mul(xb, yb), mults
    batch = [l for l in xl if l in yl and l in ol]
    xfree = [l for l in xl if l not in yl]
    yfree = [l for l in yl if l not in xl]
    dn = (
        (tuple(xl.index(l) for l in contracted), tuple(yl.index(l) for l in contracted)),
        (tuple(xl.index(l) for l in batch), tuple(yl.index(l) for l in batch)),
    )
    out = lax.dot_general(x, y, dn)
    got = batch + xfree + yfree
    out = transpose(out, [got.index(l) for l in ol])
    return out, mults


def _broadcast_to_letters(x: Array, xl: tuple[int, ...], ol: tuple[int, ...], size) -> Array:
    """Arrange ``x[xl]`` on the axes ``ol`` (size-1 letters missing from ``ol`` are dropped)."""
    kept = sorted((i for i in range(len(xl)) if xl[i] in ol), key=lambda i: ol.index(xl[i]))
    dropped = [i for i in range(len(xl)) if xl[i] not in ol]  # contracted, all of size 1
    x = transpose(x, kept + dropped)
    present = {xl[i] for i in kept}
    shape = tuple(size[l] if l in present else 1 for l in ol)
    x = reshape(x, shape)
    full = tuple(size[l] for l in ol)
    return jnp.broadcast_to(x, full) if shape != full else x


def product(e_in: CompactEdge, e_out: CompactEdge, dtype: Any = None) -> tuple[CompactEdge, int]:
    """Product of in-edge ``r -> v`` and out-edge ``v -> t``: the edge ``r -> t`` and its mults.

    The result's type and the returned count follow :func:`~crosscountry_gym.sparsity.product_rule`
    in the exact model; the count is also the number of multiplications emitted.
    ``dtype`` is used only to materialise structural operands when a dense result is needed.
    """
    tin, tout = e_in.code, e_out.code
    out_shape, in_shape = e_out.out_shape, e_in.in_shape
    if dtype is None:
        dtype = _dtype_of(e_in, e_out)
    # Special cases of docs/cost_model.md section 4.2, in order.
    if UNDEFINED in (tin, tout):
        if tin == UNDEFINED and tout == UNDEFINED:
            return CompactEdge(UNDEFINED, out_shape, in_shape, imap=e_in.imap.then(e_out.imap)), 0
        if tout == COPY:
            return CompactEdge(UNDEFINED, out_shape, in_shape, imap=e_in.imap), 0
        if tin == COPY:
            return CompactEdge(UNDEFINED, out_shape, in_shape, imap=e_out.imap), 0
        if tout == UNDEFINED:  # out-edge selects rows of the dense in-edge
            a = to_dense(e_in, dtype).reshape(prod(e_in.out_shape), prod(in_shape))
            r = e_out.imap.gather_rows(a)
        else:  # in-edge 11: scatter the columns of the dense out-edge
            b = to_dense(e_out, dtype).reshape(prod(out_shape), prod(e_out.in_shape))
            r = e_in.imap.scatter_cols(b)
        return CompactEdge(1, out_shape, in_shape, values=r.reshape(out_shape + in_shape)), 0
    if tin == COPY:
        return _rerecord(e_out, out_shape, in_shape), 0
    if tout == COPY:
        return _rerecord(e_in, out_shape, in_shape), 0
    plan = _plan(tin, tout)
    if tin in (-6, -7) and tout in (-6, -7):
        return CompactEdge(plan.result, out_shape, in_shape), 0
    if tin in (-6, -7) or tout in (-6, -7):
        # One factor is a free identity/transposition: relabel the valued factor's axes.
        if tout in (-6, -7):
            vals, letters = e_in.values, plan.in_letters
        else:
            vals, letters = e_out.values, plan.out_letters
        perm = [letters.index(l) for l in plan.res_letters]
        if len(perm) != len(letters):
            raise ExecutorAlgebraError(f"structural product ({tin},{tout}) loses an axis")
        vals = transpose(vals, perm)
        return CompactEdge(plan.result, out_shape, in_shape, values=vals), 0
    vals, mults = contract(
        e_out.values, plan.out_letters, e_in.values, plan.in_letters, plan.res_letters
    )
    return CompactEdge(plan.result, out_shape, in_shape, values=vals), mults


def _rerecord(e: CompactEdge, out_shape, in_shape) -> CompactEdge:
    return CompactEdge(e.code, out_shape, in_shape, values=e.values, imap=e.imap)


def _dtype_of(*edges: CompactEdge) -> Any:
    dts = [e.values.dtype for e in edges if e.values is not None]
    return jnp.result_type(*dts) if dts else jnp.float32


# ---------------------------------------------------------------------------------------------
# Merge (accumulate a new product into an existing edge)
# ---------------------------------------------------------------------------------------------


def merge(existing: CompactEdge | None, new: CompactEdge, dtype: Any = None) -> CompactEdge:
    """``existing + new`` in the layout of ``merge_rule(existing.code, new.code)`` (exact model).

    Additions are free in the cost model and emit only adds, broadcasts and selects here.
    Raises :class:`ExecutorAlgebraError` where the model's merge type cannot hold the true sum
    (a copy -1 merged into a transposed type, or two structural identities: 2·I is not
    structural); the cost model documents these as non-distributive corner cases.
    """
    if existing is None:
        return new
    if dtype is None:
        dtype = _dtype_of(existing, new)
    a, b = existing.code, new.code
    out_shape, in_shape = new.out_shape, new.in_shape
    code = merge_rule(a, b, "exact")
    if a == UNDEFINED and b == UNDEFINED:
        return CompactEdge(UNDEFINED, out_shape, in_shape, imap=existing.imap.plus(new.imap))
    if COPY in (a, b) and code == UNDEFINED:  # copy + 11: the identity is one more selection
        other = new if a == COPY else existing
        n = prod(out_shape)
        return CompactEdge(UNDEFINED, out_shape, in_shape, imap=other.imap.plus(IndexMap.identity(n)))
    if not is_valued(code) and code != 1:
        raise ExecutorAlgebraError(
            f"merging types {a} and {b} gives structural type {code}, but the sum of two "
            "structural maps carries values; this graph is outside what the cost model can type"
        )
    total = None
    for e in (existing, new):
        if e.code == UNDEFINED:
            term = to_dense(e, dtype)
            term = relayout(term, 1, code, _pos_sizes(out_shape, in_shape))
        elif e.code in STRUCTURAL_VALUELESS:
            vals, c = _structural_as_valued(e.code, dtype)
            try:
                term = relayout(vals, c, code, _pos_sizes(out_shape, in_shape))
            except ExecutorAlgebraError:
                raise ExecutorAlgebraError(
                    f"merging types {a} and {b}: the cost model types the sum as {code}, which "
                    f"cannot hold the identity carried by the structural edge {e.code}"
                ) from None
        else:
            term = relayout(e.values, e.code, code, _pos_sizes(out_shape, in_shape))
        total = term if total is None else total + term
    return CompactEdge(code, out_shape, in_shape, values=total)
