"""The reference elimination engine: one state, one step rule, and ``cost`` on top.

Every Python-side consumer eliminates through :class:`EliminationState`: :func:`cost`, the
heuristics of :mod:`crosscountry_gym.orders`, the search baselines and the Gymnasium env. A rule
of the cost model therefore lives in exactly one place (:mod:`crosscountry_gym.sparsity` says what
a product costs and what type it has; this module applies it, ``docs/cost_model.md`` section 3):
eliminating vertex v multiplies every in-edge r -> v with every out-edge v -> t and merges the
product into r -> t (additions are free); then v's edges are removed.

Named fast paths, each tested for agreement with this engine on every task and on random graphs:

* :class:`ScalarBitsetState`: scalar graphs whose edges are all dense (type 1) or copies (-1), as
  four lists of ``int`` bit masks (one step is a handful of big-int operations);
* :mod:`crosscountry_gym.core`: the pure-JAX kernels (``jit``/``vmap`` over padded arrays).

The executor (:mod:`crosscountry_gym.executor`) runs the same skeleton,
:func:`eliminate_vertex`, with its own product and merge (JAX arrays instead of records).

Layout. Rows number the sources: row ``r`` in ``1..num_inputs`` is an input, row
``num_inputs + v`` is vertex ``v`` (as in :class:`~crosscountry_gym.graph.Graph`). The state is
two adjacency dicts keyed by row, ``succ[row][target_row]`` and ``pred[row][source_row]``, both
holding the same record ``(type, o1, o2, p1, p2)``: the edge's type code, the 2-D shape of its
target and the 2-D shape of its source (``docs/cost_model.md`` section 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from .graph import Edge, Graph
from .sparsity import CODES, DEFAULT_MODEL, CostModel, cost_model_arg, merge_rule, product_rule

__all__ = [
    "InvalidOrderError",
    "validate_order",
    "Record",
    "ProductLookup",
    "product_lookup",
    "EliminationState",
    "ScalarBitsetState",
    "iter_bits",
    "is_scalar",
    "make_state",
    "SearchState",
    "eliminate_vertex",
    "EliminationResult",
    "eliminate_reference",
    "cost",
    "step_costs",
    "reachable_pairs",
    "max_edge_count",
    "vertex_cost_bounds",
    "cost_upper_bound",
]

Record = tuple[int, int, int, int, int]
"""``(type, o1, o2, p1, p2)``: type code, target shape (o1, o2), source shape (p1, p2)."""


class InvalidOrderError(ValueError):
    """An elimination order or action is not valid for the graph; the message says why."""


# ---------------------------------------------------------------------------------------------
# The one order validator
# ---------------------------------------------------------------------------------------------


def _check_graph(graph: Any) -> None:
    """The one "is this a Graph" check of the layer: a clear ``TypeError`` otherwise."""
    if not isinstance(graph, Graph):
        raise TypeError(f"expected a crosscountry_gym.Graph, got {type(graph).__name__}")


def validate_order(graph: Graph, order: Iterable[int], *, partial: bool = False) -> tuple[int, ...]:
    """Check ``order`` against ``graph`` and return it as a tuple of ints.

    A full order lists every eliminable (non-output) vertex exactly once; with ``partial=True``
    a prefix of one is allowed. Raises :class:`InvalidOrderError` (a ``ValueError``) naming the
    first problem: not a sequence (sets and dicts have no order), a non-integer, an unknown id,
    an output vertex, a duplicate, or missing vertices.
    """
    _check_graph(graph)
    if isinstance(order, set | frozenset | dict | str | bytes):
        raise InvalidOrderError(
            f"an order must be a sequence of vertex ids (a list or tuple), got a "
            f"{type(order).__name__}"
        )
    if hasattr(order, "ndim") and getattr(order, "ndim", 1) != 1:
        raise InvalidOrderError(
            f"an order must be one-dimensional, got an array of shape {getattr(order, 'shape', '?')}"
        )
    try:
        items = list(order)
    except TypeError:
        raise InvalidOrderError(f"an order must be a list of vertex ids, got {order!r}") from None
    if not partial and len(items) == graph.num_intermediates:
        if all(type(v) is int for v in items) and set(items) == _eliminable_set(graph):
            return tuple(items)  # a permutation of the eliminable ids: nothing more to check
    out: list[int] = []
    seen: dict[int, int] = {}
    outputs = set(graph.outputs)
    for pos, v in enumerate(items):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise InvalidOrderError(f"order[{pos}] = {v!r} is not an integer vertex id")
        v = int(v)
        if not 1 <= v <= graph.num_vertices:
            raise InvalidOrderError(
                f"order[{pos}] = {v} is not a vertex id of this graph "
                f"(valid ids 1..{graph.num_vertices})"
            )
        if v in outputs:
            raise InvalidOrderError(
                f"order[{pos}] = {v} is an output vertex; outputs are never eliminated"
            )
        if v in seen:
            raise InvalidOrderError(
                f"order[{pos}] = {v} repeats vertex {v} (first at position {seen[v]})"
            )
        seen[v] = pos
        out.append(v)
    if not partial and len(out) != graph.num_intermediates:
        missing = [v for v in graph.eliminable if v not in seen]
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise InvalidOrderError(
            f"order covers {len(out)} of {graph.num_intermediates} eliminable vertices; "
            f"missing: {shown}"
        )
    return tuple(out)


_K = TypeVar("_K")
_V = TypeVar("_V")


def _memo(cache: dict[_K, _V], key: _K, make: Callable[[], _V], limit: int = 64) -> _V:
    """A small per-graph memo (graphs are immutable and hashable)."""
    val = cache.get(key)
    if val is None:
        if len(cache) >= limit:
            cache.clear()
        val = cache[key] = make()
    return val


_ELIM_SETS: dict[Graph, frozenset[int]] = {}


def _eliminable_set(graph: Graph) -> frozenset[int]:
    return _memo(_ELIM_SETS, graph, lambda: frozenset(graph.eliminable))


# ---------------------------------------------------------------------------------------------
# Product and merge lookups (derived from the rules of sparsity.py, once per model)
# ---------------------------------------------------------------------------------------------


SizeFn = Callable[[int, int, int, int, int, int], int]


_SIZE_FNS: dict[tuple[int, ...], SizeFn] = {}
_INDEX_ARGS = ("t1", "t2", "v1", "v2", "s1", "s2")


def _size_fn(exponents: tuple[int, ...]) -> SizeFn:
    """The product of the index sizes a rule selects, as a function of (T1, T2, V1, V2, S1, S2).

    Generated as a positional lambda (one per exponent pattern, at most 64): it is called once
    per edge pair in the innermost loop, where a generic product over a tuple would cost 3x.
    The expression is built from the fixed argument names above, never from input.
    """
    fn = _SIZE_FNS.get(exponents)
    if fn is None:
        expr = "*".join(n for n, e in zip(_INDEX_ARGS, exponents, strict=True) if e) or "1"
        fn = _SIZE_FNS[exponents] = eval(f"lambda {', '.join(_INDEX_ARGS)}: {expr}")  # noqa: S307
    return fn


class ProductLookup:
    """Per-model lookups of the rules of :mod:`crosscountry_gym.sparsity`.

    * ``mul[tin][tout] = (size_fn or None, result type)``: the cost of multiplying an in-edge
      of type ``tin`` by an out-edge of type ``tout`` is ``size_fn(T1, T2, V1, V2, S1, S2)``
      (``None`` when the product is free: a structural factor);
    * ``unit_mul[tin][tout] = (0 or 1, result type)``: the same for all-ones shapes;
    * ``merge[existing][new]``: the type after accumulating a product into an edge;
    * ``absorbing[new]``: True if ``merge[existing][new] == new`` for every existing type.
    """

    def __init__(self, cost_model: CostModel):
        self.cost_model = cost_model
        self.mul: dict[int, dict[int, tuple[SizeFn | None, int]]] = {a: {} for a in CODES}
        self.unit_mul: dict[int, dict[int, tuple[int, int]]] = {a: {} for a in CODES}
        self.merge: dict[int, dict[int, int]] = {a: {} for a in CODES}
        # absorbing[p]: merging a product of type p into an edge of any type gives p, so the
        # product may overwrite the edge without looking at it
        self.absorbing: dict[int, bool] = {}
        for a in CODES:
            for b in CODES:
                self.merge[a][b] = merge_rule(a, b, cost_model)
                if a and b:
                    pr = product_rule(a, b, cost_model)
                    self.mul[a][b] = (_size_fn(pr.exponents) if pr.const else None, pr.result)
                    self.unit_mul[a][b] = (1 if pr.const else 0, pr.result)
        for b in CODES:
            self.absorbing[b] = all(self.merge[a][b] == b for a in CODES if a)

    def __reduce__(self) -> tuple[Any, ...]:  # lambdas do not pickle: rebuild from the model
        return (product_lookup, (self.cost_model,))


_LOOKUPS: dict[str, ProductLookup] = {}


def product_lookup(cost_model: CostModel = DEFAULT_MODEL) -> ProductLookup:
    """The shared :class:`ProductLookup` of ``cost_model`` (built once per process)."""
    lookup = _LOOKUPS.get(cost_model)
    if lookup is None:
        lookup = _LOOKUPS[cost_model] = ProductLookup(cost_model_arg(cost_model))
    return lookup


# ---------------------------------------------------------------------------------------------
# The reference state
# ---------------------------------------------------------------------------------------------

_UNIT_RECORDS: dict[int, Record] = {c: (c, 1, 1, 1, 1) for c in CODES}
_ADJACENCY: dict[Graph, tuple[dict, dict, bool]] = {}


def _adjacency(graph: Graph) -> tuple[dict[int, dict[int, Record]], dict[int, set[int]], bool]:
    """Initial (succ, pred) of a graph, keyed by row, and whether every record is all-ones.

    Memoised and never mutated: a new state copies the inner containers it will write to.
    """

    def build() -> tuple[dict, dict, bool]:
        ni = graph.num_inputs
        unit = all(e.out_shape == (1, 1) and e.in_shape == (1, 1) for e in graph.edges)
        succ: dict[int, dict[int, Record]] = {}
        pred: dict[int, set[int]] = {}
        for e in graph.edges:
            rec = _UNIT_RECORDS[e.type] if unit else (e.type, *e.out_shape, *e.in_shape)
            t = ni + e.target
            succ.setdefault(e.source, {})[t] = rec
            pred.setdefault(t, set()).add(e.source)
        return succ, pred, unit

    return _memo(_ADJACENCY, graph, build)


class EliminationState:
    """The elimination state of one graph, keyed by row.

    ``succ[row]`` maps target row -> record of the edge row -> target; ``pred[row]`` is the set
    of source rows with an edge into ``row`` (their records are ``succ[source][row]``: each
    record is stored once). Eliminated vertices have no entries. ``mask`` is the set of
    eliminated vertex ids as an ``int`` bit mask (bit v = vertex v).

    One step works per *distinct in-edge record* rather than per edge pair: the products of an
    in-edge with every out-edge, and their cost, depend only on the in-edge's record (its type
    and source shape), so they are computed once per distinct record and written into each
    source's successor dict with one ``dict.update``; only pairs that meet an existing edge are
    merged one by one. On scalar graphs, where a vertex's in-edges share one or two records,
    a step is then a few C-level dict and set operations per neighbour, like the textbook
    set-based eliminator (``benchmarks/engine_bench.py``).

    * :meth:`eliminate` applies one step and returns its multiplications;
    * :meth:`step_cost` prices a step without changing the state (greedy rules, beam search and
      branch-and-bound price many candidates and take few);
    * :meth:`copy` is copy-on-write: it duplicates the two outer dicts, and an inner dict is
      duplicated the first time a state writes to it (a state that was never copied owns all
      its containers and skips the bookkeeping), so one step after a copy costs
      O(|P| + |Q|) dict copies, not O(edges), and a search can keep a snapshot per position;
    * :meth:`key` is a hashable identity (same key = same remaining graph = same future costs);
    * :meth:`to_graph` is the remaining graph.

    ``SET_EXACT = False``: with typed edges the state after eliminating a set can depend on the
    order of that set (``docs/cost_model.md`` section 10.1), so searches compare :meth:`key`.
    """

    SET_EXACT = False
    __slots__ = ("graph", "cost_model", "ni", "succ", "pred", "mask", "_lookup", "_outputs",
                 "_nv", "_unit", "_own_s", "_own_p")

    def __init__(self, graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *,
                 model: CostModel | None = None):
        cost_model = cost_model_arg(cost_model, model)
        _check_graph(graph)
        self.graph = graph
        self.cost_model = cost_model
        self.ni = graph.num_inputs
        self._nv = graph.num_vertices
        self._lookup = product_lookup(cost_model)
        self._outputs = frozenset(graph.outputs)
        succ, pred, self._unit = _adjacency(graph)
        # A new state owns its containers (None = owns all: no copy-on-write checks per step,
        # which the env and cost() pay for nothing); copy() switches both sides to tracking.
        self.succ: dict[int, dict[int, Record]] = {r: d.copy() for r, d in succ.items()}
        self.pred: dict[int, set[int]] = {r: p.copy() for r, p in pred.items()}
        self._own_s: set[int] | None = None  # rows whose inner containers this state owns
        self._own_p: set[int] | None = None
        self.mask = 0

    @property
    def model(self) -> CostModel:
        """Deprecated name of :attr:`cost_model`."""
        return self.cost_model

    # -- snapshots -----------------------------------------------------------------------------

    def copy(self) -> EliminationState:
        """An independent copy (copy-on-write: O(rows) now, inner dicts copied on demand)."""
        new = object.__new__(EliminationState)
        new.graph, new.cost_model, new.ni, new._nv = self.graph, self.cost_model, self.ni, self._nv
        new._lookup, new._outputs, new._unit = self._lookup, self._outputs, self._unit
        new.succ = self.succ.copy()
        new.pred = self.pred.copy()
        new.mask = self.mask
        new._own_s, new._own_p = set(), set()
        self._own_s, self._own_p = set(), set()  # the inner dicts are shared from now on
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> EliminationState:
        return self.copy()

    def __getstate__(self) -> dict[str, Any]:
        return {"graph": self.graph, "cost_model": self.cost_model, "mask": self.mask,
                "succ": {r: dict(d) for r, d in self.succ.items()}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        EliminationState.__init__(self, state["graph"], state["cost_model"])
        self.mask = state["mask"]
        self.succ = {r: dict(d) for r, d in state["succ"].items()}
        pred: dict[int, set[int]] = {}
        for r, d in self.succ.items():
            for t in d:
                pred.setdefault(t, set()).add(r)
        self.pred = pred
        self._own_s = self._own_p = None  # freshly built: owns everything

    def key(self) -> tuple:
        """Hashable identity: the mask plus every remaining edge record."""
        return (self.mask, tuple(sorted((r, tuple(sorted(d.items()))) for r, d in self.succ.items())))

    def same_as(self, other: EliminationState) -> bool:
        """True if both states hold the same edges with the same records (same future costs)."""
        return self.mask == other.mask and self.succ == other.succ

    # -- queries -------------------------------------------------------------------------------

    def is_eliminable(self, vertex: int) -> bool:
        """True if ``vertex`` is a non-output vertex id not eliminated yet."""
        return (
            type(vertex) is int and 1 <= vertex <= self._nv and vertex not in self._outputs
            and not self.mask >> vertex & 1
        )

    def is_free(self, vertex: int) -> bool:
        """True if ``vertex`` has no in-edges or no out-edges now (eliminating it costs 0)."""
        row = self.ni + vertex
        return not self.pred.get(row) or not self.succ.get(row)

    def in_records(self, vertex: int) -> dict[int, Record]:
        """``{source row: record}`` of the in-edges of ``vertex`` now."""
        row = self.ni + vertex
        succ = self.succ
        return {r: succ[r][row] for r in self.pred.get(row, ())}

    def out_records(self, vertex: int) -> dict[int, Record]:
        """``{target row: record}`` of the out-edges of ``vertex`` now (a read-only view)."""
        return self.succ.get(self.ni + vertex, {})

    def step_cost(self, vertex: int) -> int:
        """Multiplications of eliminating ``vertex`` now; the state is not changed."""
        row = self.ni + vertex
        ins = self.pred.get(row)
        outs = self.succ.get(row)
        if not ins or not outs:
            return 0
        succ = self.succ
        groups: dict[Record, int] = {}
        for r in ins:
            rin = succ[r][row]
            groups[rin] = groups.get(rin, 0) + 1
        mul = self._lookup.mul
        total = 0
        for (tin, _, _, s1, s2), count in groups.items():
            mul_in = mul[tin]
            c = 0
            for tout, t1, t2, v1, v2 in outs.values():
                size_fn = mul_in[tout][0]
                if size_fn is not None:
                    c += size_fn(t1, t2, v1, v2, s1, s2)
            total += c * count
        return total

    # -- the step ------------------------------------------------------------------------------

    def eliminate(self, vertex: int) -> int:
        """Eliminate ``vertex`` and return the step's multiplications.

        Raises :class:`InvalidOrderError` if ``vertex`` is not an eliminable vertex now (an
        unknown id, an output, or already eliminated); the state is then unchanged.
        """
        if type(vertex) is not int:
            if isinstance(vertex, bool) or not isinstance(vertex, int | np.integer):
                raise InvalidOrderError(f"vertex {vertex!r} is not an integer vertex id")
            vertex = int(vertex)
        if not (1 <= vertex <= self._nv and vertex not in self._outputs and not self.mask >> vertex & 1):
            raise InvalidOrderError(f"vertex {vertex} cannot be eliminated now")
        return self._eliminate(vertex)

    def _eliminate(self, vertex: int) -> int:
        """The step without the legality check (callers validated the whole order)."""
        row = self.ni + vertex
        self.mask |= 1 << vertex
        succ, pred = self.succ, self.pred
        ins = pred.pop(row, None)
        outs = succ.pop(row, None)
        if outs:  # v's successors now read from v's predecessors instead of from v
            own_p = self._own_p
            if own_p is not None:
                fresh = outs.keys() - own_p
                if fresh:  # copy-on-write: first write to a shared set
                    for t in fresh:
                        pred[t] = pred[t].copy()
                    own_p |= fresh
            if ins:
                for t in outs:
                    p = pred[t]
                    p.discard(row)
                    p |= ins
            else:
                for t in outs:
                    pred[t].discard(row)
        if not ins:
            return 0
        own_s = self._own_s
        if own_s is not None:
            fresh = ins - own_s
            if fresh:
                for r in fresh:
                    succ[r] = succ[r].copy()
                own_s |= fresh
        if not outs:
            for r in ins:
                succ_r = succ[r]
                del succ_r[row]
                if not succ_r:
                    del succ[r]
            return 0
        lookup = self._lookup
        mul, unit_mul, merge, absorbing = lookup.mul, lookup.unit_mul, lookup.merge, lookup.absorbing
        unit = _UNIT_RECORDS if self._unit else None
        groups: dict[Record, tuple[dict[int, Record], int, bool]] = {}
        last: Record | None = None
        step = 0
        for r in ins:
            succ_r = succ[r]
            rin = succ_r.pop(row)
            if rin is not last:  # equal in-records share their products (shared on unit graphs)
                group = groups.get(rin)
                if group is None:
                    tin, _, _, s1, s2 = rin
                    mul_in = mul[tin]
                    products: dict[int, Record] = {}
                    c = 0
                    blind = True
                    if unit:  # all sizes 1: a valued product costs 1
                        unit_in = unit_mul[tin]
                        for t, rout in outs.items():
                            ci, ptype = unit_in[rout[0]]
                            c += ci
                            products[t] = unit[ptype]
                            blind = blind and absorbing[ptype]
                    else:
                        for t, (tout, t1, t2, v1, v2) in outs.items():
                            size_fn, ptype = mul_in[tout]
                            if size_fn is not None:
                                c += size_fn(t1, t2, v1, v2, s1, s2)
                            products[t] = (ptype, t1, t2, s1, s2)
                            blind = blind and absorbing[ptype]
                    group = groups[rin] = (products, c, blind)
                products, c, blind = group
                last = rin
            step += c
            if blind or succ_r.keys().isdisjoint(products):
                succ_r.update(products)  # no merge can change these types: write them as is
            else:  # accumulate into existing edges r -> t (additions are free)
                for t, new in products.items():
                    old = succ_r.get(t)
                    if old is not None:
                        m = merge[old[0]][new[0]]
                        if m != new[0]:
                            new = unit[m] if unit else (m, *new[1:])
                    succ_r[t] = new
        return step

    # -- back to a Graph -----------------------------------------------------------------------

    def to_graph(self) -> Graph:
        """The remaining graph (eliminated vertices stay as isolated ids)."""
        ni = self.ni
        edges = [
            Edge(r, t - ni, rec[0], (rec[1], rec[2]), (rec[3], rec[4]))
            for r, targets in self.succ.items()
            for t, rec in targets.items()
        ]
        g = self.graph
        return Graph(g.num_inputs, g.num_vertices, tuple(sorted(edges)), g.outputs, g.name)


# ---------------------------------------------------------------------------------------------
# Fast path: bitset state of scalar dense/copy graphs
# ---------------------------------------------------------------------------------------------


def iter_bits(mask: int) -> Iterator[int]:
    """The positions of the set bits of ``mask``, lowest first (bit masks of rows or vertices)."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def is_scalar(graph: Graph) -> bool:
    """True if every edge has type 1 (dense) or -1 (copy) and shapes (1, 1).

    On such graphs both cost models coincide (no deviation touches types 1 and -1) and the state
    after eliminating a set does not depend on the order of the set (``docs/cost_model.md``
    section 10.1): types {1, -1} are closed under product and merge.
    """
    return all(
        e.type in (1, -1) and e.out_shape == (1, 1) and e.in_shape == (1, 1) for e in graph.edges
    )


