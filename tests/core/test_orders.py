"""Heuristic baselines return full valid orders; the seeded random order is reproducible."""

import pytest

from crosscountry_gym import Graph, cost, tasks, validate_order
from crosscountry_gym.baselines import HEURISTICS, heuristic_order, markowitz_order, random_order


@pytest.mark.parametrize("name", tasks.names())
def test_every_heuristic_returns_a_valid_order(name):
    g = tasks.load(name).graph
    for h in [*HEURISTICS, "random:3"]:
        order = heuristic_order(g, h)
        assert validate_order(g, order) == tuple(order)


def test_random_order_is_seeded():
    g = tasks.load("RoeFlux_1d").graph
    assert random_order(g, 1) == random_order(g, 1)
    assert random_order(g, 1) != random_order(g, 2)


def test_textbook_markowitz_on_a_hand_example():
    # Scalar graph: x1, x2 -> a -> b, c (outputs). a has |P|=2, |Q|=2 -> degree 4.
    # d: x1 -> d -> b: degree 1. Textbook greedy takes d (degree 1) before a (4).
    s = [1, 1, 1, 1]
    g = Graph.from_records(
        2, 4,
        [[1, 1, 1, *s], [2, 1, 1, *s], [1, 2, 1, *s], [3, 3, 1, *s], [3, 4, 1, *s], [4, 3, 1, *s]],
        [3, 4],
    )
    assert markowitz_order(g, "textbook") == (2, 1)
    assert cost(g, (2, 1)) == 1 + 4


def test_unknown_heuristic_is_named():
    g = tasks.load("RoeFlux_1d").graph
    with pytest.raises(ValueError, match="unknown order name 'magic'"):
        heuristic_order(g, "magic")
    with pytest.raises(ValueError, match="unknown Markowitz variant"):
        markowitz_order(g, "greedy")
