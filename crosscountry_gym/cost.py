"""NumPy reference elimination and ``cost(graph, order, model)``: the single source of truth.

This is the oracle the JAX core (:mod:`crosscountry_gym.core`), the environments, the search
baselines and the executor are tested against. It follows ``cost_model.md`` section 3 literally:
edges keep their own shape records, and each step multiplies every in-edge of the eliminated
vertex with every out-edge, merging into existing edges for free.

The graph is held as adjacency dicts so that one step costs O(|P| * |Q|) Python operations:
a full RoeFlux_1d order takes well under a millisecond (see ``BENCHMARKS.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .graph import Edge, Graph
from .sparsity import CODES, CostModel, merge_rule, product_rule

__all__ = ["cost", "step_costs", "validate_order", "EliminationResult", "eliminate_reference",
           "ReferenceState", "InvalidOrderError"]


class InvalidOrderError(ValueError):
    """An elimination order or action is not valid for the graph; the message says why."""


def validate_order(graph: Graph, order: Iterable[int], *, partial: bool = False) -> tuple[int, ...]:
    """Check ``order`` and return it as a tuple of ints.

    A full order lists every eliminable (non-output) vertex exactly once. With ``partial=True``
    a prefix is allowed. Raises :class:`InvalidOrderError` (a ``ValueError``) naming the first
    problem: a non-integer, an unknown id, an output vertex, a duplicate, or missing vertices.
    """
    try:
        items = list(order)
    except TypeError:
        raise InvalidOrderError(f"an order must be a list of vertex ids, got {order!r}") from None
    if not partial and len(items) == graph.num_intermediates:
        fast = _eliminable_set(graph)
        if all(type(v) is int for v in items) and set(items) == fast:
            return tuple(items)  # a permutation of the eliminable ids: nothing more to check
    out: list[int] = []
    seen: set[int] = set()
    outputs = set(graph.outputs)
    for pos, v in enumerate(items):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise InvalidOrderError(f"order[{pos}] = {v!r} is not an integer vertex id")
        v = int(v)
        if not 1 <= v <= graph.num_vertices:
            raise InvalidOrderError(
                f"order[{pos}] = {v} is not a vertex id of this graph (valid ids 1..{graph.num_vertices})"
            )
        if v in outputs:
            raise InvalidOrderError(f"order[{pos}] = {v} is an output vertex; outputs are never eliminated")
        if v in seen:
            first = out.index(v)
            raise InvalidOrderError(f"order[{pos}] = {v} repeats vertex {v} (first at position {first})")
        seen.add(v)
        out.append(v)
    if not partial and len(out) != graph.num_intermediates:
        missing = [v for v in graph.eliminable if v not in seen]
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise InvalidOrderError(
            f"order covers {len(out)} of {graph.num_intermediates} eliminable vertices; "
            f"missing: {shown}"
        )
    return tuple(out)


_ELIM_SETS: dict[Graph, frozenset[int]] = {}


def _eliminable_set(graph: Graph) -> frozenset[int]:
    s = _ELIM_SETS.get(graph)
    if s is None:
        if len(_ELIM_SETS) > 64:
            _ELIM_SETS.clear()
        s = _ELIM_SETS[graph] = frozenset(graph.eliminable)
    return s


class _ProductCache:
    """Per-model lookups: ``mul[tin][tout] = (cost_fn or None, result type)`` and
    ``merge[existing][new]``. ``cost_fn(t1, t2, v1, v2, s1, s2)`` is the product of the sizes
    the rule selects; None when the product is free (const 0)."""

    def __init__(self, model: CostModel):
        self.mul: dict[int, dict[int, tuple]] = {a: {} for a in CODES}
        self.merge: dict[int, dict[int, int]] = {a: {} for a in CODES}
        for a in CODES:
            for b in CODES:
                self.merge[a][b] = merge_rule(a, b, model)
                if a and b:
                    pr = product_rule(a, b, model)
                    self.mul[a][b] = (_size_product(pr.exponents) if pr.const else None, pr.result)


_SIZE_FNS: dict[tuple[int, ...], Callable[..., int]] = {}


def _size_product(exponents: tuple[int, ...]) -> Callable[..., int]:
    """A function of the six sizes (T1, T2, V1, V2, S1, S2) returning the selected product."""
    if exponents not in _SIZE_FNS:
        names = ("t1", "t2", "v1", "v2", "s1", "s2")
        expr = "*".join(n for n, e in zip(names, exponents, strict=True) if e) or "1"
        _SIZE_FNS[exponents] = eval(f"lambda t1, t2, v1, v2, s1, s2: {expr}")  # noqa: S307
    return _SIZE_FNS[exponents]


_CACHES: dict[str, _ProductCache] = {}


def product_lookup(model: CostModel) -> _ProductCache:
    """The per-model product and merge lookups shared by every Python-side eliminator:
    ``.mul[tin][tout] = (size_fn or None, result type)``, ``.merge[existing][new]``."""
    return _cache(model)


def _cache(model: CostModel) -> _ProductCache:
    if model not in _CACHES:
        _CACHES[model] = _ProductCache(model)
    return _CACHES[model]


Record = tuple[int, int, int, int, int]  # (type, o1, o2, p1, p2)


class ReferenceState:
    """Mutable elimination state over adjacency dicts (source row -> target vertex).

    ``succ[row]`` maps target vertex -> record; ``pred[vertex]`` maps source row -> the same
    record. Use :meth:`eliminate` for one step; :meth:`to_graph` for the current graph.
    """

    def __init__(self, graph: Graph, model: CostModel = "exact"):
        self.graph = graph
        self.model = model
        self._c = _cache(model)
        succ0, pred0, self._unit = _adjacency(graph)
        self.succ: dict[int, dict[int, Record]] = {r: d.copy() for r, d in succ0.items()}
        self.pred: dict[int, dict[int, Record]] = {v: d.copy() for v, d in pred0.items()}
        self.eliminated: list[int] = []
        self._done: set[int] = set()
        self._outputs = frozenset(graph.outputs)

    def eliminate(self, vertex: int) -> int:
        """Eliminate ``vertex`` and return the step's multiplications (section 3 of the spec):
        every in-edge r->v times every out-edge v->t, merged into r->t; then v's edges go."""
        if vertex in self._outputs or vertex in self._done or not 1 <= vertex <= self.graph.num_vertices:
            raise InvalidOrderError(f"vertex {vertex} cannot be eliminated now")
        row = self.graph.num_inputs + vertex
        ins = self.pred.pop(vertex, None) or {}
        outs = self.succ.pop(row, None) or {}
        pred, succ = self.pred, self.succ
        step = 0
        if outs and self._unit:
            # All records are (1, 1, 1, 1) (scalar graphs, which stay scalar): every valued
            # product costs exactly 1 and the records are the shared per-type tuples.
            mul, merge, unit = self._c.mul, self._c.merge, _UNIT_RECORDS
            out_items_unit = [(t, rec[0], pred[t]) for t, rec in outs.items()]
            for r, rin in ins.items():
                succ_r = succ[r]
                mul_in = mul[rin[0]]
                for t, tout, pred_t in out_items_unit:
                    size_fn, ptype = mul_in[tout]
                    if size_fn is not None:
                        step += 1
                    old = succ_r.get(t)
                    rec = unit[merge[old[0]][ptype]] if old else unit[ptype]
                    succ_r[t] = rec
                    pred_t[r] = rec
            for _, _, pred_t in out_items_unit:
                del pred_t[row]
        elif outs:
            mul, merge = self._c.mul, self._c.merge
            out_items = [(t, rec, pred[t]) for t, rec in outs.items()]
            for r, (tin, _, _, s1, s2) in ins.items():
                succ_r = succ[r]
                mul_in = mul[tin]
                for t, (tout, t1, t2, v1, v2), pred_t in out_items:
                    size_fn, ptype = mul_in[tout]
                    if size_fn is not None:
                        step += size_fn(t1, t2, v1, v2, s1, s2)
                    old = succ_r.get(t)
                    rec = (merge[old[0]][ptype] if old else ptype, t1, t2, s1, s2)
                    succ_r[t] = rec
                    pred_t[r] = rec
            for _, _, pred_t in out_items:
                del pred_t[row]
        for r in ins:
            succ_r = succ[r]
            del succ_r[vertex]
            if not succ_r:
                del succ[r]
        self._done.add(vertex)
        self.eliminated.append(vertex)
        return step

    def to_graph(self) -> Graph:
        """The current graph (eliminated vertices stay as isolated ids)."""
        edges = [
            Edge(r, t, rec[0], (rec[1], rec[2]), (rec[3], rec[4]))
            for r, targets in self.succ.items()
            for t, rec in targets.items()
        ]
        g = self.graph
        return Graph(g.num_inputs, g.num_vertices, tuple(sorted(edges)), g.outputs, g.name)


