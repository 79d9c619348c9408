"""The greedy elimination heuristics, re-exported from :mod:`crosscountry_gym.orders`.

They live in layer 1 so that the executor (``jacobian(f, order="markowitz")``) and the
environments can use them without importing the baselines; this module keeps the names where
users found them.
"""

from crosscountry_gym.orders import (
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
