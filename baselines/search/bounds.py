"""Provable lower bounds on the optimal elimination cost, and ``optimality_gap``.

The bound (proof in ``docs/search.md``, "Lower bounds") is a sum over the vertices still to be
eliminated of ``kappa_in(v) * kappa_out(v)``:

* an edge type is **sure** if it is not in {-1, -6, -7, 11, 10, -10}. A product of two sure edges
  costs at least 1 in both cost models, and any product or merge with a sure operand on the
  side of v yields a sure edge (both facts are checked over all type pairs in
  ``tests/search/test_search_bounds.py``). So, whatever was eliminated before v, every edge a -> v of
  the current graph that continues an original *sure* in-edge of v is sure, and likewise on
  the out-side;
* when v is eliminated, its current sure in-neighbours form a vertex cut between the inputs
  and v in the graph without v's non-sure in-edges (every such path, followed backwards from
  v, leaves the eliminated set at a vertex joined to v by a sure edge). By Menger, that cut has
  at least ``kappa_in(v)`` vertices, the number of input-to-v paths that are vertex-disjoint
  except at v. Symmetrically for the sure out-neighbours and the outputs;
* each (sure in, sure out) pair costs >= 1, so eliminating v costs >= kappa_in * kappa_out.

On scalar graphs (types 1 and -1 only) "sure" means "valued" and the bound is the classical
min-cut bound of vertex elimination. Applied to an intermediate state (the graph after a set
was eliminated) it bounds the cost of finishing from there; it never decreases along an order
(a vertex cut in the later graph is one in the earlier graph), which makes it a consistent A*
heuristic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crosscountry_gym.engine import ScalarBitsetState, SearchState, iter_bits, make_state
from crosscountry_gym.engine import cost as reference_cost
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

__all__ = [
    "SURE_TYPES",
    "NON_SURE_TYPES",
    "vertex_lower_bounds",
    "lower_bound",
    "GapReport",
    "optimality_gap",
]

NON_SURE_TYPES = frozenset({0, -1, -6, -7, 11, 10, -10})
"""Types whose products can be free (copy, structural, undefined, the paper's +-10 pairs)."""
SURE_TYPES = frozenset(range(-10, 12)) - NON_SURE_TYPES
"""Types such that a product of two of them costs >= 1 in both models (see module doc)."""

Adjacency = dict[int, dict[int, bool]]  # row -> neighbour row -> edge is sure


def _adjacency(state: SearchState) -> tuple[Adjacency, Adjacency]:
    """(succ, pred) of the current graph, each edge flagged sure / not sure."""
    succ: Adjacency = {}
    pred: Adjacency = {}
    if isinstance(state, ScalarBitsetState):
        for r, m in enumerate(state.alls):
            val = state.vals[r]
            for t in iter_bits(m):
                sure = bool(val >> t & 1)
                succ.setdefault(r, {})[t] = sure
                pred.setdefault(t, {})[r] = sure
        return succ, pred
    for r, d in state.succ.items():
        for t, rec in d.items():
            sure = rec[0] not in NON_SURE_TYPES
            succ.setdefault(r, {})[t] = sure
            pred.setdefault(t, {})[r] = sure
    return succ, pred


def _disjoint_paths(starts: Iterable[int], nbrs: Adjacency, sinks: set[int]) -> int:
    """Maximum number of vertex-disjoint paths from ``starts`` to ``sinks`` along ``nbrs``.

    Every vertex (starts and sinks included) has capacity 1; a path ends at the first sink it
    reaches. Equals (Menger) the minimum number of vertices that meet every such path.
    Edmonds-Karp on the split graph; the answer is small (<= len(starts)), so this is a
    handful of BFS passes over the reachable part.
    """
    starts = list(starts)
    if not starts:
        return 0
    # reachable part, not expanding past sinks
    seen = set(starts)
    queue = deque(starts)
    while queue:
        u = queue.popleft()
        if u in sinks:
            continue
        for w in nbrs.get(u, ()):
            if w not in seen:
                seen.add(w)
                queue.append(w)
    if not seen & sinks:
        return 0
    # split graph: node ("i", u) -> ("o", u) capacity 1; SRC = 0, SNK = 1; in(u) = 2u+2, out = 2u+3
    cap: dict[int, dict[int, int]] = {0: {}, 1: {}}

    def add(a: int, b: int) -> None:
        cap.setdefault(a, {})[b] = 1
        cap.setdefault(b, {}).setdefault(a, 0)

    for s in starts:
        add(0, 2 * s + 2)
    for u in seen:
        add(2 * u + 2, 2 * u + 3)
        if u in sinks:
            add(2 * u + 3, 1)
        else:
            for w in nbrs.get(u, ()):
                if w in seen:
                    add(2 * u + 3, 2 * w + 2)
    flow = 0
    while True:
        parent = {0: -1}
        queue = deque([0])
        while queue and 1 not in parent:
            a = queue.popleft()
            for b, c in cap[a].items():
                if c > 0 and b not in parent:
                    parent[b] = a
                    queue.append(b)
        if 1 not in parent:
            return flow
        b = 1
        while b != 0:
            a = parent[b]
            cap[a][b] -= 1
            cap[b][a] += 1
            b = a
        flow += 1


def vertex_lower_bounds(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    state: SearchState | None = None,
    model: CostModel | None = None,
) -> dict[int, int]:
    """Per-vertex lower bound ``kappa_in(v) * kappa_out(v)`` on the cost of eliminating v,
    valid whenever v is eliminated after the state ``state`` (default: the initial graph) in
    ``cost_model`` (``model=`` is a deprecated alias).

    Returns ``{vertex: bound}`` for the vertices not yet eliminated.
    """
    cost_model = cost_model_arg(cost_model, model)
    if state is None:
        state = make_state(graph, cost_model)
    succ, pred = _adjacency(state)
    ni = graph.num_inputs
    inputs = set(range(1, ni + 1))
    outputs = {ni + y for y in graph.outputs}
    out: dict[int, int] = {}
    for v in graph.eliminable:
        if state.mask >> v & 1:
            continue
        row = ni + v
        sure_in = [a for a, s in pred.get(row, {}).items() if s]
        sure_out = [t for t, s in succ.get(row, {}).items() if s]
        if not sure_in or not sure_out:
            out[v] = 0
            continue
        # the paths cannot come back through v: the graph is acyclic
        k_in = _disjoint_paths(sure_in, pred, inputs)
        if not k_in:
            out[v] = 0
            continue
        k_out = _disjoint_paths(sure_out, succ, outputs)
        out[v] = k_in * k_out
    return out


def lower_bound(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    state: SearchState | None = None,
    model: CostModel | None = None,
) -> int:
    """A proven lower bound on the cost of every full order in ``cost_model`` (or, given
    ``state``, on the cost of finishing from that state); ``model=`` is a deprecated alias. See
    the module docstring for the proof sketch."""
    cost_model = cost_model_arg(cost_model, model)
    return sum(vertex_lower_bounds(graph, cost_model, state=state).values())


@dataclass(frozen=True)
class GapReport:
    """How far an order is from optimal, as far as can be proven.

    ``gap = cost - lower_bound``; ``relative_gap = gap / cost`` (0 when cost is 0);
    ``proven_optimal`` iff ``gap == 0``. ``bound_source`` names where the bound comes from.
    """

    cost: int
    lower_bound: int
    cost_model: str
    bound_source: str = "min-cut"

    @property
    def model(self) -> str:
        """Deprecated alias of :attr:`cost_model`."""
        return self.cost_model

    @property
    def gap(self) -> int:
        return self.cost - self.lower_bound

    @property
    def relative_gap(self) -> float:
        return self.gap / self.cost if self.cost else 0.0

    @property
    def proven_optimal(self) -> bool:
        return self.gap == 0

    def __str__(self) -> str:
        tag = "proven optimal" if self.proven_optimal else f"gap {self.gap} ({self.relative_gap:.1%})"
        return (
            f"cost {self.cost}, lower bound {self.lower_bound} ({self.bound_source}), {tag} "
            f"[{self.cost_model}]"
        )


def optimality_gap(
    graph: Graph,
    order: Sequence[int],
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    bound: int | None = None,
    bound_source: str | None = None,
    model: CostModel | None = None,
) -> GapReport:
    """Cost of ``order`` in ``cost_model`` (default ``"exact"``; ``model=`` is a deprecated
    alias), replayed with :func:`crosscountry_gym.engine.cost`, against a lower bound.

    By default the bound is :func:`lower_bound`. Pass ``bound`` (e.g. the value certified by
    :func:`~crosscountry_gym.baselines.search.branch_and_bound`) to use a stronger one; it is
    clipped to be at least the min-cut bound and must not exceed the cost (a ``ValueError``
    otherwise, because a bound above a real order's cost is not a bound).
    """
    cost_model = cost_model_arg(cost_model, model)
    c = reference_cost(graph, order, cost_model)
    lb = lower_bound(graph, cost_model)
    source = "min-cut"
    if bound is not None:
        if bound > c:
            raise ValueError(f"bound {bound} exceeds the cost {c} of the order; it is not a bound")
        if bound > lb:
            lb, source = int(bound), bound_source or "given"
    return GapReport(c, lb, cost_model, source)