class ScalarBitsetState:
    """Fast path of :class:`EliminationState` for :func:`is_scalar` graphs, as bit masks.

    Per row: ``allp``/``alls`` = all predecessor/successor rows, ``valp``/``vals`` = those joined
    by a valued (type 1) edge. Eliminating v joins every predecessor a to every successor t; the
    new edge is valued iff a -> v or v -> t is valued, or a -> t already was (merge(-1, 1) = 1),
    and the step costs |valp(v)| * |vals(v)| because a product with a copy is free
    (``docs/cost_model.md`` section 4.2). ``SET_EXACT = True``: :meth:`key` is the mask alone.
    """

    SET_EXACT = True
    __slots__ = ("graph", "cost_model", "ni", "allp", "alls", "valp", "vals", "mask", "_elim")

    def __init__(self, graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *,
                 model: CostModel | None = None):
        self.cost_model = cost_model_arg(cost_model, model)
        self.graph = graph
        self.ni = ni = graph.num_inputs
        self.mask = 0
        out = set(graph.outputs)
        self._elim = sum(1 << v for v in range(1, graph.num_vertices + 1) if v not in out)
        n = graph.num_rows + 1
        self.allp = [0] * n
        self.alls = [0] * n
        self.valp = [0] * n
        self.vals = [0] * n
        for e in graph.edges:
            if e.type not in (1, -1) or e.out_shape != (1, 1) or e.in_shape != (1, 1):
                raise ValueError(
                    f"ScalarBitsetState needs edges of type 1 or -1 with shape (1, 1); edge "
                    f"{e.record} is not (use EliminationState)"
                )
            s, t = e.source, ni + e.target
            self.allp[t] |= 1 << s
            self.alls[s] |= 1 << t
            if e.type == 1:
                self.valp[t] |= 1 << s
                self.vals[s] |= 1 << t

    @property
    def model(self) -> CostModel:
        """Deprecated name of :attr:`cost_model`."""
        return self.cost_model

    def copy(self) -> ScalarBitsetState:
        new = object.__new__(ScalarBitsetState)
        new.graph, new.cost_model, new.ni, new._elim = self.graph, self.cost_model, self.ni, self._elim
        new.allp = self.allp.copy()
        new.alls = self.alls.copy()
        new.valp = self.valp.copy()
        new.vals = self.vals.copy()
        new.mask = self.mask
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> ScalarBitsetState:
        return self.copy()

    def same_as(self, other: ScalarBitsetState) -> bool:
        return self.mask == other.mask and self.alls == other.alls and self.vals == other.vals

    def key(self) -> int:
        return self.mask

    def is_eliminable(self, vertex: int) -> bool:
        return type(vertex) is int and vertex > 0 and bool(self._elim >> vertex & 1) and not (
            self.mask >> vertex & 1
        )

    def is_free(self, vertex: int) -> bool:
        row = self.ni + vertex
        return not self.allp[row] or not self.alls[row]

    def step_cost(self, vertex: int) -> int:
        row = self.ni + vertex
        return self.valp[row].bit_count() * self.vals[row].bit_count()

    def eliminate(self, vertex: int) -> int:
        if vertex < 1 or not (self._elim >> vertex & 1) or self.mask >> vertex & 1:
            raise InvalidOrderError(f"vertex {vertex} cannot be eliminated now")
        row = self.ni + vertex
        nbit = ~(1 << row)
        allp, alls, valp, vals = self.allp, self.alls, self.valp, self.vals
        P, Q, VP, VQ = allp[row], alls[row], valp[row], vals[row]
        step = VP.bit_count() * VQ.bit_count()
        m = P
        while m:
            low = m & -m
            a = low.bit_length() - 1
            m ^= low
            alls[a] = (alls[a] & nbit) | Q
            vals[a] = (vals[a] & nbit) | (Q if VP & low else VQ)
        m = Q
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            allp[t] = (allp[t] & nbit) | P
            valp[t] = (valp[t] & nbit) | (P if VQ & low else VP)
        allp[row] = alls[row] = valp[row] = vals[row] = 0
        self.mask |= 1 << vertex
        return step

    def to_graph(self) -> Graph:
        """The remaining graph (all edges scalar, type 1 or -1)."""
        ni = self.ni
        edges = []
        for s, m in enumerate(self.alls):
            val = self.vals[s]
            for t in iter_bits(m):
                edges.append(Edge(s, t - ni, 1 if val >> t & 1 else -1, (1, 1), (1, 1)))
        g = self.graph
        return Graph(g.num_inputs, g.num_vertices, tuple(sorted(edges)), g.outputs, g.name)