_ADJ_CACHE: dict[Graph, tuple[dict, dict, bool]] = {}
_UNIT_RECORDS: dict[int, Record] = {c: (c, 1, 1, 1, 1) for c in CODES}


def _adjacency(
    graph: Graph,
) -> tuple[dict[int, dict[int, Record]], dict[int, dict[int, Record]], bool]:
    """Initial (succ, pred) dicts of a graph and whether every record is all-ones, memoised
    (graphs are immutable; a small cache)."""
    adj = _ADJ_CACHE.get(graph)
    if adj is None:
        succ: dict[int, dict[int, Record]] = {}
        pred: dict[int, dict[int, Record]] = {}
        unit = all(e.out_shape == (1, 1) and e.in_shape == (1, 1) for e in graph.edges)
        for e in graph.edges:
            rec = _UNIT_RECORDS[e.type] if unit else (e.type, *e.out_shape, *e.in_shape)
            succ.setdefault(e.source, {})[e.target] = rec
            pred.setdefault(e.target, {})[e.source] = rec
        if len(_ADJ_CACHE) > 64:
            _ADJ_CACHE.clear()
        adj = _ADJ_CACHE[graph] = (succ, pred, unit)
    return adj


@dataclass(frozen=True)
class EliminationResult:
    order: tuple[int, ...]
    step_costs: tuple[int, ...]
    final: Graph

    @property
    def total(self) -> int:
        return sum(self.step_costs)


