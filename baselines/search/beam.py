"""Beam search over eliminated sets.

Layer k holds at most ``width`` partial orders of length k, one per eliminated set (on typed
graphs, where the set does not determine the state, the cheapest partial order per set is kept;
the cost reported is still that of the actual order, replayed). Each layer expands every kept
state by every remaining vertex, priced without copying (``step_cost``), and keeps the
``width`` best children by a guide score:

* ``guide="cost"``: cost so far;
* ``guide="excess"`` (default): cost so far minus the min-cut lower bounds of the vertices
  eliminated so far, i.e. how much more than the bound the prefix has spent. This compares
  prefixes that have eliminated different vertices fairly.

Free vertices (no in- or no out-edges) are eliminated as soon as they appear; that is safe
(:func:`~.common.eliminate_free`).
"""

from __future__ import annotations

import heapq
import random
import time

from crosscountry_gym.engine import make_state
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

from .bounds import vertex_lower_bounds
from .common import Deadline, Progress, SearchResult, eliminate_free, finish

__all__ = ["beam_search"]


def beam_search(
    graph: Graph,
    cost_model: CostModel = DEFAULT_MODEL,
    *,
    width: int = 64,
    guide: str = "excess",
    seed: int = 0,
    seconds: float | None = None,
    max_expanded: int | None = None,
    progress: Progress | None = None,
    model: CostModel | None = None,
) -> SearchResult:
    """Beam search; returns the cheapest complete order found.

    ``seed`` breaks ties among equally scored children at random (reproducibly). If
    ``seconds`` runs out, the remaining layers are finished greedily (width 1), so a full
    order is always returned. ``stats["expanded"]`` counts the children priced (the work
    unit of ``solve(..., moves=N)``); once it reaches ``max_expanded`` the remaining layers are
    finished greedily too (a limit that, unlike ``seconds``, keeps the result reproducible).
    """
    model = cost_model_arg(cost_model, model)  # ``model=`` is deprecated
    t0 = time.perf_counter()
    if width < 1:
        raise ValueError(f"beam width must be >= 1, got {width}")
    if guide not in ("cost", "excess"):
        raise ValueError(f"unknown beam guide {guide!r}; use 'cost' or 'excess'")
    deadline = Deadline(seconds)
    rng = random.Random(seed)
    lb = vertex_lower_bounds(graph, model) if guide == "excess" else {}
    root = make_state(graph, model)
    remaining0 = set(graph.eliminable)
    order0: list[int] = []
    eliminate_free(root, remaining0, order0)
    # beam entry: (score, g, state, order, remaining)
    beam = [(0, 0, root, order0, remaining0)]
    n = len(graph.eliminable)
    layer = 0
    expanded = 0
    while any(entry[4] for entry in beam):
        layer += 1
        over = max_expanded is not None and expanded >= max_expanded
        w = 1 if over or deadline.expired() else width
        cands: dict[int, tuple[float, int, int, int]] = {}  # child mask -> (score, tie, idx, v)
        for idx, (score, _g, st, _, rem) in enumerate(beam):
            if not rem:
                key = st.mask
                item = (score, rng.random(), idx, 0)
                if key not in cands or item < cands[key]:
                    cands[key] = item
                continue
            expanded += len(rem)
            for v in rem:
                c = st.step_cost(v)
                s = score + c - lb.get(v, 0)
                key = st.mask | (1 << v)
                item = (s, rng.random(), idx, v)
                old = cands.get(key)
                if old is None or item < old:
                    cands[key] = item
        chosen = heapq.nsmallest(w, cands.values())
        new_beam = []
        for s, _, idx, v in chosen:
            score, g, st, order, rem = beam[idx]
            if v == 0:
                new_beam.append(beam[idx])
                continue
            st = st.copy()
            c = st.eliminate(v)
            order = order + [v]
            rem = set(rem)
            rem.discard(v)
            eliminate_free(st, rem, order)
            new_beam.append((s, g + c, st, order, rem))
        beam = new_beam
        if progress:
            progress(min(e[1] for e in beam), min(1.0, len(beam[0][3]) / max(n, 1)))
    best = min(beam, key=lambda e: e[1])
    return finish(graph, best[3], model, "beam", t0, stats={"width": width, "guide": guide,
                                                          "expanded": expanded})