SearchState = EliminationState | ScalarBitsetState
"""Either state: both offer eliminate, step_cost, is_free, copy, key, same_as and to_graph."""


def make_state(
    graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *, kind: str = "auto",
    model: CostModel | None = None,
) -> EliminationState | ScalarBitsetState:
    """The fastest exact state for ``graph``: :class:`ScalarBitsetState` if :func:`is_scalar`,
    else :class:`EliminationState`; ``kind="typed"`` or ``"scalar"`` forces one."""
    cost_model = cost_model_arg(cost_model, model)
    if kind not in ("auto", "typed", "scalar"):
        raise ValueError(f"unknown state kind {kind!r}; use 'auto', 'typed' or 'scalar'")
    if kind == "scalar" or (kind == "auto" and is_scalar(graph)):
        return ScalarBitsetState(graph, cost_model)
    return EliminationState(graph, cost_model)


# ---------------------------------------------------------------------------------------------
# The skeleton with pluggable arithmetic (the executor's)
# ---------------------------------------------------------------------------------------------

E = TypeVar("E")


def eliminate_vertex(
    succ: MutableMapping[int, dict[int, E]],
    pred: MutableMapping[int, dict[int, E]],
    row: int,
    product: Callable[[E, E], tuple[E, int]],
    merge: Callable[[E | None, E], E],
) -> int:
    """One elimination step over row-keyed adjacency dicts of arbitrary edge objects.

    ``product(e_in, e_out) -> (edge, multiplications)`` and ``merge(existing or None, new)`` are
    the arithmetic: records here would give :meth:`EliminationState.eliminate`; the executor
    passes JAX partials. Mutates ``succ``/``pred`` in place (no copy-on-write: the executor
    traces once) and returns the multiplications booked.
    """
    ins = pred.pop(row, {})
    outs = succ.pop(row, {})
    total = 0
    for r, e_in in ins.items():
        succ_r = succ[r]
        del succ_r[row]
        for t, e_out in outs.items():
            new, mults = product(e_in, e_out)
            total += mults
            merged = merge(succ_r.get(t), new)
            succ_r[t] = merged
            pred[t][r] = merged
        if not succ_r:
            del succ[r]
    for t in outs:
        del pred[t][row]
    return total


