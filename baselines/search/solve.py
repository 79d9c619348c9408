"""One entry point for every search method, by name (used by ``crosscountry-gym solve``).

=============  ==============================================================================
method         what runs within ``seconds``
=============  ==============================================================================
markowitz      the paper's minimal Markowitz greedy order (instant; ``seconds`` unused)
sa             :func:`~.annealing.anneal` (restarts from the greedy orders); stops early
               if it reaches the min-cut lower bound (then the order is proven optimal)
beam           :func:`~.beam.beam_search` with widths 8, 16, 32, ... while time remains
dp             exact :func:`~.dp.subset_dp` if the graph is small enough, else repeated
               :func:`~.dp.window_polish` of the cheapest greedy order with growing windows
bnb            :func:`~.annealing.anneal` for a third of the budget (the incumbent), then
               :func:`~.bnb.branch_and_bound`; ``optimal`` is True only if it finished
=============  ==============================================================================
"""

from __future__ import annotations

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
    seconds: float = 10.0,
    seed: int = 0,
    progress: Progress | None = None,
    model: CostModel | None = None,
) -> SearchResult:
    """Run search ``method`` on ``graph`` for about ``seconds`` in ``cost_model`` (default
    ``"exact"``; ``model=`` is a deprecated alias); see the module table.

    The result's ``lower_bound`` is always filled in: the proven optimum when the method
    proved it, else the min-cut bound (:func:`~.bounds.lower_bound`).
    """
    if method not in METHODS:
        raise ValueError(f"unknown search method {method!r}; choose from {', '.join(METHODS)}")
    cost_model = cost_model_arg(cost_model, model)
    if seconds is None or seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    t0 = time.perf_counter()
    if method == "markowitz":
        res = finish(graph, markowitz_order(graph), cost_model, "markowitz", t0)
    elif method == "sa":
        lb = lower_bound(graph, cost_model)
        res = anneal(graph, cost_model, seconds=seconds, seed=seed, stop_at=lb, progress=progress)
    elif method == "beam":
        deadline = Deadline(seconds)
        res = None
        width = 8
        while res is None or not deadline.expired():
            r = beam_search(graph, cost_model, width=width, seed=seed,
                            seconds=max(0.0, seconds - deadline.elapsed()))
            if res is None or r.cost < res.cost:
                res = r
            if progress:
                progress(res.cost, deadline.fraction())
            width *= 2
        res = finish(graph, res.order, cost_model, "beam", t0, stats={"max_width": width // 2})
    elif method == "dp":
        if _free_count(graph, cost_model) <= DP_MAX_VERTICES:
            res = subset_dp(graph, cost_model, seconds=seconds)
        else:
            deadline = Deadline(seconds)
            order = greedy_starts(graph, cost_model)[0][1]
            best = None
            for width in (6, 8, 10, 12, 14):
                order, c = window_polish(graph, order, cost_model, width=width, deadline=deadline)
                best = c
                if progress:
                    progress(best, deadline.fraction())
                if deadline.expired():
                    break
            res = finish(graph, order, cost_model, "dp", t0, stats={"mode": "window", "width": width})
    else:  # bnb
        inc = anneal(graph, cost_model, seconds=seconds / 3, seed=seed, progress=progress,
                     stop_at=lower_bound(graph, cost_model))
        res = branch_and_bound(graph, cost_model, initial_order=inc.order,
                               seconds=seconds - (time.perf_counter() - t0), progress=progress)
        res = replace(res, seconds=time.perf_counter() - t0)
    if res.lower_bound is None:
        lb = lower_bound(graph, cost_model)
        res = replace(res, seconds=time.perf_counter() - t0, lower_bound=lb, optimal=lb == res.cost)
    if progress:
        progress(res.cost, 1.0)
    return res
