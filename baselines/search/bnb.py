"""Exact depth-first branch-and-bound over elimination orders, with a transposition table.

A node is a state (the graph after eliminating a prefix). It is pruned when

* ``g + h >= incumbent``: ``g`` is the cost so far and ``h`` the min-cut lower bound of the
  vertices still to eliminate (:mod:`.bounds`; admissible and consistent), or
* the same state was reached before at a cost ``<= g`` (transposition table). States are keyed
  by the eliminated set on scalar graphs (order-independent, ``docs/cost_model.md`` section 10.1) and by the
  full state (set plus every edge record) on typed graphs, so the search is exact in both
  cost models.

Free vertices are eliminated immediately (safe, :func:`~.common.eliminate_free`). Children are
tried cheapest excess first (step cost minus the vertex's bound). If the search finishes, the
incumbent is optimal and the result carries ``optimal=True`` and ``lower_bound == cost``;
if it stops on the time or node limit, ``lower_bound`` is only the min-cut bound of the root.

Optionally (``dynamic_depth``) the bound is recomputed on the current graph at shallow depths:
cuts only grow as vertices are eliminated, so this is tighter and still admissible.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from crosscountry_gym.engine import SearchState, make_state
from crosscountry_gym.engine import cost as reference_cost
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

from .bounds import lower_bound, vertex_lower_bounds
from .common import Deadline, Progress, SearchResult, eliminate_free, finish, greedy_starts

__all__ = ["branch_and_bound"]


class _Stop(Exception):
    pass


def branch_and_bound(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    initial_order: Sequence[int] | None = None,
    seconds: float | None = 60.0,
    max_nodes: int | None = None,
    dynamic_depth: int = 0,
    progress: Progress | None = None,
    model: CostModel | None = None,
) -> SearchResult:
    """Branch-and-bound; proves optimality when it finishes within the limits.

    Args:
        initial_order: incumbent to start from (default: the cheapest greedy order). A good
            incumbent (e.g. from :func:`~.annealing.anneal`) prunes far more.
        seconds, max_nodes: limits; on hitting one, the incumbent is returned with
            ``optimal=False``.
        dynamic_depth: recompute the min-cut bound on the current graph for nodes at depth
            < ``dynamic_depth`` (tighter, ~10 ms per node on the paper tasks).
    """
    model = cost_model_arg(cost_model, model)  # ``model=`` is deprecated
    t0 = time.perf_counter()
    deadline = Deadline(seconds)
    if initial_order is None:
        initial_order = greedy_starts(graph, model)[0][1]
    best_order = list(initial_order)
    best = [reference_cost(graph, best_order, model)]
    root_lb = lower_bound(graph, model)
    if best[0] == root_lb:
        return finish(graph, best_order, model, "bnb", t0, lower_bound=root_lb, optimal=True,
                      stats={"nodes": 0, "proof": "min-cut bound equals the incumbent"})
    lb = vertex_lower_bounds(graph, model)
    root = make_state(graph, model)
    set_exact = root.SET_EXACT
    seen: dict[object, int] = {}
    nodes = [0]
    last = [time.perf_counter()]
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 10 * len(graph.eliminable) + 1000))

    def dfs(st: SearchState, g: int, h: int, rem: set[int], order: list[int], depth: int) -> None:
        nodes[0] += 1
        if nodes[0] % 256 == 0:
            if deadline.expired() or (max_nodes is not None and nodes[0] >= max_nodes):
                raise _Stop
            now = time.perf_counter()
            if progress and now - last[0] > 0.2:
                progress(best[0], deadline.fraction())
                last[0] = now
        freed: list[int] = []
        eliminate_free(st, rem, freed)
        if freed:
            order = order + freed
            h -= sum(lb[v] for v in freed)
        if not rem:
            if g < best[0]:
                best[0] = g
                best_order[:] = order
                if progress:
                    progress(g, deadline.fraction())
            return
        if depth < dynamic_depth:
            h = max(h, lower_bound(graph, model, state=st))
        if g + h >= best[0]:
            return
        key = st.mask if set_exact else st.key()
        prev = seen.get(key)
        if prev is not None and prev <= g:
            return
        seen[key] = g
        kids = []
        for v in rem:
            c = st.step_cost(v)
            if g + c + h - lb[v] < best[0]:
                kids.append((c - lb[v], v, c))
        kids.sort()
        for _, v, c in kids:
            if g + c + h - lb[v] >= best[0]:
                continue
            child = st.copy()
            child.eliminate(v)
            rem2 = set(rem)
            rem2.discard(v)
            dfs(child, g + c, h - lb[v], rem2, order + [v], depth + 1)

    finished = True
    try:
        rem0 = set(graph.eliminable)
        dfs(root, 0, sum(lb.values()), rem0, [], 0)
    except _Stop:
        finished = False
    finally:
        sys.setrecursionlimit(old_limit)
    res = finish(graph, best_order, model, "bnb", t0,
                 lower_bound=None, optimal=finished,
                 stats={"nodes": nodes[0], "table": len(seen), "finished": finished})
    if res.cost != best[0]:  # pragma: no cover - the states are tested against the reference
        raise RuntimeError(f"branch-and-bound cost {best[0]} != reference cost {res.cost}")
    return SearchResult(res.order, res.cost, model, "bnb", res.seconds,
                        res.cost if finished else root_lb, finished, res.stats)