# ---------------------------------------------------------------------------------------------
# cost() on top
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EliminationResult:
    """Per-step costs of an order and the graph left after it."""

    order: tuple[int, ...]
    step_costs: tuple[int, ...]
    final: Graph

    @property
    def total(self) -> int:
        return sum(self.step_costs)


def eliminate_reference(
    graph: Graph, order: Sequence[int], cost_model: CostModel = DEFAULT_MODEL, *,
    partial: bool = False, model: CostModel | None = None,
) -> EliminationResult:
    """Eliminate ``order`` from ``graph``: per-step costs and the final graph."""
    cost_model = cost_model_arg(cost_model, model)
    order = validate_order(graph, order, partial=partial)  # also refuses a non-Graph
    st = EliminationState(graph, cost_model)
    costs = tuple(st._eliminate(v) for v in order)
    return EliminationResult(order, costs, st.to_graph())


def step_costs(
    graph: Graph, order: Sequence[int], cost_model: CostModel = DEFAULT_MODEL, *,
    model: CostModel | None = None,
) -> tuple[int, ...]:
    """Multiplications of each step of a full ``order``."""
    return eliminate_reference(graph, order, cost_model_arg(cost_model, model)).step_costs


_DENSE_SCALAR: dict[Graph, tuple[tuple[dict[int, set[int]], dict[int, set[int]]] | None]] = {}


