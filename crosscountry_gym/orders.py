"""Elimination orders: the named ones, the greedy heuristics, parsing, and the reference costs.

Everything above layer 1 that needs "forward", "reverse" or "Markowitz" gets it here, once:

* :func:`forward_order`, :func:`reverse_order`, :func:`random_order`;
* the greedy rules, which replay elimination on :class:`~crosscountry_gym.engine.EliminationState`
  and so see fill-in exactly as the cost model does: :func:`markowitz_order` (the paper's
  "minimal Markowitz", or the textbook element-level degree), :func:`relative_markowitz_order`,
  :func:`min_fill_order`, :func:`minimal_damage_order` (Griewank & Walther, *Evaluating
  Derivatives*, 2nd ed., ch. 9-10; Naumann, *The Art of Differentiating Computer Programs*,
  2012); :data:`HEURISTICS` by name;
* :func:`auto_order` (``order="auto"``): the cheapest of forward, reverse and the heuristics,
  improved by a short deterministic local search, cached per graph (``docs/search.md``);
* :func:`parse_order` (checks that need no graph) and :func:`resolve_order` (a name or a list of
  ids -> a validated full order of a graph), on top of the one validator
  :func:`~crosscountry_gym.engine.validate_order`;
* :func:`reference_costs`: forward / reverse / Markowitz costs of a graph, computed once per
  (graph, cost model) and shared by the leaderboard, RL training, the CLI and the benchmarks.

Scores are element-level: the Markowitz degree of v is the number of multiplications of
eliminating v now (|P(v)|·|Q(v)| on scalar graphs). Every rule breaks ties by the lowest id.
"""

from __future__ import annotations

import heapq
import random as _random
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .engine import (
    EliminationState,
    InvalidOrderError,
    SearchState,
    _check_graph,
    _memo,
    cost,
    is_scalar,
    make_state,
    validate_order,
)
from .graph import Graph
from .sparsity import (
    DEFAULT_MODEL,
    CostModel,
    check_model,
    cost_model_arg,
    markowitz_in_weight,
    markowitz_out_weight,
)

__all__ = [
    "forward_order",
    "reverse_order",
    "random_order",
    "markowitz_order",
    "relative_markowitz_order",
    "min_fill_order",
    "minimal_damage_order",
    "HEURISTICS",
    "heuristic_order",
    "auto_order",
    "AUTO_WORK",
    "AUTO_SPANS",
    "AUTO_CACHE_SIZE",
    "ORDER_NAMES",
    "OrderSpec",
    "parse_order",
    "resolve_order",
    "ReferenceCosts",
    "reference_costs",
]

OrderSpec = str | Sequence[int]
"""An order as users give it: a name (:data:`ORDER_NAMES`, a heuristic, ``auto``,
``random:SEED``) or a sequence of vertex ids."""


def forward_order(graph: Graph) -> tuple[int, ...]:
    """Forward mode: the non-output vertices in ascending id order."""
    return graph.eliminable


def reverse_order(graph: Graph) -> tuple[int, ...]:
    """Reverse mode: the non-output vertices in descending id order."""
    return graph.eliminable[::-1]


def random_order(graph: Graph, seed: int = 0) -> tuple[int, ...]:
    """A uniformly random permutation of the eliminable vertices (seeded, reproducible)."""
    order = list(graph.eliminable)
    _random.Random(seed).shuffle(order)
    return tuple(order)


# -- scores on the current state ---------------------------------------------------------------


def _paper_degree(st: EliminationState, v: int) -> int:
    """The paper's weighted degree (``docs/cost_model.md`` section 9.1): sum w_out * sum w_in."""
    if st.is_free(v):
        return 0
    w_out = sum(markowitz_out_weight(rec[0], rec[1:]) for rec in st.out_records(v).values())
    w_in = sum(markowitz_in_weight(rec[0], rec[1:]) for rec in st.in_records(v).values())
    return w_out * w_in


def _step_cost(st: EliminationState, v: int) -> int:
    return st.step_cost(v)


