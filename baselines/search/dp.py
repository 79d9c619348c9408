"""Exact dynamic programming over eliminated sets, and the window move built on it.

``C(S) = min_{v in S} C(S - {v}) + cost(v | S - {v})`` (``docs/cost_model.md`` section 10.1). On scalar graphs
the state after S is order-independent, so keying the DP on the set alone is exact. On typed
graphs it is not in general (10.2); :func:`subset_dp` then keys on the *whole state* (the set
plus every edge record), which is exact in every model but may hold several states per set.

The **window move** re-orders a block ``order[i:i+w]`` optimally given the state before it
(a DP over the 2^w subsets of the block). On set-exact graphs the suffix after the block costs
the same whatever the block order, so the window optimum is an optimal re-ordering of the whole
order restricted to that block. On typed graphs the candidate is replayed in full and kept only
if the whole order gets cheaper, so the move never worsens an order in any model.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import replace

from crosscountry_gym.engine import SearchState, make_state
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

from .common import Deadline, SearchResult, eliminate_free, finish
from .incremental import IncrementalOrder

__all__ = ["subset_dp", "optimal_block", "window_move", "window_polish", "DP_MAX_VERTICES"]

DP_MAX_VERTICES = 22
"""Refuse a full subset DP above this many vertices (2^22 states would not fit)."""


class _Timeout(Exception):
    pass


def optimal_block(
    state: SearchState,
    vertices: Sequence[int],
    *,
    exact_keys: bool | None = None,
    deadline: Deadline | None = None,
) -> tuple[int, tuple[int, ...]]:
    """Cheapest order of ``vertices`` starting from ``state`` (not modified).

    Returns ``(cost of the block, block order)``. With ``exact_keys`` (default: True on typed
    states) DP states are keyed by the full state, otherwise by the set eliminated.
    Raises ``TimeoutError`` if ``deadline`` expires.
    """
    verts = list(vertices)
    if not verts:
        return 0, ()
    if exact_keys is None:
        exact_keys = not state.SET_EXACT
    base = state.mask
    # layer: key -> (g, state); back: key -> (parent key, vertex)
    layer: dict[Hashable, tuple[int, SearchState]] = {base if not exact_keys else state.key(): (0, state)}
    back: dict[Hashable, tuple[Hashable, int]] = {}
    for _ in range(len(verts)):
        if deadline is not None and deadline.expired():
            raise TimeoutError("window DP ran out of time")
        # best (g, parent key, vertex) per child
        cand: dict[Hashable, tuple[int, Hashable, int, SearchState | None]] = {}
        for key, (g, st) in layer.items():
            m = st.mask
            for v in verts:
                if m >> v & 1:
                    continue
                if exact_keys:
                    child = st.copy()
                    c = g + child.eliminate(v)
                    ckey = child.key()
                else:
                    child = None
                    c = g + st.step_cost(v)
                    ckey = m | (1 << v)
                old = cand.get(ckey)
                if old is None or c < old[0]:
                    cand[ckey] = (c, key, v, child)
        new_layer: dict[Hashable, tuple[int, SearchState]] = {}
        for ckey, (c, pkey, v, child) in cand.items():
            if child is None:
                child = layer[pkey][1].copy()
                child.eliminate(v)
            new_layer[ckey] = (c, child)
            back[ckey] = (pkey, v)
        layer = new_layer
    best_key = min(layer, key=lambda k: layer[k][0])
    best = layer[best_key][0]
    order = []
    k = best_key
    while k in back:
        k, v = back[k]
        order.append(v)
    return best, tuple(reversed(order))


def subset_dp(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    max_vertices: int = DP_MAX_VERTICES,
    seconds: float | None = None,
    model: CostModel | None = None,
) -> SearchResult:
    """The optimal order by exact DP over eliminated sets (free vertices first, which is safe).

    Raises ``ValueError`` if more than ``max_vertices`` non-free vertices remain and
    ``TimeoutError`` if ``seconds`` run out. The result has ``optimal=True`` and
    ``lower_bound == cost``.
    """
    model = cost_model_arg(cost_model, model)  # ``model=`` is deprecated
    t0 = time.perf_counter()
    state = make_state(graph, model)
    remaining = set(graph.eliminable)
    prefix: list[int] = []
    eliminate_free(state, remaining, prefix)
    if len(remaining) > max_vertices:
        raise ValueError(
            f"subset DP needs 2^{len(remaining)} states for {len(remaining)} vertices "
            f"(limit {max_vertices}); use anneal, beam or branch_and_bound instead"
        )
    _, block = optimal_block(state, sorted(remaining), exact_keys=not state.SET_EXACT,
                             deadline=Deadline(seconds))
    order = prefix + list(block)
    res = finish(graph, order, model, "dp", t0, optimal=True, stats={"vertices": len(remaining)})
    return replace(res, lower_bound=res.cost)


def window_move(inc: IncrementalOrder, start: int, width: int,
                deadline: Deadline | None = None) -> bool:
    """Re-order ``inc.order[start:start+width]`` optimally (in place); True if it got cheaper.

    Never makes the order more expensive: the candidate is priced exactly (including the
    suffix when the model is not set-exact) and applied only if strictly cheaper.
    """
    block_old = inc.order[start : start + width]
    if len(block_old) < 2:
        return False
    _, block = optimal_block(inc.states[start], block_old, exact_keys=False, deadline=deadline)
    if list(block) == block_old:
        return False
    if inc.block_cost(start, block) < inc.total:
        inc.apply_block(start, block)
        return True
    return False


def window_polish(
    graph: Graph,
    order: Sequence[int],
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    width: int = 10,
    max_passes: int = 20,
    deadline: Deadline | None = None,
    max_windows: int | None = None,
    model: CostModel | None = None,
) -> tuple[tuple[int, ...], int]:
    """Slide an optimal window of ``width`` over the order (stride width/2) until a full pass
    finds no improvement; returns ``(order, cost)``. Never worse than the input. Stops early
    when ``deadline`` expires or after ``max_windows`` window DPs (a budget that, unlike the
    deadline, makes the result reproducible)."""
    model = cost_model_arg(cost_model, model)  # ``model=`` is deprecated
    if width < 2:
        raise ValueError(f"window width must be >= 2, got {width}")
    windows = 0
    inc = IncrementalOrder(graph, order, model)
    n = len(inc.order)
    stride = max(1, width // 2)
    for _ in range(max_passes):
        improved = False
        starts = list(range(0, max(1, n - width + 1), stride))
        if n > width and starts[-1] != n - width:
            starts.append(n - width)
        for s in starts:
            if deadline is not None and deadline.expired():
                return tuple(inc.order), inc.total
            if max_windows is not None and windows >= max_windows:
                return tuple(inc.order), inc.total
            windows += 1
            try:
                improved |= window_move(inc, s, width, deadline)
            except TimeoutError:
                return tuple(inc.order), inc.total
        if not improved:
            break
    return tuple(inc.order), inc.total
