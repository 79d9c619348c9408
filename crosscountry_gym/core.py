"""Pure-JAX elimination core: a padded, jit/vmap-able state and ``eliminate(state, vertex)``.

This is the array twin of the NumPy oracle :class:`crosscountry_gym.engine.EliminationState`; the
two agree exactly (per-step costs and final graphs, both cost models; ``tests/core``).

Representation (why it is fast)
-------------------------------
Every frozen graph has one source shape per row and one target shape per vertex
(:meth:`Graph.vertex_shapes`), and elimination preserves this: the new record of r -> t is
(shape of t, shape of r). So shapes live in static per-row / per-vertex arrays and only the
edge *types* are state. Two kernels share one :class:`State` class; ``State.kind`` (static)
selects one:

* ``"dense"``: every edge type is 1 (dense) or -1 (copy). This alphabet is closed under the
  product and merge rules and no paper override touches it, so both cost models coincide. The
  state is two per-source-row bitsets over target vertices, ``out_bits`` (edge exists) and
  ``out_copy`` (edge is a copy), shape ``[R, ceil(V / 32)]`` uint32. A step is ~10 word
  operations per row and a product of three sums (cost = |V| * sum_P |S_r| * sum_Q |T_t| over the
  non-copy in- and out-edges), with no table lookups. All scalar benchmark tasks use it.
* ``"typed"``: the general model. ``types`` int8 ``[R, V]`` holds the type codes. A step's
  cost is computed from type histograms (sizes of in-edges summed per (type, size pattern),
  likewise out-edges: two scatter-adds into [22, 4]) and 22 x 22 pair terms, instead of
  R x V table products; the type update is one lookup per (row, vertex) in a fused
  22 x 22 x 22 product-then-merge table.

Layout and ids
--------------
``V = max_vertices`` columns (vertex id k -> column k - 1) and ``R = max_inputs + V`` source
rows: input i -> row i - 1 (rows ``num_inputs .. max_inputs - 1`` are padding), vertex k ->
row ``max_inputs + k - 1``. Graphs of different sizes padded to the same ``(max_inputs,
max_vertices)`` and kind stack into one batch (:func:`stack_states`) and vmap together.

The cost model is data (``State.model``: 0 = "exact", 1 = "alphagrad") indexing tables of
both models baked in as constants, so one compiled function serves both.

Costs are int32. A float32 shadow of every step cost sets the sticky ``State.overflow`` flag
when a step cost would not fit in int32 (user graphs with large tensor shapes); the
environments raise on it. The benchmark graphs are far below the limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import cache
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from .graph import Edge, Graph
from .sparsity import DEFAULT_MODEL, MODELS, CostModel, cost_model_arg, tables

__all__ = [
    "State",
    "Kind",
    "MODELS",
    "init_state",
    "stack_states",
    "state_from_arrays",
    "eliminate",
    "eliminate_order",
    "is_legal",
    "action_mask",
    "is_terminal",
    "edge_types",
    "to_graph",
    "kind_of",
]

Kind = Literal["dense", "typed"]
# ``State.model`` holds the index of the cost model in ``sparsity.MODELS``.

_INT32_MAX = float(2**31 - 1)


@dataclasses.dataclass(frozen=True)
class State:
    """Elimination state of one padded graph (or a batch, with leading axes on every array).

    Graph constants (never change during an episode):
        num_inputs, num_vertices: int32 [] true sizes.
        model: int32 [] index into :data:`MODELS`.
        src_shape: int32 [R, 2] 2-D shape of each source row ((1, 1) for padding).
        tgt_shape: int32 [V, 2] 2-D shape of each vertex ((1, 1) for padding).
        is_output: bool [V].
    Dynamic:
        eliminated: bool [V].
        types: int8 [R, V] type codes ("typed" kind; shape [R, 0] for "dense").
        out_bits, out_copy: uint32 [R, ceil(V/32)] ("dense" kind; [R, 0] for "typed").
        overflow: bool [] sticky: some step cost exceeded int32.
    Static:
        kind: "dense" or "typed".
    """

    kind: str
    num_inputs: jax.Array
    num_vertices: jax.Array
    model: jax.Array
    src_shape: jax.Array
    tgt_shape: jax.Array
    is_output: jax.Array
    eliminated: jax.Array
    types: jax.Array
    out_bits: jax.Array
    out_copy: jax.Array
    overflow: jax.Array

    @property
    def max_vertices(self) -> int:
        return self.is_output.shape[-1]

    @property
    def max_inputs(self) -> int:
        return self.src_shape.shape[-2] - self.is_output.shape[-1]

    @property
    def num_rows(self) -> int:
        return self.src_shape.shape[-2]

    def replace(self, **kw) -> State:
        return dataclasses.replace(self, **kw)


jax.tree_util.register_dataclass(
    State,
    data_fields=[f.name for f in dataclasses.fields(State) if f.name != "kind"],
    meta_fields=["kind"],
)


# ---------------------------------------------------------------------------------------------
# Tables (both models stacked: axis 0 = model index)
# ---------------------------------------------------------------------------------------------


@cache
def _np_tables() -> dict[str, np.ndarray]:
    """Constant tables for the typed kernel, derived from :func:`sparsity.tables`.

    * ``const`` int32 [2, 22, 22]: constant factor (0/1) of a product's cost.
    * ``pat_t``, ``pat_v``, ``pat_s`` int32 [2, 22, 22]: the size pattern
      (0: 1, 1: d1, 2: d2, 3: d1*d2) of the T, V and S index pairs in a product's cost.
    * ``fused`` int8 [2 * 22**3]: ``merge[old, mul_type[a, b]]`` at
      ``((m * 22 + old) * 22 + a) * 22 + b`` (codes + 10).
    """
    const = np.zeros((2, 22, 22), np.int32)
    pat = np.zeros((3, 2, 22, 22), np.int32)
    fused = np.zeros((2, 22, 22, 22), np.int8)
    for m, name in enumerate(MODELS):
        tb = tables(name)
        const[m] = tb.mul_const
        e = tb.mul_exp
        for k in range(3):  # T, V, S
            pat[k, m] = e[:, :, 2 * k] + 2 * e[:, :, 2 * k + 1]
        # fused[old, a, b] = merge[old, mul_type[a, b]]
        fused[m] = tb.merge_type[np.arange(22)[:, None, None], tb.mul_type[None, :, :] + 10]
    return {
        "const": const,
        "pat_t": pat[0],
        "pat_v": pat[1],
        "pat_s": pat[2],
        "fused": fused.reshape(-1),
    }


# ---------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------


def kind_of(graph: Graph) -> Kind:
    """``"dense"`` if every edge type is 1 or -1 (the bitset kernel applies), else ``"typed"``."""
    return "dense" if all(e.type in (1, -1) for e in graph.edges) else "typed"


def _words(n: int) -> int:
    return max(1, -(-n // 32))


def _pack_bits(b: jax.Array) -> jax.Array:
    """bool [..., n] -> uint32 [..., ceil(n/32)] (bit i of word w = element 32 w + i)."""
    n = b.shape[-1]
    w = _words(n)
    b = jnp.pad(b, [(0, 0)] * (b.ndim - 1) + [(0, 32 * w - n)])
    b = b.reshape(*b.shape[:-1], w, 32).astype(jnp.uint32)
    return jnp.sum(b << jnp.arange(32, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)


def _unpack_bits(words: jax.Array, n: int) -> jax.Array:
    """uint32 [..., W] -> bool [..., n]."""
    bits = (words[..., :, None] >> jnp.arange(32, dtype=jnp.uint32)) & jnp.uint32(1)
    return bits.reshape(*words.shape[:-1], words.shape[-1] * 32)[..., :n].astype(bool)


def _spread_nibbles(words: jax.Array) -> jax.Array:
    """uint32 [..., W] -> uint32 [..., W, 8] whose bytes are the bits of ``words`` (0/1).

    Nibble x times 0x00204081 puts bit i of x at bit 8 i (the partial products do not
    overlap), so one uint32 operation yields four output bytes: several times faster on CPU
    than a shift per output element."""
    nib = (words[..., :, None] >> (4 * jnp.arange(8, dtype=jnp.uint32))) & jnp.uint32(0xF)
    return (nib * jnp.uint32(0x00204081)) & jnp.uint32(0x01010101)


def _bytes_to_int8(spread: jax.Array, n: int) -> jax.Array:
    """uint32 [..., W, 8] of packed bytes -> int8 [..., n] (little-endian byte order)."""
    b = jax.lax.bitcast_convert_type(spread, jnp.int8)  # [..., W, 8, 4]
    return b.reshape(*spread.shape[:-2], spread.shape[-2] * 32)[..., :n]


def state_from_arrays(
    types: jax.Array,
    src_shape: jax.Array,
    tgt_shape: jax.Array,
    is_output: jax.Array,
    num_inputs: jax.Array | int,
    num_vertices: jax.Array | int,
    *,
    model: jax.Array | int = 0,
    kind: Kind = "typed",
) -> State:
    """Build a :class:`State` from padded arrays (jit-able; used by the random-graph sampler).

    ``types`` int8 [R, V] in the padded layout of this module, ``src_shape`` [R, 2],
    ``tgt_shape`` [V, 2], ``is_output`` bool [V]. For ``kind="dense"`` the caller guarantees
    every code is 0, 1 or -1.
    """
    types = jnp.asarray(types, jnp.int8)
    r, v = types.shape
    if kind == "dense":
        out_bits = _pack_bits(types != 0)
        out_copy = _pack_bits(types == -1)
        types = jnp.zeros((r, 0), jnp.int8)
    elif kind == "typed":
        out_bits = out_copy = jnp.zeros((r, 0), jnp.uint32)
    else:
        raise ValueError(f"unknown state kind {kind!r}; use 'dense' or 'typed'")
    return State(
        kind=kind,
        num_inputs=jnp.asarray(num_inputs, jnp.int32),
        num_vertices=jnp.asarray(num_vertices, jnp.int32),
        model=jnp.asarray(model, jnp.int32),
        src_shape=jnp.asarray(src_shape, jnp.int32),
        tgt_shape=jnp.asarray(tgt_shape, jnp.int32),
        is_output=jnp.asarray(is_output, bool),
        eliminated=jnp.zeros((v,), bool),
        types=types,
        out_bits=out_bits,
        out_copy=out_copy,
        overflow=jnp.asarray(False),
    )


def padded_arrays(
    graph: Graph, max_vertices: int | None = None, max_inputs: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NumPy ``(types [R, V] int8, src_shape [R, 2], tgt_shape [V, 2], is_output [V])``.

    Raises ``ValueError`` if the graph exceeds the padding or its shape records are not
    consistent per row and per vertex.
    """
    ni, nv = graph.num_inputs, graph.num_vertices
    mv = nv if max_vertices is None else int(max_vertices)
    mi = ni if max_inputs is None else int(max_inputs)
    if nv > mv:
        raise ValueError(f"graph {graph.name!r} has {nv} vertices > max_vertices={mv}")
    if ni > mi:
        raise ValueError(f"graph {graph.name!r} has {ni} inputs > max_inputs={mi}")
    src, tgt = graph.vertex_shapes()  # raises ValueError on inconsistent records
    r = mi + mv
    types = np.zeros((r, mv), np.int8)
    src_shape = np.ones((r, 2), np.int32)
    tgt_shape = np.ones((mv, 2), np.int32)
    is_output = np.zeros(mv, bool)
    rows = np.r_[np.arange(ni), mi + np.arange(nv)]  # graph row (0-based) -> padded row
    src_shape[rows] = np.asarray(src, np.int32).reshape(-1, 2)
    tgt_shape[:nv] = np.asarray(tgt, np.int32).reshape(-1, 2)
    for e in graph.edges:
        types[rows[e.source - 1], e.target - 1] = e.type
    is_output[np.asarray(graph.outputs, int) - 1] = True
    return types, src_shape, tgt_shape, is_output


