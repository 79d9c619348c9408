"""Search baselines and optimality certificates for vertex-elimination orders.

* :func:`anneal`: simulated annealing with swap/insert moves, restarts and window polish;
* :func:`beam_search`: beam search over eliminated sets;
* :func:`subset_dp`: exact DP over eliminated sets (small graphs); :func:`window_polish` /
  :func:`window_move`: re-order blocks of a long order optimally;
* :func:`branch_and_bound`: exact depth-first branch-and-bound with a transposition table;
* :func:`lower_bound`, :func:`vertex_lower_bounds`, :func:`optimality_gap`: proven bounds;
* :func:`solve`: one entry point by method name (used by ``crosscountry-gym solve``);
* :class:`IncrementalOrder`: incremental re-pricing of order changes; the states themselves
  are :mod:`crosscountry_gym.engine`'s.

Every returned cost is the reference cost (:func:`crosscountry_gym.engine.cost`) of the returned
order in the requested model. See ``docs/search.md``.
"""

# The search states are the engine's (layer 1); the old names stay as aliases.
from crosscountry_gym.engine import EliminationState as TypedState  # noqa: E402
from crosscountry_gym.engine import ScalarBitsetState as ScalarState  # noqa: E402
from crosscountry_gym.engine import is_scalar, make_state  # noqa: E402

from .annealing import anneal
from .beam import beam_search
from .bnb import branch_and_bound
from .bounds import (
    NON_SURE_TYPES,
    SURE_TYPES,
    GapReport,
    lower_bound,
    optimality_gap,
    vertex_lower_bounds,
)
from .common import SearchResult, greedy_starts
from .dp import optimal_block, subset_dp, window_move, window_polish
from .incremental import IncrementalOrder
from .solve import METHODS, solve

__all__ = [
    "METHODS",
    "NON_SURE_TYPES",
    "SURE_TYPES",
    "GapReport",
    "IncrementalOrder",
    "ScalarState",
    "SearchResult",
    "TypedState",
    "anneal",
    "beam_search",
    "branch_and_bound",
    "greedy_starts",
    "is_scalar",
    "lower_bound",
    "make_state",
    "optimal_block",
    "optimality_gap",
    "solve",
    "subset_dp",
    "vertex_lower_bounds",
    "window_move",
    "window_polish",
]
