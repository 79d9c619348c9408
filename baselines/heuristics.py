"""Greedy elimination heuristics: forward, reverse, the paper's minimal Markowitz, and the
classical vertex-elimination rules of Griewank & Walther (*Evaluating Derivatives*, 2nd ed.,
ch. 9-10) and Naumann (*The Art of Differentiating Computer Programs*, 2012).

Every function takes a :class:`~crosscountry_gym.Graph` and returns a full valid order (a tuple
of vertex ids covering each non-output vertex once). The greedy rules replay elimination on the
NumPy reference state, so they see fill-in exactly as the cost model does.

Scores used by the element-level rules are *element-level*: the Markowitz degree of v is the
actual number of multiplications of eliminating v now (for scalar graphs |P(v)|·|Q(v)|, the
textbook degree).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

from crosscountry_gym.cost import ReferenceState
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import CostModel, markowitz_in_weight, markowitz_out_weight

__all__ = [
    "forward_order",
    "reverse_order",
    "markowitz_order",
    "relative_markowitz_order",
    "min_fill_order",
    "minimal_damage_order",
    "random_order",
    "HEURISTICS",
    "heuristic_order",
]


def forward_order(graph: Graph) -> tuple[int, ...]:
    """Forward mode: non-output vertices in ascending id order."""
    return graph.eliminable


def reverse_order(graph: Graph) -> tuple[int, ...]:
    """Reverse mode: non-output vertices in descending id order."""
    return graph.eliminable[::-1]


def random_order(graph: Graph, seed: int = 0) -> tuple[int, ...]:
    """A uniformly random permutation of the eliminable vertices (seeded, reproducible)."""
    order = list(graph.eliminable)
    _random.Random(seed).shuffle(order)
    return tuple(order)


# -- scores on the current state --------------------------------------------------------------


def _paper_degree(st: ReferenceState, v: int) -> int:
    """The paper's weighted degree (``cost_model.md`` 9.1): (sum w_out) * (sum w_in)."""
    ins = st.pred.get(v)
    outs = st.succ.get(st.graph.num_inputs + v)
    if not ins or not outs:
        return 0
    w_out = sum(markowitz_out_weight(rec[0], rec[1:]) for rec in outs.values())
    w_in = sum(markowitz_in_weight(rec[0], rec[1:]) for rec in ins.values())
    return w_out * w_in


def _step_cost(st: ReferenceState, v: int) -> int:
    """Multiplications of eliminating v now (the element-level Markowitz degree)."""
    ins = st.pred.get(v)
    outs = st.succ.get(st.graph.num_inputs + v)
    if not ins or not outs:
        return 0
    mul = st._c.mul  # the shared product_lookup(model)
    total = 0
    for tin, _, _, s1, s2 in ins.values():
        mul_in = mul[tin]
        for tout, t1, t2, v1, v2 in outs.values():
            size_fn, _ = mul_in[tout]
            if size_fn is not None:
                total += size_fn(t1, t2, v1, v2, s1, s2)
    return total


def _fill_in(st: ReferenceState, v: int) -> int:
    """Number of new edges eliminating v would create."""
    ins = st.pred.get(v)
    outs = st.succ.get(st.graph.num_inputs + v)
    if not ins or not outs:
        return 0
    return sum(1 for r in ins for t in outs if t not in st.succ.get(r, {}))


def _relative_markowitz(st: ReferenceState, v: int) -> float:
    """Markowitz degree relative to the cost of the edges it removes: |P||Q| / (|P|+|Q|)."""
    ins = st.pred.get(v) or {}
    outs = st.succ.get(st.graph.num_inputs + v) or {}
    if not ins or not outs:
        return 0.0
    return _step_cost(st, v) / (len(ins) + len(outs))


def _greedy(
    graph: Graph,
    score: Callable[[ReferenceState, int], float | tuple],
    model: CostModel = "exact",
) -> tuple[int, ...]:
    st = ReferenceState(graph, model)
    remaining = list(graph.eliminable)  # ascending: min() breaks ties by the lowest id
    order = []
    while remaining:
        v = min(remaining, key=lambda u: (score(st, u), u))
        st.eliminate(v)
        remaining.remove(v)
        order.append(v)
    return tuple(order)


def markowitz_order(
    graph: Graph, variant: str = "alphagrad", model: CostModel = "exact"
) -> tuple[int, ...]:
    """Greedy lowest-Markowitz-degree order; ties go to the lowest vertex id.

    * ``variant="alphagrad"``: the paper's "minimal Markowitz" with its weighted degree
      (``cost_model.md`` 9.1). Reproduces the stored ``markowitz_order`` of every task.
    * ``variant="textbook"``: the element-level Markowitz degree, i.e. the multiplications of
      eliminating v now (|P|·|Q| on scalar graphs; Griewank & Reese 1991).
    """
    if variant == "alphagrad":
        return _greedy(graph, _paper_degree, model)
    if variant == "textbook":
        return _greedy(graph, _step_cost, model)
    raise ValueError(f"unknown Markowitz variant {variant!r}; use 'alphagrad' or 'textbook'")


def relative_markowitz_order(graph: Graph, model: CostModel = "exact") -> tuple[int, ...]:
    """Lowest relative Markowitz degree: cost(v) / (|P(v)| + |Q(v)|) (Naumann 2012)."""
    return _greedy(graph, _relative_markowitz, model)


def min_fill_order(graph: Graph, model: CostModel = "exact") -> tuple[int, ...]:
    """Lowest fill-in first (fewest new edges), then lowest element-level Markowitz degree."""
    return _greedy(graph, lambda st, v: (_fill_in(st, v), _step_cost(st, v)), model)


def minimal_damage_order(graph: Graph, model: CostModel = "exact") -> tuple[int, ...]:
    """Lowest Markowitz degree among the vertices of minimal damage (fill-in), i.e. the
    "lowest-Markowitz-minimal-damage" rule: fewest new edges first, ties by the element-level
    degree. Damage is counted as fill-in minus the edges the step removes, so eliminating a
    vertex that shrinks the graph is preferred."""

    def score(st: ReferenceState, v: int):
        ins = st.pred.get(v) or {}
        outs = st.succ.get(st.graph.num_inputs + v) or {}
        damage = _fill_in(st, v) - len(ins) - len(outs)
        return (damage, _step_cost(st, v))

    return _greedy(graph, score, model)


HEURISTICS: dict[str, Callable[[Graph], tuple[int, ...]]] = {
    "forward": forward_order,
    "reverse": reverse_order,
    "markowitz": markowitz_order,
    "markowitz_textbook": lambda g: markowitz_order(g, "textbook"),
    "relative_markowitz": relative_markowitz_order,
    "min_fill": min_fill_order,
    "minimal_damage": minimal_damage_order,
}
"""Deterministic heuristics by name (``markowitz`` is the paper's variant)."""


def heuristic_order(graph: Graph, name: str) -> tuple[int, ...]:
    """Order of the heuristic called ``name`` (see :data:`HEURISTICS`, plus ``random:SEED``)."""
    if name.startswith("random"):
        _, _, seed = name.partition(":")
        return random_order(graph, int(seed or 0))
    if name not in HEURISTICS:
        raise ValueError(f"unknown heuristic {name!r}; choose from {', '.join(HEURISTICS)}, random:SEED")
    return HEURISTICS[name](graph)