def _fill_in(st: EliminationState, v: int) -> int:
    """Number of new edges eliminating v would create."""
    row = st.ni + v
    ins = st.pred.get(row)
    outs = st.succ.get(row)
    if not ins or not outs:
        return 0
    succ = st.succ
    return sum(1 for r in ins for t in outs if t not in succ.get(r, ()))


def _degree(st: EliminationState, v: int) -> int:
    row = st.ni + v
    return len(st.pred.get(row, ())) + len(st.succ.get(row, ()))


def _relative_markowitz(st: EliminationState, v: int) -> float:
    """Markowitz degree relative to the edges the step removes: cost / (|P| + |Q|)."""
    if st.is_free(v):
        return 0.0
    return st.step_cost(v) / _degree(st, v)


def _min_fill(st: EliminationState, v: int) -> tuple[int, int]:
    return (_fill_in(st, v), st.step_cost(v))


def _minimal_damage(st: EliminationState, v: int) -> tuple[int, int]:
    return (_fill_in(st, v) - _degree(st, v), st.step_cost(v))


def _greedy(
    graph: Graph,
    score: Callable[[EliminationState, int], Any],
    cost_model: CostModel,
    *,
    fill_aware: bool = False,
) -> tuple[int, ...]:
    """Eliminate, one at a time, the remaining vertex with the lowest ``(score, id)``.

    Incremental, so that a 2,000-vertex graph takes well under a second (``order="auto"`` runs
    every rule, ``docs/search.md``): the scores sit in a heap with lazy deletion and after a step
    only the scores that can have changed are recomputed. Every score here is local: it reads
    only the edges (and records) of the vertex itself, which a step changes for the eliminated
    vertex's neighbours only; the fill-in rules (``fill_aware``) also read whether an edge
    joins two of the vertex's neighbours, which a step changes for u with r -> u -> t for a
    newly created edge r -> t. The result is the order of the plain "scan every remaining
    vertex" loop, ties included (tested in ``tests/core/test_auto_order.py``).
    """
    st = EliminationState(graph, cost_model)
    ni, succ, pred = st.ni, st.succ, st.pred
    current = {u: score(st, u) for u in graph.eliminable}
    heap = [(s, u) for u, s in current.items()]
    heapq.heapify(heap)
    order = []
    while heap:
        s, v = heapq.heappop(heap)
        if v not in current or current[v] != s:
            continue  # stale entry: v was eliminated or its score changed since
        row = ni + v
        ins = tuple(pred.get(row, ()))
        outs = tuple(succ.get(row, ()))
        new_pairs = (
            [(r, t) for r in ins for t in outs if t not in succ.get(r, ())] if fill_aware else ()
        )
        st._eliminate(v)
        del current[v]
        order.append(v)
        dirty = {r - ni for r in ins if r > ni}
        dirty.update(t - ni for t in outs)
        for r, t in new_pairs:  # u with r -> u -> t may lose fill-in from the new edge r -> t
            both = pred.get(t, set()).intersection(succ.get(r, ()))
            dirty.update(u - ni for u in both if u > ni)
        for u in dirty:
            old = current.get(u)
            if old is not None:
                s = score(st, u)
                if s != old:
                    current[u] = s
                    heapq.heappush(heap, (s, u))
    return tuple(order)


def markowitz_order(
    graph: Graph,
    variant: str = "alphagrad",
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    model: CostModel | None = None,
) -> tuple[int, ...]:
    """Greedy lowest-Markowitz-degree order; ties go to the lowest vertex id.

    * ``variant="alphagrad"``: the paper's "minimal Markowitz" with its weighted degree
      (``docs/cost_model.md`` section 9.1); reproduces the stored ``markowitz_order`` of every
      task;
    * ``variant="textbook"``: the element-level degree, the multiplications of eliminating v
      now (|P|·|Q| on scalar graphs; Griewank & Reese 1991).
    """
    cost_model = cost_model_arg(cost_model, model)
    if variant == "alphagrad":
        return _greedy(graph, _paper_degree, cost_model)
    if variant == "textbook":
        return _greedy(graph, _step_cost, cost_model)
    raise ValueError(f"unknown Markowitz variant {variant!r}; use 'alphagrad' or 'textbook'")