def _dense_scalar_sets(graph: Graph) -> tuple[dict[int, set[int]], dict[int, set[int]]] | None:
    """(succ, pred) row sets if every edge is dense (type 1) with shapes (1, 1), else None;
    derived once per graph from the engine's memoised adjacency."""

    def build() -> tuple[tuple[dict[int, set[int]], dict[int, set[int]]] | None]:
        succ, pred, unit = _adjacency(graph)
        if not unit or any(rec[0] != 1 for d in succ.values() for rec in d.values()):
            return (None,)
        return (({r: set(d) for r, d in succ.items()}, pred),)

    return _memo(_DENSE_SCALAR, graph, build)[0]


def _dense_scalar_cost(graph: Graph, order: Sequence[int], sets: tuple[dict, dict]) -> int:
    """Fast path of :func:`cost` for graphs whose edges are all dense scalars (type 1, shape
    (1, 1)), as in scalar code such as RoeFlux: every product then costs 1 and is dense, every
    merge stays dense and no paper deviation applies, so a step costs |P(v)| * |Q(v)| and only
    the neighbour sets matter (the textbook Markowitz count, Griewank & Walther ch. 9). Tested
    against :class:`EliminationState` on every such task and on random graphs."""
    succ0, pred0 = sets
    succ = {r: s.copy() for r, s in succ0.items()}
    pred = {r: s.copy() for r, s in pred0.items()}
    ni = graph.num_inputs
    total = 0
    for v in order:
        row = ni + v
        ins = pred.pop(row, None)
        outs = succ.pop(row, None)
        if not ins or not outs:
            if ins:
                for r in ins:
                    s = succ[r]
                    s.discard(row)
            if outs:
                for t in outs:
                    pred[t].discard(row)
            continue
        total += len(ins) * len(outs)
        for r in ins:
            s = succ[r]
            s.discard(row)
            s |= outs
        for t in outs:
            s = pred[t]
            s.discard(row)
            s |= ins
    return total


