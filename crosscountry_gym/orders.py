"""Elimination orders: the named ones, the greedy heuristics, parsing, and the reference costs.

Everything above layer 1 that needs "forward", "reverse" or "Markowitz" gets it here, once:

* :func:`forward_order`, :func:`reverse_order`, :func:`random_order`;
* the greedy rules, which replay elimination on :class:`~crosscountry_gym.engine.EliminationState`
  and so see fill-in exactly as the cost model does: :func:`markowitz_order` (the paper's
  "minimal Markowitz", or the textbook element-level degree), :func:`relative_markowitz_order`,
  :func:`min_fill_order`, :func:`minimal_damage_order` (Griewank & Walther, *Evaluating
  Derivatives*, 2nd ed., ch. 9-10; Naumann, *The Art of Differentiating Computer Programs*,
  2012); :data:`HEURISTICS` by name;
* :func:`parse_order` (checks that need no graph) and :func:`resolve_order` (a name or a list of
  ids -> a validated full order of a graph), on top of the one validator
  :func:`~crosscountry_gym.engine.validate_order`;
* :func:`reference_costs`: forward / reverse / Markowitz costs of a graph, computed once per
  (graph, cost model) and shared by the leaderboard, RL training, the CLI and the benchmarks.

Scores are element-level: the Markowitz degree of v is the number of multiplications of
eliminating v now (|P(v)|·|Q(v)| on scalar graphs). Every rule breaks ties by the lowest id.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .engine import EliminationState, InvalidOrderError, _check_graph, _memo, cost, validate_order
from .graph import Graph
from .sparsity import (
    DEFAULT_MODEL,
    CostModel,
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
    "ORDER_NAMES",
    "OrderSpec",
    "parse_order",
    "resolve_order",
    "ReferenceCosts",
    "reference_costs",
]

OrderSpec = str | Sequence[int]
"""An order as users give it: a name (:data:`ORDER_NAMES`, a heuristic, ``random:SEED``) or a
sequence of vertex ids."""


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
    graph: Graph, score: Callable[[EliminationState, int], Any], cost_model: CostModel
) -> tuple[int, ...]:
    st = EliminationState(graph, cost_model)
    remaining = list(graph.eliminable)  # ascending: min() breaks ties by the lowest id
    order = []
    while remaining:
        v = min(remaining, key=lambda u: (score(st, u), u))
        st._eliminate(v)
        remaining.remove(v)
        order.append(v)
    return tuple(order)


def markowitz_order(
    graph: Graph, variant: str = "alphagrad", cost_model: CostModel = DEFAULT_MODEL, *,
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
    return _greedy(graph, _min_fill, cost_model_arg(cost_model, model))


def minimal_damage_order(
    graph: Graph, cost_model: CostModel = DEFAULT_MODEL, *, model: CostModel | None = None
) -> tuple[int, ...]:
    """"Lowest Markowitz, minimal damage": the least damage first (fill-in minus the edges the
    step removes, so a step that shrinks the graph is preferred), ties by element-level degree."""
    return _greedy(graph, _minimal_damage, cost_model_arg(cost_model, model))


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
ORDER_NAMES: tuple[str, ...] = ("fwd", "rev", *HEURISTICS, "random:SEED")
"""Every order name :func:`resolve_order` accepts."""


def heuristic_order(graph: Graph, name: str) -> tuple[int, ...]:
    """The order of the heuristic called ``name`` (:data:`HEURISTICS`, ``fwd``/``rev``, or
    ``random:SEED``)."""
    key = name.strip().lower() if isinstance(name, str) else name
    key = _ALIASES.get(key, key)
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
            raise InvalidOrderError(f"order[{pos}] = {v} repeats vertex {v} (first at position {seen[v]})")
        seen[v] = pos
    return tuple(int(v) for v in items)


def resolve_order(graph: Graph, order: OrderSpec) -> tuple[int, ...]:
    """A full, validated elimination order of ``graph`` from a name or a list of vertex ids.

    Names: "fwd"/"forward", "rev"/"reverse", "markowitz" (the paper's minimal Markowitz), any
    other key of :data:`HEURISTICS`, or "random:SEED". Raises :class:`InvalidOrderError` naming
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