def init_state(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    max_vertices: int | None = None,
    max_inputs: int | None = None,
    kind: Kind | Literal["auto"] = "auto",
    model: CostModel | None = None,
) -> State:
    """The initial :class:`State` of ``graph`` padded to ``(max_inputs, max_vertices)``.

    ``kind="auto"`` picks ``"dense"`` when :func:`kind_of` allows it, else ``"typed"``; force
    ``"typed"`` to batch a scalar graph with tensor graphs. Raises ``ValueError`` for an unknown
    model or kind, a graph larger than the padding, a ``"dense"`` request on a typed graph, or
    shape records that are inconsistent per row/vertex.
    """
    model = cost_model_arg(cost_model, model)
    if kind == "auto":
        kind = kind_of(graph)
    elif kind == "dense" and kind_of(graph) != "dense":
        raise ValueError(
            f"graph {graph.name!r} has edge types other than 1/-1; kind='dense' needs the "
            "all-dense alphabet, use kind='typed'"
        )
    elif kind not in ("dense", "typed"):
        raise ValueError(f"unknown state kind {kind!r}; use 'auto', 'dense' or 'typed'")
    types, src, tgt, outs = padded_arrays(graph, max_vertices, max_inputs)
    return state_from_arrays(
        types, src, tgt, outs, graph.num_inputs, graph.num_vertices,
        model=MODELS.index(model), kind=kind,
    )