def relative_markowitz_order(
    graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *, model: CostModel | None = None
) -> tuple[int, ...]:
    """Lowest relative Markowitz degree first: cost(v) / (|P(v)| + |Q(v)|) (Naumann 2012)."""
    return _greedy(graph, _relative_markowitz, cost_model_arg(cost_model, model))


def min_fill_order(
    graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *, model: CostModel | None = None
) -> tuple[int, ...]:
    """Lowest fill-in first (fewest new edges), then the lowest element-level degree."""
    return _greedy(graph, _min_fill, cost_model_arg(cost_model, model), fill_aware=True)


def minimal_damage_order(
    graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *, model: CostModel | None = None
) -> tuple[int, ...]:
    """ "Lowest Markowitz, minimal damage": the least damage first (fill-in minus the edges the
    step removes, so a step that shrinks the graph is preferred), ties by element-level degree."""
    return _greedy(graph, _minimal_damage, cost_model_arg(cost_model, model), fill_aware=True)


def _textbook_markowitz(graph: Graph) -> tuple[int, ...]:
    return markowitz_order(graph, "textbook")


HEURISTICS: dict[str, Callable[[Graph], tuple[int, ...]]] = {
    "forward": forward_order,
    "reverse": reverse_order,
    "markowitz": markowitz_order,
    "markowitz_textbook": _textbook_markowitz,
    "relative_markowitz": relative_markowitz_order,
    "min_fill": min_fill_order,
    "minimal_damage": minimal_damage_order,
}
"""The deterministic heuristics by name (``markowitz`` is the paper's variant)."""

_ALIASES = {"fwd": "forward", "rev": "reverse"}
ORDER_NAMES: tuple[str, ...] = ("fwd", "rev", *HEURISTICS, "auto", "random:SEED")
"""Every order name :func:`resolve_order` accepts. ``auto`` (:func:`auto_order`) is not in
:data:`HEURISTICS`: it is a search over them, and the tables that iterate the heuristics (the
demo, the search starts, the benchmarks) list single rules."""


def heuristic_order(graph: Graph, name: str) -> tuple[int, ...]:
    """The order of the heuristic called ``name`` (:data:`HEURISTICS`, ``fwd``/``rev``,
    ``auto`` or ``random:SEED``).

    ``auto`` is :func:`auto_order` in the exact model, the one the executor emits
    (``docs/search.md``, *order="auto"*)."""
    key = name.strip().lower() if isinstance(name, str) else name
    key = _ALIASES.get(key, key)
    if key == "auto":
        return auto_order(graph)
    if isinstance(key, str) and key.startswith("random"):
        _, sep, seed = key.partition(":")
        if key != "random" and not sep:
            raise InvalidOrderError(f"unknown order name {name!r}; use random:SEED")
        try:
            return random_order(graph, int(seed or 0))
        except ValueError:
            raise InvalidOrderError(f"random:SEED needs an integer seed, got {name!r}") from None
    if key not in HEURISTICS:
        raise InvalidOrderError(
            f"unknown order name {name!r}; use one of {', '.join(ORDER_NAMES)}, or a list of "
            "vertex ids"
        )
    return tuple(HEURISTICS[key](graph))


# -- auto: the cheapest order a short deterministic search finds ---------------------------------

AUTO_WORK = 150_000
"""Work budget of the local search of :func:`auto_order`, in elimination steps (a state copy
counts 1 + rows // 256 steps, a replayed suffix its length). A fixed count, not a time: the
result is the same on every machine. About 0.2-0.8 s on the paper tasks and on a 300-vertex
graph; copies grow with the graph, so on bigger graphs the same work covers fewer moves
(``docs/search.md``)."""

AUTO_SPANS: tuple[int, ...] = (4, 8, 16, 32)
"""Block lengths of the local search: moves re-place one vertex at most ``span`` positions
away; the search widens the span each time it converges."""

