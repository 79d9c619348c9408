"""The reachability functions of the engine: ``reachable_pairs`` / ``max_edge_count`` (no state
ever holds an edge outside them) and ``vertex_cost_bounds`` / ``cost_upper_bound`` (no step and
no order ever costs more), against brute force on small graphs and random orders on every
task, in both cost models."""

from __future__ import annotations

import itertools
import random

import pytest
from random_dags import SHAPES, TYPED_CODES, scalar_dag, typed_dag

from crosscountry_gym import Graph, tasks
from crosscountry_gym.engine import (
    EliminationState,
    cost,
    cost_upper_bound,
    max_edge_count,
    reachable_pairs,
    vertex_cost_bounds,
)
from crosscountry_gym.sparsity import CODES, MODELS, product_rule


def _check_order(g: Graph, order, model: str) -> int:
    """Eliminate ``order`` step by step, checking every step cost against its vertex bound and
    every intermediate edge set against the reachable pairs; returns the total cost."""
    bounds = vertex_cost_bounds(g)
    pairs = set(reachable_pairs(g))
    st = EliminationState(g, model)
    total = 0
    for v in order:
        c = st.eliminate(v)
        assert c <= bounds[v - 1], (g.name, model, v, c, bounds[v - 1])
        total += c
        edges = {(e.source, e.target) for e in st.to_graph().edges}
        assert edges <= pairs
        assert len(edges) <= max_edge_count(g)
    return total


def test_every_product_costs_a_subset_of_the_six_sizes():
    """The premise of the bound: a product costs 0 or 1 times a product of distinct sizes."""
    for model in MODELS:
        for a, b in itertools.product(CODES, CODES):
            if a and b:
                pr = product_rule(a, b, model)
                assert pr.const in (0, 1) and set(pr.exponents) <= {0, 1}


def _random_shape_dag(seed: int) -> Graph:
    """A typed DAG whose edge records carry unrelated shapes (the engine allows this): the bound
    must use the largest recorded size per row and per vertex."""
    rng = random.Random(seed)
    base = typed_dag(seed, ni=2, nv=7)
    recs = [[e.source, e.target, rng.choice(TYPED_CODES), *rng.choice(SHAPES), *rng.choice(SHAPES)]
            for e in base.edges]
    return Graph.from_records(base.num_inputs, base.num_vertices, recs, base.outputs,
                              name=f"shapes{seed}")


SMALL = ([scalar_dag(s, ni=2, nv=7, no=1, copy_prob=0.3) for s in range(4)]
         + [typed_dag(s, ni=2, nv=7, no=1) for s in range(6)]
         + [_random_shape_dag(s) for s in range(3)])


@pytest.mark.parametrize("g", SMALL, ids=lambda g: g.name)
def test_bound_holds_for_every_order_of_small_graphs(g):
    """Brute force: every order (all permutations) of graphs with up to 6 eliminable vertices."""
    assert len(g.eliminable) <= 6
    u = cost_upper_bound(g)
    for model in MODELS:
        worst = 0
        for order in itertools.permutations(g.eliminable):
            total = _check_order(g, order, model)
            assert total == cost(g, order, model)
            worst = max(worst, total)
        assert worst <= u


@pytest.mark.parametrize("name", tasks.names())
def test_bound_holds_on_every_task(name):
    """Forward, reverse, the published order and random orders of every task, both models."""
    task = tasks.load(name)
    g = task.graph
    u = cost_upper_bound(g)
    rng = random.Random(0)
    orders = [list(g.eliminable), list(reversed(g.eliminable)), list(task.paper.best_order)]
    orders += [rng.sample(g.eliminable, len(g.eliminable)) for _ in range(3)]
    for model in MODELS:
        for i, order in enumerate(orders):
            if i < 4:  # the step and edge checks are O(edges) per step: a few orders suffice
                total = _check_order(g, order, model)
            else:
                total = cost(g, order, model)
            assert total <= u
    for _ in range(40):
        assert cost(g, rng.sample(g.eliminable, len(g.eliminable))) <= u


def test_bound_is_exact_for_one_dense_tensor_product():
    """x (2, 3) -> v (3, 1) -> y (4, 1), dense: the one product costs |y| |v| |x| = 4 * 3 * 6."""
    g = Graph.from_records(1, 2, [[1, 1, 1, 3, 1, 2, 3], [2, 2, 1, 4, 1, 3, 1]], [2])
    assert cost(g, [1]) == cost_upper_bound(g) == 72
    assert vertex_cost_bounds(g) == (72, 0)  # the output has no descendants
    assert reachable_pairs(g) == ((1, 1), (1, 2), (2, 2))
    assert max_edge_count(g) == 3


def test_reachability_follows_paths_not_ids():
    """Ids need not be topological (as in BlackScholes_Jacobian): vertex 1 reads vertex 2."""
    # x1 -> v2 -> v1 -> v3 (output); x1 -> v3
    g = Graph.from_records(1, 3, [[1, 2, 1, 1, 1, 1, 1], [3, 1, 1, 1, 1, 1, 1],
                                  [2, 3, 1, 1, 1, 1, 1], [1, 3, 1, 1, 1, 1, 1]], [3])
    assert reachable_pairs(g) == ((1, 1), (1, 2), (1, 3), (2, 3), (3, 1), (3, 3))
    # v1: ancestors {x1, v2}, descendants {v3}; v2: ancestors {x1}, descendants {v1, v3}
    assert vertex_cost_bounds(g) == (2, 2, 0)
    assert max(cost(g, o) for o in itertools.permutations(g.eliminable)) <= cost_upper_bound(g)