def cost(
    graph: Graph, order: Sequence[int], cost_model: CostModel = DEFAULT_MODEL, *,
    model: CostModel | None = None,
) -> int:
    """Total multiplications of eliminating a full ``order`` of ``graph``.

    ``cost_model="exact"`` (default) is the consistent index-tie rule; ``"alphagrad"`` adds the
    paper's table deviations and reproduces the published numbers (``docs/cost_model.md``).
    ``model=`` is the deprecated name of ``cost_model``. Raises :class:`InvalidOrderError` (a
    ``ValueError``) for an invalid order, ``ValueError`` for an unknown model and ``TypeError``
    when ``graph`` is not a :class:`~crosscountry_gym.Graph`.
    """
    cost_model = cost_model_arg(cost_model, model)
    order = validate_order(graph, order)  # also refuses a non-Graph
    sets = _dense_scalar_sets(graph)
    if sets is not None:
        return _dense_scalar_cost(graph, order, sets)
    st = EliminationState(graph, cost_model)
    return sum(map(st._eliminate, order))


# ---------------------------------------------------------------------------------------------
# Reachability: the most edges a graph can ever hold and an upper bound on the cost of any order
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reach:
    """Path reachability of one graph (``docs/cost_model.md`` section 3: an edge r -> t exists
    in some state only if the original graph has a path r -> ... -> t, since elimination
    joins r -> v and v -> t into r -> t).

    ``ancestors[k]``: bit set over source rows (bit r) of the rows with a path to vertex k;
    ``descendants[k]``: bit set over vertex ids (bit t) of the vertices with a path from vertex k;
    ``src_size[r]``: the largest ``d1 * d2`` of the in-shapes recorded on the edges leaving row r;
    ``tgt_size[t]``: the largest ``d1 * d2`` of the out-shapes recorded on the edges entering t.
    Index 0 of every list is unused (rows and vertices are 1-based).
    """

    ancestors: tuple[int, ...]
    descendants: tuple[int, ...]
    src_size: tuple[int, ...]
    tgt_size: tuple[int, ...]