AUTO_CACHE_SIZE = 128
"""How many (graph fingerprint, cost model) results :func:`auto_order` keeps (least recently
used dropped first)."""

_AUTO: OrderedDict[tuple[str, str], tuple[int, ...]] = OrderedDict()
_FINGERPRINTS: dict[Graph, str] = {}


def auto_order(graph: Graph, cost_model: CostModel = DEFAULT_MODEL) -> tuple[int, ...]:
    """The cheapest order a short, deterministic search finds in ``cost_model``.

    Why: forward and reverse are often far from optimal and no single greedy rule wins on
    every graph, while a real search (``crosscountry_gym.baselines.search``) costs seconds and
    lives above this layer. ``auto`` is the cheap middle (``docs/search.md``, *order="auto"*):

    1. price forward, reverse and every rule of :data:`HEURISTICS` (plus, for a non-default
       model on a typed graph, the greedy rules run in that model) with :func:`cost`;
    2. improve the cheapest by first-improvement local search: move one vertex up to ``span``
       positions forward or backward (:data:`AUTO_SPANS`, widened on convergence), priced
       incrementally from stored prefix states; only strictly cheaper orders are taken. A
       descent stops at a local optimum of the widest span or when the shared budget of
       :data:`AUTO_WORK` elimination steps is spent; budget left after a local optimum goes
       to the next-cheapest distinct start.

    Never worse than forward, reverse or any heuristic of :data:`HEURISTICS` in
    ``cost_model``, by construction (the final order is re-priced with :func:`cost` and the
    best start kept if the search did not beat it). No clock and no randomness: the same graph
    gives the same order on every machine. Results are cached per (graph fingerprint, cost
    model), the :data:`AUTO_CACHE_SIZE` most recent kept; a repeated call returns the same
    tuple.
    """
    _check_graph(graph)
    cost_model = check_model(cost_model)
    fp = _memo(_FINGERPRINTS, graph, lambda: graph.fingerprint, limit=256)
    key = (fp, cost_model)
    hit = _AUTO.get(key)
    if hit is not None:
        _AUTO.move_to_end(key)
        return hit
    order = _auto_search(graph, cost_model)
    _AUTO[key] = order
    if len(_AUTO) > AUTO_CACHE_SIZE:
        _AUTO.popitem(last=False)
    return order


def _auto_search(graph: Graph, cost_model: CostModel) -> tuple[int, ...]:
    starts = [tuple(fn(graph)) for fn in HEURISTICS.values()]
    if cost_model != DEFAULT_MODEL and not is_scalar(graph):  # scalar: the models coincide
        starts += [
            markowitz_order(graph, "alphagrad", cost_model),
            markowitz_order(graph, "textbook", cost_model),
            relative_markowitz_order(graph, cost_model),
            min_fill_order(graph, cost_model),
            minimal_damage_order(graph, cost_model),
        ]
    distinct = list(dict.fromkeys(starts))
    # cheapest first; ties keep the listed order (forward, reverse, markowitz, ...)
    ranked = sorted((cost(graph, o, cost_model), k, o) for k, o in enumerate(distinct))
    best_cost, _, best = ranked[0]
    found, found_cost = best, best_cost
    work = AUTO_WORK
    for _, _, start in ranked:  # the next start only when a descent converged under budget
        if work <= 0:
            break
        order, total, used = _local_search(graph, start, cost_model, work, AUTO_SPANS)
        work -= used
        if total < found_cost:
            found, found_cost = order, total
    # re-priced by the reference cost: never worse than the best start, by construction
    return found if cost(graph, found, cost_model) < best_cost else best


def _prefix_window(state: SearchState, order: Sequence[int], i: int, span: int) -> list:
    """States after order[:i], order[:i + 1], ..., order[:i + span + 1] (fewer at the end)."""
    out = [state]
    for v in order[i : i + span + 1]:
        s = out[-1].copy()
        s.eliminate(v)
        out.append(s)
    return out