def stack_states(states: Sequence[State]) -> State:
    """Stack equally padded states of one kind into a batch (leading axis)."""
    if not states:
        raise ValueError("stack_states needs at least one state")
    kinds = {s.kind for s in states}
    shapes = {(s.max_inputs, s.max_vertices) for s in states}
    if len(kinds) > 1:
        raise ValueError(f"cannot stack states of different kinds {sorted(kinds)}; use kind='typed'")
    if len(shapes) > 1:
        raise ValueError(f"cannot stack states padded differently: {sorted(shapes)}")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *states)


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def action_mask(state: State) -> jax.Array:
    """bool [V]: vertex exists, is not an output and is not eliminated (column k-1 = id k)."""
    exists = jnp.arange(state.max_vertices) < state.num_vertices
    return exists & ~state.is_output & ~state.eliminated


def is_legal(state: State, vertex: jax.Array | int) -> jax.Array:
    """bool []: ``vertex`` (1-based id) can be eliminated now."""
    vertex = jnp.asarray(vertex, jnp.int32)
    inside = (vertex >= 1) & (vertex <= state.max_vertices)
    col = jnp.clip(vertex - 1, 0, state.max_vertices - 1)
    return inside & action_mask(state)[col]


def is_terminal(state: State) -> jax.Array:
    """bool []: every eliminable vertex has been eliminated."""
    return ~jnp.any(action_mask(state))


