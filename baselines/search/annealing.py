"""Simulated annealing over elimination orders (swap and insert moves, restarts, window polish).

Every move replaces a block ``order[lo:hi+1]`` by a permutation of it, so it is priced with
:class:`~.incremental.IncrementalOrder` in O(block) eliminations. The schedule is geometric in
elapsed time within each restart; each restart begins from the best order found so far (the
first from the cheapest greedy order) with the temperature re-heated, and ends with an exact
window-DP polish of the best order (:func:`~.dp.window_polish`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

from .common import Deadline, Progress, SearchResult, finish, greedy_starts
from .dp import window_polish
from .incremental import IncrementalOrder

__all__ = ["anneal"]


def _propose(order: list[int], rng: random.Random, mean_dist: float) -> tuple[int, list[int]]:
    """A random swap or insert move as ``(lo, new block)``."""
    n = len(order)
    i = rng.randrange(n)
    d = min(n - 1, 1 + int(rng.expovariate(1.0 / mean_dist)))
    j = i + d if rng.random() < 0.5 else i - d
    if j < 0 or j >= n:
        j = i - d if j >= n else i + d
    j = max(0, min(n - 1, j))
    if i == j:
        j = (i + 1) % n
    lo, hi = (i, j) if i < j else (j, i)
    block = order[lo : hi + 1]
    kind = rng.random()
    if kind < 0.34:  # swap the ends
        block[0], block[-1] = block[-1], block[0]
    elif kind < 0.67:  # move the first to the end
        block.append(block.pop(0))
    else:  # move the last to the front
        block.insert(0, block.pop())
    return lo, block


def anneal(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    seconds: float = 10.0,
    seed: int = 0,
    init: Sequence[int] | None = None,
    restarts: int = 4,
    mean_dist: float = 6.0,
    window: int = 8,
    temperature: float = 0.1,
    max_moves: int | None = None,
    stop_at: int | None = None,
    progress: Progress | None = None,
    model: CostModel | None = None,
) -> SearchResult:
    """Simulated annealing; returns the best order found within ``seconds`` (or ``max_moves``).

    Args:
        graph: the elimination graph.
        model: cost model, ``"exact"`` or ``"alphagrad"``.
        seconds: wall-clock budget (the search stops at whichever of ``seconds`` and
            ``max_moves`` comes first). A time-bounded run is not reproducible: how many moves
            fit in the time varies, so the same seed can end with different orders.
            ``seconds=None, max_moves=N`` is reproducible: the same seed gives the same order.
        seed: RNG seed.
        init: a starting order; default: run r starts from the r-th cheapest distinct greedy
            order (then reverse mode), except the last run, which restarts from the best
            order found so far.
        restarts: number of annealing runs the budget is split into.
        temperature: starting temperature as a fraction of the mean uphill move (it decays
            geometrically to 1/100 of that within each run).
        mean_dist: mean distance between the two positions of a move.
        window: width of the exact window-DP polish after each run (0 disables it).
        stop_at: stop as soon as an order this cheap is found (e.g. a proven lower bound).
        progress: optional callback ``(best cost, fraction of budget)``.
    """
    model = cost_model_arg(cost_model, model)  # ``model=`` is deprecated
    t0 = time.perf_counter()
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    if seconds is None and max_moves is None:
        raise ValueError("give a budget: seconds or max_moves")
    if max_moves is not None and (isinstance(max_moves, bool) or not isinstance(max_moves, int)
                                  or max_moves < 1):
        raise ValueError(f"max_moves must be a positive int, got {max_moves!r}")
    deadline = Deadline(seconds)
    rng = random.Random(seed)
    if init is None:
        starts = []
        for _, order, _ in greedy_starts(graph, model):  # cheapest first, distinct orders
            if order not in starts:
                starts.append(order)
        starts.append(tuple(reversed(graph.eliminable)))
    else:
        starts = [tuple(init)]
    inc = IncrementalOrder(graph, starts[0], model)
    best_order, best = list(inc.order), inc.total
    n = len(inc.order)
    if progress:
        progress(best, 0.0)
    if n < 2:
        return finish(graph, best_order, model, "sa", t0)
    moves = 0
    accepted = 0
    last_report = time.perf_counter()
    per_run = None if max_moves is None else max(1, max_moves // restarts)

    def used() -> float:  # fraction of the budget used, for progress reports
        if seconds is None:
            return min(1.0, moves / max(1, per_run * restarts))
        return deadline.fraction()
    for run in range(restarts):
        if run:
            # the middle runs explore from the next greedy orders, the last one intensifies
            last = run == restarts - 1
            inc.set_order(best_order if last or run >= len(starts) else starts[run])
        # initial temperature: mean uphill delta of a few random moves
        ups = []
        for _ in range(30):
            lo, block = _propose(inc.order, rng, mean_dist)
            delta = inc.block_cost(lo, block) - inc.total
            if delta > 0:
                ups.append(delta)
        t_hi = temperature * ((sum(ups) / len(ups)) if ups else 1.0)
        t_lo = t_hi * 0.01
        ratio = t_lo / t_hi if t_hi > 0 else 1.0
        run_t0 = time.perf_counter()
        run_seconds = None if seconds is None else max(0.0, (seconds - deadline.elapsed())) / (
            restarts - run
        )
        run_moves = 0
        while True:
            if per_run is not None and run_moves >= per_run:
                break
            if run_moves % 64 == 0:
                if deadline.expired() or (stop_at is not None and best <= stop_at):
                    break
                frac = (
                    run_moves / per_run
                    if per_run is not None
                    else (time.perf_counter() - run_t0) / max(run_seconds or 1e-9, 1e-9)
                )
                if run_seconds is not None and per_run is None and frac >= 1.0:
                    break
                temp = t_hi * ratio ** min(1.0, frac)
                now = time.perf_counter()
                if progress and now - last_report > 0.2:
                    progress(best, used())
                    last_report = now
            lo, block = _propose(inc.order, rng, mean_dist)
            new = inc.block_cost(lo, block)
            delta = new - inc.total
            moves += 1
            run_moves += 1
            if delta <= 0 or (temp > 0 and rng.random() < math.exp(-delta / temp)):
                inc.apply_block(lo, block)
                accepted += 1
                if inc.total < best:
                    best, best_order = inc.total, list(inc.order)
                    if progress:
                        progress(best, used())
        if window >= 2 and not deadline.expired() and (stop_at is None or best > stop_at):
            res = window_polish(graph, best_order, model, width=window, deadline=deadline)
            if res[1] < best:
                best_order, best = list(res[0]), res[1]
                if progress:
                    progress(best, used())
        if deadline.expired() or (stop_at is not None and best <= stop_at):
            break
    return finish(
        graph, best_order, model, "sa", t0, stats={"moves": moves, "accepted": accepted}
    )