def _local_search(
    graph: Graph, order: Sequence[int], cost_model: CostModel, work: int, spans: Sequence[int]
) -> tuple[tuple[int, ...], int, int]:
    """First-improvement descent over "move one vertex within a block" (``docs/search.md``).

    A move rotates the block order[i:i + d + 1] by one (its first vertex to the end, or its
    last to the front; d = 1 is a swap). It is priced from the stored state before the block
    by eliminating the new block only (the forward moves of order[i] share the prefix
    order[i + 1 .. i + d], so each costs one step). If the state after the block equals the
    stored one (always on set-exact scalar graphs, ``docs/cost_model.md`` section 10.1;
    compared record by record otherwise) the suffix costs what it cost before, else the
    suffix is replayed. The states before positions i .. i + span + 1 slide along with i.
    Returns the order, its cost and the work used (in the units of :data:`AUTO_WORK`; the
    budget is checked before each block length, so it overshoots by one block at most).
    """
    order = list(order)
    n = len(order)
    base = make_state(graph, cost_model)
    set_exact = base.SET_EXACT
    copy_units = 1 + graph.num_rows // 256
    st = base.copy()
    steps = [st.eliminate(v) for v in order]
    total = sum(steps)
    used = n
    for span in spans:
        improved = True
        while improved and used < work:
            improved = False
            window = _prefix_window(base, order, 0, span)  # window[k]: state before i + k
            used += len(window) * copy_units
            prefix = 0  # cost of order[:i]
            i = 0
            while i < n - 1 and used < work:
                moved = False
                first = order[i]
                run = window[0].copy()  # the state before i, then order[i + 1 .. i + d]
                run_steps: list[int] = []
                used += copy_units
                for d in range(1, min(span, n - 1 - i) + 1):
                    if used >= work:
                        break
                    end = i + d + 1
                    run_steps.append(run.eliminate(order[i + d]))
                    used += 1
                    old = sum(steps[i:end])
                    for back in (False, True) if d > 1 else (False,):
                        if back:  # order[i + d] moves to the front of the block
                            block = [order[i + d], *order[i : i + d]]
                            s = window[0].copy()
                            new_steps = [s.eliminate(v) for v in block]
                            used += d + 1 + copy_units
                        else:  # order[i] moves to the end of the block (d = 1: a swap)
                            block = [*order[i + 1 : end], first]
                            s = run.copy()
                            new_steps = [*run_steps, s.eliminate(first)]
                            used += 1 + copy_units
                        c = sum(new_steps)
                        tail = None
                        if set_exact or s.same_as(window[d + 1]):
                            if c >= old:
                                continue
                        else:  # the block left a different state: the suffix may cost more
                            tail = [s.eliminate(v) for v in order[end:]]
                            used += n - end
                            if prefix + c + sum(tail) >= total:
                                continue
                        order[i:end] = block
                        steps[i:end] = new_steps
                        if tail is not None:
                            steps[end:] = tail
                        total = sum(steps)
                        moved = True
                        break
                    if moved:
                        break
                if moved:  # retry at the same position with the new block
                    improved = True
                    window = _prefix_window(window[0], order, i, span)
                    used += len(window) * copy_units
                    continue
                prefix += steps[i]
                window.pop(0)
                last = i + len(window)  # window[-1] is the state before position last
                if last < n and len(window) < span + 2:
                    s = window[-1].copy()
                    s.eliminate(order[last])
                    window.append(s)
                    used += 1 + copy_units
                i += 1
        if used >= work:
            break
    return tuple(order), total, used


# -- parsing and resolution ----------------------------------------------------------------------