def edge_types(state: State) -> jax.Array:
    """int8 [R, V] type matrix in the padded layout, for either kind."""
    if state.kind == "typed":
        return state.types
    # byte = 1 for a dense edge, 0xFF (-1) for a copy (copy bits are a subset of edge bits)
    packed = _spread_nibbles(state.out_bits) | (_spread_nibbles(state.out_copy) * jnp.uint32(0xFE))
    return _bytes_to_int8(packed, state.max_vertices)


# ---------------------------------------------------------------------------------------------
# Elimination
# ---------------------------------------------------------------------------------------------


def _size(shape: jax.Array) -> jax.Array:
    return shape[..., 0] * shape[..., 1]


def _patterns(shape: jax.Array) -> jax.Array:
    """[..., 2] -> [..., 4] size patterns (1, d1, d2, d1*d2)."""
    d1, d2 = shape[..., 0], shape[..., 1]
    return jnp.stack([jnp.ones_like(d1), d1, d2, d1 * d2], axis=-1)


def _eliminate_dense(s: State, col: jax.Array, ok: jax.Array):
    row = s.max_inputs + col
    word, shift = col // 32, (col % 32).astype(jnp.uint32)
    wsel = jnp.arange(s.out_bits.shape[-1]) == word  # one-hot word of column v
    bit_b = (jnp.sum(jnp.where(wsel, s.out_bits, 0), -1, dtype=jnp.uint32) >> shift) & 1
    bit_c = (jnp.sum(jnp.where(wsel, s.out_copy, 0), -1, dtype=jnp.uint32) >> shift) & 1
    p = bit_b.astype(bool) & ok  # [R] in-edges r -> v
    pc = bit_c.astype(bool)  # ... that are copies
    qw = jnp.where(ok, s.out_bits[row], jnp.uint32(0))  # [W] out-edges v -> t
    qcw = s.out_copy[row]
    # cost: each (non-copy, non-copy) pair costs |T_t| |V| |S_r|
    q1 = _unpack_bits(qw & ~qcw, s.max_vertices)
    sum_s = jnp.sum(jnp.where(p & ~pc, _size(s.src_shape), 0))
    sum_t = jnp.sum(jnp.where(q1, _size(s.tgt_shape), 0))
    size_v = _size(s.src_shape[row])
    cost = sum_s * size_v * sum_t
    costf = sum_s.astype(jnp.float32) * size_v.astype(jnp.float32) * sum_t.astype(jnp.float32)
    # rows r in P gain Q; copy(r,t) = copy(r,v) & copy(v,t) & (old edge none or copy)
    old_b, old_c = s.out_bits, s.out_copy
    ncopy = jnp.where(pc[:, None], qcw[None, :], jnp.uint32(0))  # [R, W]
    merged_c = (old_c & ~qw) | (qw & (~old_b | old_c) & ncopy)
    pm = p[:, None]
    new_b = jnp.where(pm, old_b | qw, old_b)
    new_c = jnp.where(pm, merged_c, old_c)
    # delete column v (bit `col` of every row) and row v
    clear = ~jnp.where(wsel & ok, jnp.uint32(1) << shift, jnp.uint32(0))  # [W]
    rowm = ((jnp.arange(s.num_rows) == row) & ok)[:, None]
    new_b = jnp.where(rowm, jnp.uint32(0), new_b & clear)
    new_c = jnp.where(rowm, jnp.uint32(0), new_c & clear)
    return s.replace(out_bits=new_b, out_copy=new_c), cost, costf


