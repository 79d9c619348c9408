"""Seeded random computational DAGs of given sizes, scalar or tensor-typed.

One sampler, written in JAX so that the functional environment can draw a fresh graph inside a
jitted ``reset`` (:func:`sample_state`); :func:`random_graph` wraps it into a host-side
:class:`~crosscountry_gym.graph.Graph` for the Gymnasium env and for tests.

The family mimics straight-line numerical code:

* vertex k (1-based) has in-degree 1..``max_in_degree`` (probabilities ``degree_probs``); its
  sources are distinct rows drawn from the inputs and the vertices before it, with weight
  ``locality_weight`` on the ``locality`` most recent vertices (values are mostly used soon
  after they are computed);
* the last ``num_outputs`` vertices are the outputs (other sinks are dead code: legal, cost 0);
* ``tensor=False``: every shape is (1, 1) and every edge dense (type 1), like the scalar
  benchmark tasks; ``tensor=True``: each input and vertex gets a 2-D shape from
  ``{(1,1), (d,1), (1,d), (d1,d2)}`` over ``dims``, and each edge a sparsity code drawn
  uniformly from those whose index ties are consistent with the two shapes (a tie (a, b) needs
  dim a of the target = dim b-2 of the source; copies -1 only between equal shapes; the
  undefined code 11 is never drawn).

Vertex ids are a topological order. ``num_vertices`` may be a ``(low, high)`` range; the graph is
then padded to ``high`` vertices.
"""

from __future__ import annotations

import dataclasses
import itertools
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np

from .. import core
from ..graph import Graph
from ..sparsity import CODES, sparsity_of

__all__ = ["RandomGraphSpec", "sample_arrays", "sample_state", "random_graph"]


@dataclasses.dataclass(frozen=True)
class RandomGraphSpec:
    """Sizes and knobs of the random-DAG family (hashable: usable as a static jit argument)."""

    num_inputs: int = 4
    num_vertices: int | tuple[int, int] = 30
    num_outputs: int = 2
    tensor: bool = False
    max_in_degree: int = 2
    degree_probs: tuple[float, ...] = (0.4, 0.6)
    locality: int = 6
    locality_weight: float = 4.0
    dims: tuple[int, ...] = (2, 3, 4)

    def __post_init__(self) -> None:
        lo, hi = self.vertex_range
        if self.num_inputs < 1:
            raise ValueError(f"num_inputs must be >= 1, got {self.num_inputs}")
        if not 1 <= lo <= hi:
            raise ValueError(f"num_vertices must be >= 1 (or a range low <= high), got "
                             f"{self.num_vertices!r}")
        if not 1 <= self.num_outputs <= lo:
            raise ValueError(f"num_outputs must be in 1..{lo} (the fewest vertices), got "
                             f"{self.num_outputs}")
        if self.max_in_degree < 1 or len(self.degree_probs) != self.max_in_degree:
            raise ValueError("degree_probs needs one probability per in-degree 1..max_in_degree")
        if any(p < 0 for p in self.degree_probs) or sum(self.degree_probs) <= 0:
            raise ValueError(f"degree_probs must be non-negative with a positive sum, got "
                             f"{self.degree_probs}")
        if self.tensor and (not self.dims or any(d < 1 for d in self.dims)):
            raise ValueError(f"dims must be positive ints, got {self.dims}")

    @property
    def vertex_range(self) -> tuple[int, int]:
        nv = self.num_vertices
        return (nv, nv) if isinstance(nv, int) else (int(nv[0]), int(nv[1]))

    @property
    def max_vertices(self) -> int:
        return self.vertex_range[1]

    @property
    def kind(self) -> str:
        return "typed" if self.tensor else "dense"


