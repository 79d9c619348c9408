"""Lower bounds: the algebraic facts their proof rests on, validity, and the paper tasks."""

import random

import pytest
from random_dags import brute_force, scalar_dag, typed_dag

from crosscountry_gym import tasks
from crosscountry_gym.baselines.search import (
    NON_SURE_TYPES,
    SURE_TYPES,
    lower_bound,
    make_state,
    optimality_gap,
    subset_dp,
    vertex_lower_bounds,
)
from crosscountry_gym.baselines.search.dp import optimal_block
from crosscountry_gym.engine import cost
from crosscountry_gym.sparsity import CODES, merge_rule, product_rule

MODELS = ("exact", "alphagrad")


@pytest.mark.parametrize("model", MODELS)
def test_sure_types_are_closed_and_cost_at_least_one(model):
    """The three facts of the proof, over every type pair of the model's tables."""
    for b in SURE_TYPES:
        for a in CODES:
            if a:
                assert product_rule(a, b, model).result in SURE_TYPES  # sure out-edge side
                assert product_rule(b, a, model).result in SURE_TYPES  # sure in-edge side
            assert merge_rule(a, b, model) in SURE_TYPES
            assert merge_rule(b, a, model) in SURE_TYPES
        for a in SURE_TYPES:
            assert product_rule(a, b, model).const >= 1
    # why the others are excluded: they can make a product free
    for t in (-1, -6, -7, 11):
        assert product_rule(t, 1, model).const == 0 and product_rule(1, t, model).const == 0
    if model == "alphagrad":
        assert product_rule(-10, -10, model).const == 0 and product_rule(10, -10, model).const == 0
    assert NON_SURE_TYPES | SURE_TYPES == set(CODES)


@pytest.mark.parametrize("seed", range(12))
def test_bound_never_exceeds_optimum_scalar(seed):
    g = scalar_dag(200 + seed, nv=13, no=2 + seed % 3, copy_prob=0.2 if seed % 2 else 0.0)
    opt = subset_dp(g)
    assert lower_bound(g) <= opt.cost
    # the bound of an intermediate state bounds the optimal completion from it
    st = make_state(g)
    rng = random.Random(seed)
    prefix = rng.sample(list(g.eliminable), 5)
    spent = sum(st.eliminate(v) for v in prefix)
    rest = [v for v in g.eliminable if v not in prefix]
    best_rest, _ = optimal_block(st, rest)
    assert lower_bound(g, state=st) <= best_rest
    # and it never falls below the root bound of those remaining vertices (cuts only grow)
    root = vertex_lower_bounds(g)
    now = vertex_lower_bounds(g, state=st)
    assert all(now[v] >= root[v] for v in rest)
    assert spent >= 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("model", MODELS)
def test_bound_never_exceeds_optimum_typed(seed, model):
    g = typed_dag(300 + seed, nv=7)
    assert lower_bound(g, model) <= brute_force(g, model)


def test_bound_is_tight_on_a_chain_and_a_product():
    from crosscountry_gym.graph import Graph

    # x -> v1 -> v2 -> v3 (output): each step costs 1, the bound is 1 + 1
    chain = Graph.from_records(1, 3, [[1, 1, 1, 1, 1, 1, 1], [2, 2, 1, 1, 1, 1, 1],
                                      [3, 3, 1, 1, 1, 1, 1]], [3])
    assert lower_bound(chain) == 2 == subset_dp(chain).cost
    # two inputs -> v1 -> two outputs: 2 disjoint paths in and out, cost 4
    fan = Graph.from_records(2, 3, [[1, 1, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1, 1],
                                    [3, 2, 1, 1, 1, 1, 1], [3, 3, 1, 1, 1, 1, 1]], [2, 3])
    assert vertex_lower_bounds(fan) == {1: 4}
    # a copy in-edge makes the vertex free: the bound must drop to 0
    copy = Graph.from_records(1, 2, [[1, 1, -1, 1, 1, 1, 1], [2, 2, 1, 1, 1, 1, 1]], [2])
    assert lower_bound(copy) == 0 == cost(copy, [1])


@pytest.mark.parametrize("name", tasks.names())
def test_paper_tasks_bound_below_published_orders(name):
    t = tasks.load(name)
    for model in MODELS:
        assert lower_bound(t.graph, model) <= cost(t.graph, t.paper.best_order, model)


@pytest.mark.parametrize("name", ["HumanHeartDipole", "PropaneCombustion"])
def test_published_orders_proven_optimal(name):
    """The min-cut bound certifies the paper's orders on these two tasks as optimal."""
    t = tasks.load(name)
    rep = optimality_gap(t.graph, t.paper.best_order, "alphagrad")
    assert rep.cost == t.paper.best_cost
    assert rep.proven_optimal and rep.gap == 0 and "proven optimal" in str(rep)


def test_optimality_gap_report_and_errors():
    t = tasks.load("RoeFlux_1d")
    rep = optimality_gap(t.graph, t.paper.best_order)
    assert rep.cost == 320 and rep.lower_bound == lower_bound(t.graph) and rep.gap > 0
    assert 0 < rep.relative_gap < 1 and not rep.proven_optimal
    assert optimality_gap(t.graph, t.paper.best_order, bound=300).lower_bound == 300
    with pytest.raises(ValueError, match="not a bound"):
        optimality_gap(t.graph, t.paper.best_order, bound=321)
    with pytest.raises(ValueError):
        optimality_gap(t.graph, [1, 2, 3])