def _eliminate_typed(s: State, col: jax.Array, ok: jax.Array):
    tb = _np_tables()
    m = s.model
    row = s.max_inputs + col
    t = s.types
    cin = t[:, col].astype(jnp.int32)  # [R] types of in-edges r -> v
    cout = t[row, :].astype(jnp.int32)  # [V] types of out-edges v -> t
    p = (cin != 0) & ok
    q = (cout != 0) & ok
    # histograms: in-edges of v by (type, size pattern of S), out-edges by (type, pattern of T);
    # bin 22 collects the absent edges and is dropped
    g = jnp.zeros((23, 4), jnp.int32).at[jnp.where(p, cin + 10, 22)].add(_patterns(s.src_shape))
    h = jnp.zeros((23, 4), jnp.int32).at[jnp.where(q, cout + 10, 22)].add(_patterns(s.tgt_shape))
    vf = _patterns(s.src_shape[row])  # [4]
    gs = jnp.take_along_axis(g[:22], jnp.asarray(tb["pat_s"])[m], axis=1)  # g[a, pS(a, b)]
    ht = jnp.take_along_axis(h[:22], jnp.asarray(tb["pat_t"])[m].T, axis=1).T  # h[b, pT(a, b)]
    vv = vf[jnp.asarray(tb["pat_v"])[m]]  # vf[pV(a, b)]
    const = jnp.asarray(tb["const"])[m]  # [22, 22]
    cost = jnp.sum(const * gs * vv * ht)
    f32 = jnp.float32
    costf = jnp.sum(const.astype(f32) * gs.astype(f32) * vv.astype(f32) * ht.astype(f32))
    # type update on P x Q: merge(old, mul(cin, cout)) through the fused table
    fused = jnp.asarray(tb["fused"])
    idx = ((m * 22 + t.astype(jnp.int32) + 10) * 22 + (cin + 10)[:, None]) * 22 + (cout + 10)[None]
    new = jnp.where(p[:, None] & q[None, :], fused[idx], t)
    rowm = (jnp.arange(s.num_rows) == row) & ok
    colm = (jnp.arange(s.max_vertices) == col) & ok
    new = jnp.where(rowm[:, None] | colm[None, :], jnp.int8(0), new)
    return s.replace(types=new), cost, costf