_REACH: dict[Graph, _Reach] = {}


def _reach(graph: Graph) -> _Reach:
    def build() -> _Reach:
        ni, nv = graph.num_inputs, graph.num_vertices
        preds: list[list[int]] = [[] for _ in range(nv + 1)]
        succs: list[list[int]] = [[] for _ in range(nv + 1)]
        indeg = [0] * (nv + 1)
        src_size = [1] * (graph.num_rows + 1)
        tgt_size = [1] * (nv + 1)
        for e in graph.edges:
            preds[e.target].append(e.source)
            src_size[e.source] = max(src_size[e.source], e.in_shape[0] * e.in_shape[1])
            tgt_size[e.target] = max(tgt_size[e.target], e.out_shape[0] * e.out_shape[1])
            if e.source > ni:
                succs[e.source - ni].append(e.target)
                indeg[e.target] += 1
        # Kahn's algorithm over the vertices: ids need not be a topological order
        topo = [k for k in range(1, nv + 1) if not indeg[k]]
        for k in topo:  # appending while iterating visits every vertex once
            for t in succs[k]:
                indeg[t] -= 1
                if not indeg[t]:
                    topo.append(t)
        anc = [0] * (nv + 1)
        for k in topo:
            m = 0
            for r in preds[k]:
                m |= 1 << r
                if r > ni:
                    m |= anc[r - ni]
            anc[k] = m
        desc = [0] * (nv + 1)
        for k in reversed(topo):
            m = 0
            for t in succs[k]:
                m |= (1 << t) | desc[t]
            desc[k] = m
        return _Reach(tuple(anc), tuple(desc), tuple(src_size), tuple(tgt_size))

    return _memo(_REACH, graph, build)


