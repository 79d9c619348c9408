"""Baselines (installed as ``crosscountry_gym.baselines``): heuristics, search, RL agents.

Heavy optional dependencies (torch / stable-baselines3, mctx / equinox / optax) are imported
only inside their own modules (``sb3_agent``, ``alphazero``), never here.
"""

from .heuristics import (
    HEURISTICS,
    forward_order,
    heuristic_order,
    markowitz_order,
    min_fill_order,
    minimal_damage_order,
    random_order,
    relative_markowitz_order,
    reverse_order,
)
from .search import (
    anneal,
    beam_search,
    branch_and_bound,
    lower_bound,
    optimality_gap,
    solve,
    subset_dp,
    vertex_lower_bounds,
    window_polish,
)

__all__ = [
    "HEURISTICS",
    "forward_order",
    "heuristic_order",
    "markowitz_order",
    "min_fill_order",
    "minimal_damage_order",
    "random_order",
    "relative_markowitz_order",
    "reverse_order",
    "anneal",
    "beam_search",
    "branch_and_bound",
    "lower_bound",
    "optimality_gap",
    "solve",
    "subset_dp",
    "vertex_lower_bounds",
    "window_polish",
]
