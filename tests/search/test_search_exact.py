"""Exact methods against independent ground truth: subset DP = brute force, BnB = DP, the
window move never worsens an order, heuristics never beat the optimum."""

import random

import pytest
from random_dags import brute_force, scalar_dag, typed_dag

from crosscountry_gym.baselines.search import (
    IncrementalOrder,
    anneal,
    beam_search,
    branch_and_bound,
    lower_bound,
    subset_dp,
    window_move,
    window_polish,
)
from crosscountry_gym.engine import cost

MODELS = ("exact", "alphagrad")


@pytest.mark.parametrize("seed", range(8))
def test_subset_dp_equals_brute_force_scalar(seed):
    g = scalar_dag(seed, nv=8, copy_prob=0.2 if seed % 2 else 0.0)
    res = subset_dp(g)
    assert res.optimal and res.lower_bound == res.cost
    assert res.cost == cost(g, res.order) == brute_force(g, "exact")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("model", MODELS)
def test_subset_dp_equals_brute_force_typed(seed, model):
    g = typed_dag(seed, nv=7)
    res = subset_dp(g, model)
    assert res.cost == cost(g, res.order, model) == brute_force(g, model)


def test_subset_dp_refuses_large_graphs():
    g = scalar_dag(0, nv=30)
    with pytest.raises(ValueError, match="subset DP needs 2\\^"):
        subset_dp(g, max_vertices=10)


@pytest.mark.parametrize("seed", range(10))
def test_heuristics_never_beat_dp_and_bound_never_exceeds_it(seed):
    g = scalar_dag(100 + seed, ni=3, nv=14, no=3, copy_prob=0.15 if seed % 3 == 0 else 0.0)
    opt = subset_dp(g).cost
    assert lower_bound(g) <= opt
    sa = anneal(g, seconds=None, max_moves=400, seed=seed, window=4)
    assert sa.cost >= opt and sa.cost == cost(g, sa.order)
    for width in (1, 4, 16):
        bm = beam_search(g, width=width, seed=seed)
        assert bm.cost >= opt and bm.cost == cost(g, bm.order)
    bb = branch_and_bound(g, seconds=30)
    assert bb.optimal and bb.cost == opt and bb.lower_bound == opt


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("model", MODELS)
def test_typed_bnb_equals_brute_force_and_others_never_beat_it(seed, model):
    g = typed_dag(50 + seed, nv=7)
    opt = brute_force(g, model)
    assert lower_bound(g, model) <= opt
    bb = branch_and_bound(g, model, seconds=30)
    assert bb.optimal and bb.cost == opt
    assert anneal(g, model, seconds=None, max_moves=300, seed=seed).cost >= opt
    assert beam_search(g, model, width=8).cost >= opt


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("typed", [False, True])
def test_window_move_never_worsens(seed, typed):
    g = typed_dag(seed, nv=12, max_in=3) if typed else scalar_dag(seed, nv=30, copy_prob=0.1)
    rng = random.Random(seed)
    for model in MODELS:
        order = list(g.eliminable)
        rng.shuffle(order)
        inc = IncrementalOrder(g, order, model)
        for start in range(0, len(order) - 2, 3):
            before = inc.total
            improved = window_move(inc, start, 6)
            assert inc.total == cost(g, inc.order, model)
            assert inc.total < before if improved else inc.total == before
        polished, c = window_polish(g, order, model, width=6)
        assert c == cost(g, polished, model) <= cost(g, order, model)


def test_window_on_set_exact_graph_is_locally_optimal():
    """On a scalar graph, after a window move the block is optimal for its prefix: no
    permutation of it (checked by brute force on a 5-block) is cheaper."""
    import itertools

    g = scalar_dag(9, nv=20)
    order = list(g.eliminable)
    random.Random(0).shuffle(order)
    inc = IncrementalOrder(g, order)
    window_move(inc, 4, 5)
    best = min(
        cost(g, inc.order[:4] + list(p) + inc.order[9:])
        for p in itertools.permutations(inc.order[4:9])
    )
    assert inc.total == best


def test_bnb_stops_on_node_limit_without_claiming_optimality():
    g = scalar_dag(0, nv=60, ni=5, no=4)
    res = branch_and_bound(g, max_nodes=300, seconds=None)
    assert res.stats["nodes"] >= 300 and not res.stats["finished"]
    assert not res.optimal and res.lower_bound == lower_bound(g) < res.cost
    assert res.cost == cost(g, res.order)