def reachable_pairs(graph: Graph) -> tuple[tuple[int, int], ...]:
    """Every ``(source row, target vertex)`` joined by a path in ``graph``, sorted.

    These are the only pairs that can ever hold an edge: elimination joins r -> v and v -> t
    into r -> t, so every edge of every state stands for a path of the original graph
    (``docs/cost_model.md`` section 3). Rows and vertices are numbered as in
    :class:`~crosscountry_gym.graph.Graph` (row ``num_inputs + k`` is vertex k).
    """
    _check_graph(graph)
    anc = _reach(graph).ancestors
    return tuple(sorted((r, k) for k in range(1, graph.num_vertices + 1) for r in iter_bits(anc[k])))


def max_edge_count(graph: Graph) -> int:
    """The most edges any elimination state of ``graph`` can hold: ``len(reachable_pairs(graph))``
    (the number of (row, vertex) pairs joined by a path), computed from bit sets."""
    _check_graph(graph)
    anc = _reach(graph).ancestors
    return sum(m.bit_count() for m in anc)


def vertex_cost_bounds(graph: Graph) -> tuple[int, ...]:
    """Upper bound on the multiplications of eliminating each vertex, in any state of any order:
    entry ``k - 1`` is the bound for vertex k.

    Eliminating v multiplies each in-edge r -> v by each out-edge v -> t once. In both cost
    models a product costs 0 or the product of a subset of the six index sizes (T1, T2, V1, V2,
    S1, S2) of its two records (``docs/cost_model.md`` sections 4 and 8; every size is >= 1), so
    at most ``size(t) * size(v) * size(r)``. An in-edge r -> v can only come from a row r with a
    path to v, an out-edge only go to a vertex t with a path from v, and the records of new edges
    copy the shapes of existing ones, so with ``size`` the largest recorded ``d1 * d2`` of a row
    (as a source) or a vertex (as a target)::

        bound(v) = size(v) * sum_{r -> ... -> v} size(r) * sum_{v -> ... -> t} size(t)
    """
    _check_graph(graph)
    reach = _reach(graph)
    ni, src, tgt = graph.num_inputs, reach.src_size, reach.tgt_size
    out = []
    for k in range(1, graph.num_vertices + 1):
        ins = sum(src[r] for r in iter_bits(reach.ancestors[k]))
        outs = sum(tgt[t] for t in iter_bits(reach.descendants[k]))
        out.append(src[ni + k] * ins * outs)
    return tuple(out)


def cost_upper_bound(graph: Graph) -> int:
    """An upper bound U on the cost of every full elimination order of ``graph``, in both cost
    models: the sum of :func:`vertex_cost_bounds` over the eliminable vertices.

    ``U + 1`` multiplications is therefore a penalty that no finished episode can match
    (``docs/envs.md``, invalid-action mode "terminate")."""
    bounds = vertex_cost_bounds(graph)
    return sum(bounds[k - 1] for k in graph.eliminable)


