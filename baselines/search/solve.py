"""One entry point for every search method, by name (used by ``crosscountry-gym solve``).

=============  ==============================================================================
method         what runs within the budget
=============  ==============================================================================
markowitz      the paper's minimal Markowitz greedy order (instant; the budget is unused)
sa             :func:`~.annealing.anneal` (restarts from the greedy orders); stops early
               if it reaches the min-cut lower bound (then the order is proven optimal)
beam           :func:`~.beam.beam_search` with widths 8, 16, 32, ... while budget remains
dp             exact :func:`~.dp.subset_dp` if the graph is small enough (if it runs out of
               time: the cheapest greedy order), else repeated :func:`~.dp.window_polish` of
               the cheapest greedy order with growing windows
bnb            :func:`~.annealing.anneal` for a third of the budget (the incumbent), then
               :func:`~.bnb.branch_and_bound`; ``optimal`` is True only if it finished
=============  ==============================================================================

The budget is wall time (``seconds``), work (``moves``) or both (whichever runs out first).
A time-bounded search is **not reproducible**: how much work fits in the time varies from run
to run, so the same seed can end with different orders of the same or another cost. With
``seconds=None, moves=N`` every method is deterministic: the same graph, cost model, seed and
``N`` give the same order. The unit of ``moves`` per method: annealing moves (``sa``; ``bnb``
spends a third of them on its annealed incumbent and the rest as branch-and-bound nodes),
children priced (``beam``), window DPs (``dp`` in window mode; the exact subset DP needs no
budget).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

from crosscountry_gym.engine import make_state
from crosscountry_gym.graph import Graph
from crosscountry_gym.orders import markowitz_order
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

from .annealing import anneal
from .beam import beam_search
from .bnb import branch_and_bound
from .bounds import lower_bound
from .common import Deadline, Progress, SearchResult, eliminate_free, finish, greedy_starts
from .dp import DP_MAX_VERTICES, subset_dp, window_polish

__all__ = ["METHODS", "solve"]

METHODS = ("markowitz", "sa", "beam", "dp", "bnb")


def _left(seconds: float, since: float | Deadline) -> float:
    """Seconds of ``seconds`` left after ``since`` (a ``perf_counter`` value or a deadline's
    start), never negative."""
    t0 = since.t0 if isinstance(since, Deadline) else since
    return max(0.0, seconds - (time.perf_counter() - t0))


def _free_count(graph: Graph, cost_model: CostModel) -> int:
    st = make_state(graph, cost_model)
    rem = set(graph.eliminable)
    eliminate_free(st, rem, [])
    return len(rem)


def solve(
    graph: Graph,
    method: str = "sa",
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    seconds: float | None = None,
    seed: int = 0,
    moves: int | None = None,
    progress: Progress | None = None,
    model: CostModel | None = None,
) -> SearchResult:
    """Run search ``method`` on ``graph`` in ``cost_model`` (default ``"exact"``; ``model=`` is
    a deprecated alias); see the module table.

    ``seconds`` is the wall-time budget (default 10 s, or no time limit when ``moves`` is
    given), ``moves`` a work budget; give ``moves`` alone for a reproducible result (module
    docstring). The result's ``lower_bound`` is always filled in: the proven optimum when the
    method proved it, else the min-cut bound (:func:`~.bounds.lower_bound`).
    """
    if method not in METHODS:
        raise ValueError(f"unknown search method {method!r}; choose from {', '.join(METHODS)}")
    cost_model = cost_model_arg(cost_model, model)
    if moves is not None and (isinstance(moves, bool) or not isinstance(moves, int) or moves < 1):
        raise ValueError(f"moves must be a positive int, got {moves!r}")
    if seconds is None and moves is None:
        seconds = 10.0
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float)
        or not math.isfinite(seconds) or seconds <= 0
    ):
        raise ValueError(f"seconds must be a finite number > 0, got {seconds!r}")
    t0 = time.perf_counter()
    if method == "markowitz":
        res = finish(graph, markowitz_order(graph), cost_model, "markowitz", t0)
    elif method == "sa":
        lb = lower_bound(graph, cost_model)
        res = anneal(graph, cost_model, seconds=seconds, max_moves=moves, seed=seed, stop_at=lb,
                     progress=progress)
    elif method == "beam":
        deadline = Deadline(seconds)
        res = None
        width = 8
        expanded = 0

        def spent() -> bool:
            return deadline.expired() or (moves is not None and expanded >= moves)

        while res is None or not spent():
            r = beam_search(graph, cost_model, width=width, seed=seed,
                            seconds=None if seconds is None else _left(seconds, deadline),
                            max_expanded=None if moves is None else moves - expanded)
            expanded += r.stats["expanded"]
            if res is None or r.cost < res.cost:
                res = r
            if progress:
                progress(res.cost, deadline.fraction() if moves is None
                         else min(1.0, expanded / moves))
            width *= 2
        res = finish(graph, res.order, cost_model, "beam", t0,
                     stats={"max_width": width // 2, "expanded": expanded})
    elif method == "dp":
        res = None
        if _free_count(graph, cost_model) <= DP_MAX_VERTICES:
            try:
                res = subset_dp(graph, cost_model, seconds=seconds)
            except TimeoutError:  # out of time (or Ctrl-C): fall back to the greedy order
                pass
        if res is None:
            deadline = Deadline(None if seconds is None else _left(seconds, t0))
            per_width = None if moves is None else max(1, moves // 5)
            order = greedy_starts(graph, cost_model)[0][1]
            best = None
            for width in (6, 8, 10, 12, 14):
                order, c = window_polish(graph, order, cost_model, width=width,
                                         deadline=deadline, max_windows=per_width)
                best = c
                if progress:
                    progress(best, deadline.fraction())
                if deadline.expired():
                    break
            res = finish(graph, order, cost_model, "dp", t0, stats={"mode": "window", "width": width})
    else:  # bnb
        inc_moves = None if moves is None else max(1, moves // 3)
        inc = anneal(graph, cost_model, seconds=None if seconds is None else seconds / 3,
                     max_moves=inc_moves, seed=seed, progress=progress,
                     stop_at=lower_bound(graph, cost_model))
        res = branch_and_bound(graph, cost_model, initial_order=inc.order,
                               seconds=None if seconds is None else _left(seconds, t0),
                               max_nodes=None if moves is None else max(1, moves - inc_moves),
                               progress=progress)
        res = replace(res, seconds=time.perf_counter() - t0)
    if res.lower_bound is None:
        lb = lower_bound(graph, cost_model)
        res = replace(res, seconds=time.perf_counter() - t0, lower_bound=lb, optimal=lb == res.cost)
    if progress:
        progress(res.cost, 1.0)
    return res