def eliminate_reference(
    graph: Graph, order: Sequence[int], model: CostModel = "exact", *, partial: bool = False
) -> EliminationResult:
    """Eliminate ``order`` from ``graph``; per-step costs and the final graph."""
    order = validate_order(graph, order, partial=partial)
    st = ReferenceState(graph, model)
    costs = tuple(st.eliminate(v) for v in order)
    return EliminationResult(order, costs, st.to_graph())


def step_costs(graph: Graph, order: Sequence[int], model: CostModel = "exact") -> tuple[int, ...]:
    """Multiplications of each step of a full ``order``."""
    return eliminate_reference(graph, order, model).step_costs


def cost(graph: Graph, order: Sequence[int], model: CostModel = "exact") -> int:
    """Total multiplications of eliminating a full ``order`` (a valid permutation).

    ``model="exact"`` is the consistent index-tie rule; ``model="alphagrad"`` adds the paper's
    table deviations and reproduces the published numbers. Raises ``ValueError`` for an invalid
    order or unknown model.
    """
    if model not in ("exact", "alphagrad"):
        raise ValueError(f"unknown cost model {model!r}; use 'exact' or 'alphagrad'")
    order = validate_order(graph, order)
    st = ReferenceState(graph, model)
    return sum(st.eliminate(v) for v in order)