def eliminate(state: State, vertex: jax.Array | int) -> tuple[State, jax.Array]:
    """Eliminate ``vertex`` (1-based id); returns ``(new_state, step_cost int32)``.

    Pure and jit/vmap-able. An illegal vertex (out of range, padding, output, already
    eliminated; see :func:`is_legal`) leaves the state unchanged and costs 0: callers that must
    reject such actions check :func:`is_legal` first (the environments do).
    """
    vertex = jnp.asarray(vertex, jnp.int32)
    ok = is_legal(state, vertex)
    col = jnp.clip(vertex - 1, 0, state.max_vertices - 1)
    if state.kind == "dense":
        s, cost, costf = _eliminate_dense(state, col, ok)
    elif state.kind == "typed":
        s, cost, costf = _eliminate_typed(state, col, ok)
    else:
        raise ValueError(f"unknown state kind {state.kind!r}")
    s = s.replace(
        eliminated=s.eliminated | ((jnp.arange(state.max_vertices) == col) & ok),
        overflow=s.overflow | (costf > _INT32_MAX),
    )
    return s, cost.astype(jnp.int32)


def eliminate_order(state: State, order: jax.Array) -> tuple[State, jax.Array]:
    """Eliminate vertex ids ``order`` (int32 [n]) in turn with ``lax.scan``.

    Returns the final state and the per-step costs int32 [n]. Entries that are illegal at their
    turn (e.g. 0 used as padding) are skipped at cost 0.
    """
    return jax.lax.scan(eliminate, state, jnp.asarray(order, jnp.int32))


# ---------------------------------------------------------------------------------------------
# Back to a Graph (host side, for tests and display)
# ---------------------------------------------------------------------------------------------


def to_graph(state: State, like: Graph) -> Graph:
    """The current graph of an unbatched ``state`` as a :class:`Graph` (records rebuilt from the
    per-row / per-vertex shapes), with ``like``'s sizes, outputs and name."""
    ni, nv = like.num_inputs, like.num_vertices
    types = np.asarray(edge_types(state))
    src = np.asarray(state.src_shape)
    tgt = np.asarray(state.tgt_shape)
    mi = state.max_inputs
    edges = []
    for pr, c in zip(*np.nonzero(types), strict=True):
        source = int(pr) + 1 if pr < mi else ni + int(pr) - mi + 1
        if pr < mi and pr >= ni or c >= nv:
            raise ValueError(f"state has an edge in padding (row {pr}, column {c})")
        edges.append(
            Edge(source, int(c) + 1, int(types[pr, c]), tuple(map(int, tgt[c])),
                 tuple(map(int, src[pr])))
        )
    return Graph(ni, nv, tuple(sorted(edges)), like.outputs, like.name)