def parse_order(order: Any) -> OrderSpec:
    """The checks that need no graph: a name stays a name; a sequence must be distinct positive
    integer ids. Returns the name or a tuple of ints; raises :class:`InvalidOrderError`.

    Run when a transform is created (``jacobian(f, order)``), before any tracing, so that a
    malformed order fails at once; :func:`resolve_order` finishes the job against the graph.
    """
    if isinstance(order, str):
        return order
    if isinstance(order, dict):
        raise InvalidOrderError("pass the list of vertex ids (e.g. order['order']), not a dict")
    if isinstance(order, set | frozenset):
        raise InvalidOrderError("an order must be a sequence (list or tuple), not a set")
    if getattr(order, "ndim", 1) != 1:
        raise InvalidOrderError(
            f"an order must be one-dimensional, got an array of shape {getattr(order, 'shape', '?')}"
        )
    try:
        items = list(order)
    except TypeError:
        raise InvalidOrderError(
            f"order must be one of {', '.join(ORDER_NAMES)} or a list of vertex ids; got {order!r}"
        ) from None
    seen: dict[int, int] = {}
    for pos, v in enumerate(items):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise InvalidOrderError(f"order[{pos}] = {v!r} is not an integer vertex id")
        v = int(v)
        if v < 1:
            raise InvalidOrderError(f"order[{pos}] = {v}: vertex ids are 1-based")
        if v in seen:
            raise InvalidOrderError(
                f"order[{pos}] = {v} repeats vertex {v} (first at position {seen[v]})"
            )
        seen[v] = pos
    return tuple(int(v) for v in items)


def resolve_order(graph: Graph, order: OrderSpec) -> tuple[int, ...]:
    """A full, validated elimination order of ``graph`` from a name or a list of vertex ids.

    Names: "fwd"/"forward", "rev"/"reverse", "markowitz" (the paper's minimal Markowitz), any
    other key of :data:`HEURISTICS`, "auto" (:func:`auto_order`, exact model) or
    "random:SEED". Raises :class:`InvalidOrderError` naming
    the problem (unknown name; missing, repeated, unknown or output vertex).
    """
    spec = parse_order(order)
    if isinstance(spec, str):
        return heuristic_order(graph, spec)
    return validate_order(graph, spec)


# -- reference costs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceCosts(Mapping[str, int]):
    """Forward, reverse and (paper) Markowitz costs of one graph in one cost model.

    A read-only mapping ``{"forward": ..., "reverse": ..., "markowitz": ...}`` with the orders
    alongside; :attr:`best` is the cheapest of the three and :attr:`best_name` its name.
    """

    cost_model: str
    forward: int
    reverse: int
    markowitz: int
    markowitz_order: tuple[int, ...]

    _KEYS = ("forward", "reverse", "markowitz")

    def __getitem__(self, key: str) -> int:
        if key not in self._KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return 3

    @property
    def best(self) -> int:
        """The cheapest of forward, reverse and Markowitz."""
        return min(self.forward, self.reverse, self.markowitz)

    @property
    def best_name(self) -> str:
        """Which of the three is cheapest (the first in forward, reverse, Markowitz on ties)."""
        return min(self._KEYS, key=lambda k: (self[k], self._KEYS.index(k)))


_REFERENCE: dict[tuple[Graph, str], ReferenceCosts] = {}
_MARKOWITZ: dict[Graph, tuple[int, ...]] = {}


def reference_costs(
    graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *, model: CostModel | None = None
) -> ReferenceCosts:
    """Forward / reverse / Markowitz costs of ``graph`` in ``cost_model``, memoised per graph.

    The Markowitz order is the paper's minimal Markowitz (:func:`markowitz_order`, variant
    "alphagrad"), greedy in the exact model: it is one order, priced in both models, so the
    two models' figures are of the same order (as the paper's tables are).
    """
    cost_model = cost_model_arg(cost_model, model)
    _check_graph(graph)

    def build() -> ReferenceCosts:
        # one greedy run per graph, shared by both models' figures
        mk = _memo(_MARKOWITZ, graph, lambda: markowitz_order(graph), limit=256)
        return ReferenceCosts(
            cost_model,
            cost(graph, forward_order(graph), cost_model),
            cost(graph, reverse_order(graph), cost_model),
            cost(graph, mk, cost_model),
            mk,
        )

    return _memo(_REFERENCE, (graph, cost_model), build, limit=256)