@cache
def _shape_menu(dims: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Candidate shapes [S, 2] and the code validity table [S(target), S(source), 22]."""
    shapes = [(1, 1)] + [(d, 1) for d in dims] + [(1, d) for d in dims]
    shapes += [(a, b) for a, b in itertools.product(dims, dims)]
    shapes = sorted(set(shapes))
    valid = np.zeros((len(shapes), len(shapes), len(CODES)), bool)
    for i, o in enumerate(shapes):
        for j, p in enumerate(shapes):
            for c in CODES:
                if c in (0, 11):
                    continue
                if c == -1:
                    valid[i, j, c + 10] = o == p
                    continue
                ties = sparsity_of(c).ties
                valid[i, j, c + 10] = all(o[t.a - 1] == p[t.b - 3] for t in ties)
    return np.asarray(shapes, np.int32), valid


def sample_arrays(
    key: jax.Array, spec: RandomGraphSpec, max_inputs: int | None = None,
    max_vertices: int | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]:
    """Sample one graph as padded core arrays (jit-able with ``spec`` static).

    Returns ``(types int8 [R, V], src_shape int32 [R, 2], tgt_shape int32 [V, 2],
    is_output bool [V], num_vertices int32 [])`` in the layout of :mod:`crosscountry_gym.core`
    with ``V = max_vertices`` (default ``spec.max_vertices``) and ``R = max_inputs + V``.
    """
    ni = spec.num_inputs
    mi = ni if max_inputs is None else max_inputs
    mv = spec.max_vertices if max_vertices is None else max_vertices
    if mi < ni or mv < spec.max_vertices:
        raise ValueError(f"padding ({mi}, {mv}) is smaller than the spec ({ni}, {spec.max_vertices})")
    r = mi + mv
    # One uniform draw sliced for every random choice: a single threefry instance keeps the
    # compile time of a vmapped reset low (separate jax.random calls each compile their own).
    n_types = r * mv * len(CODES) if spec.tensor else 0
    sizes = [1, mv, mv * r, r, mv, n_types]
    u = jax.random.uniform(key, (sum(sizes),), minval=1e-12, maxval=1.0)
    u_nv, u_deg, u_src, u_in, u_v, u_type = jnp.split(u, np.cumsum(sizes)[:-1])
    lo, hi = spec.vertex_range
    nv = jnp.minimum(lo + jnp.floor(u_nv[0] * (hi - lo + 1)), hi).astype(jnp.int32)

    rows = jnp.arange(r)
    ks = jnp.arange(mv)
    is_input_row = rows < ni
    vert_of_row = rows - mi  # vertex index (0-based) of a row, negative for input rows
    avail = is_input_row[None, :] | ((vert_of_row[None, :] >= 0) & (vert_of_row[None, :] < ks[:, None]))
    recent = (vert_of_row[None, :] >= ks[:, None] - spec.locality) & avail & ~is_input_row[None, :]
    logw = jnp.where(recent, jnp.log(spec.locality_weight), 0.0)
    gumbel = -jnp.log(-jnp.log(u_src.reshape(mv, r)))
    scores = jnp.where(avail, logw + gumbel, -jnp.inf)
    probs = np.asarray(spec.degree_probs, np.float64)
    cum = jnp.asarray(np.cumsum(probs / probs.sum())[:-1], jnp.float32)
    deg = 1 + jnp.sum(u_deg[:, None] > cum[None, :], axis=1)
    deg = jnp.minimum(deg, ni + ks)  # vertex k sees ni + k rows
    kd = min(spec.max_in_degree, r)
    _, top = jax.lax.top_k(scores, kd)  # [V, kd] distinct rows, best first
    take = jnp.arange(kd)[None, :] < deg[:, None]  # [V, kd]
    chosen = jnp.any((top[:, :, None] == rows[None, None, :]) & take[:, :, None], axis=1)
    chosen &= (ks < nv)[:, None]
    edges = chosen.T  # [R, V]

    is_output = (ks >= nv - spec.num_outputs) & (ks < nv)
    if spec.tensor:
        menu, valid = _shape_menu(tuple(spec.dims))
        menu_j, valid_j = jnp.asarray(menu), jnp.asarray(valid)
        n_menu = len(menu)
        in_idx = jnp.minimum(jnp.floor(u_in * n_menu), n_menu - 1).astype(jnp.int32)
        v_idx = jnp.minimum(jnp.floor(u_v * n_menu), n_menu - 1).astype(jnp.int32)
        row_idx = jnp.where(is_input_row, in_idx, v_idx[jnp.clip(vert_of_row, 0, mv - 1)])
        row_valid = is_input_row | ((vert_of_row >= 0) & (vert_of_row < nv))
        src_shape = jnp.where(row_valid[:, None], menu_j[row_idx], 1)
        tgt_shape = jnp.where((ks < nv)[:, None], menu_j[v_idx], 1)
        ok = valid_j[v_idx[None, :], row_idx[:, None]]  # [R, V, 22]
        g = -jnp.log(-jnp.log(u_type.reshape(r, mv, len(CODES))))
        code = jnp.argmax(jnp.where(ok, g, -jnp.inf), axis=-1) - 10
        types = jnp.where(edges, code, 0).astype(jnp.int8)
    else:
        src_shape = jnp.ones((r, 2), jnp.int32)
        tgt_shape = jnp.ones((mv, 2), jnp.int32)
        types = edges.astype(jnp.int8)
    return types, src_shape.astype(jnp.int32), tgt_shape.astype(jnp.int32), is_output, nv


def sample_state(
    key: jax.Array, spec: RandomGraphSpec, *, model: int | jax.Array = 0,
    max_inputs: int | None = None, max_vertices: int | None = None,
) -> core.State:
    """A fresh random graph as a :class:`core.State` (kind ``spec.kind``); jit-able."""
    types, src, tgt, outs, nv = sample_arrays(key, spec, max_inputs, max_vertices)
    return core.state_from_arrays(
        types, src, tgt, outs, spec.num_inputs, nv, model=model, kind=spec.kind
    )


_sample_jit = jax.jit(sample_arrays, static_argnums=(1,))


def random_graph(seed: int | np.integer | jax.Array, spec: RandomGraphSpec | None = None,
                 **kwargs) -> Graph:
    """A random :class:`Graph` from ``seed`` (int or JAX key); ``kwargs`` build the spec.

    >>> g = random_graph(0, num_inputs=3, num_vertices=12, num_outputs=2)
    >>> (g.num_inputs, g.num_vertices, g.outputs)
    (3, 12, (11, 12))
    """
    if spec is None:
        spec = RandomGraphSpec(**kwargs)
    elif kwargs:
        spec = dataclasses.replace(spec, **kwargs)
    if isinstance(seed, int | np.integer):
        key = jax.random.key(int(seed))
    else:
        key = seed
    types, src, tgt, outs, nv = jax.device_get(_sample_jit(key, spec))
    nv = int(nv)
    ni = spec.num_inputs  # default padding: padded row r is graph row r + 1
    records = []
    for r, c in zip(*np.nonzero(types), strict=True):
        records.append([int(r) + 1, int(c) + 1, int(types[r, c]), *map(int, tgt[c]), *map(int, src[r])])
    outputs = [int(k) + 1 for k in np.nonzero(outs)[0]]
    name = f"Random(seed={int(seed) if isinstance(seed, int | np.integer) else 'key'})"
    return Graph.from_records(ni, nv, records, outputs, name=name)
