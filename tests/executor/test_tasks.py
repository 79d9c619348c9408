"""The executor on the ten benchmark tasks (their JAX functions, freshly traced).

For every task: the forward, reverse, Markowitz and paper-best orders plus five seeded random
orders give Jacobians equal to ``jax.jacrev`` (float64: normwise rel. error <= 1e-10; float32:
<= 1e-4; non-finite entries must coincide), and the multiplications the executor emits equal
``cost(make_graph(task.fn, *task.args), order, "exact")``. On the five all-scalar tasks whose
traced graph is the frozen paper graph, the counts also equal the paper's published numbers
(executor.md section 6.6). The full sweep is ``slow``; a fast subset runs by default.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from crosscountry_gym import tasks
from crosscountry_gym.baselines.heuristics import random_order
from crosscountry_gym.cost import cost
from crosscountry_gym.executor import _compare, count_multiplications, jacobian, resolve_order
from crosscountry_gym.trace import make_graph

SCALAR_REFERENCE = ["RoeFlux_1d", "RobotArm_6DOF", "HumanHeartDipole", "PropaneCombustion",
                    "RandomFunction_g"]
TOL = {"float64": 1e-10, "float32": 1e-4}


def _args(task, dtype):
    args = task.args  # built outside any x64 context: the example values do not depend on it
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), tuple(args))


def _paper_best(task, graph):
    """The published best order in the traced graph's ids (None where no vertex map exists)."""
    from crosscountry_gym.tasks.fidelity import translate_order

    try:
        order = translate_order(task.name, task.paper.best_order, rules="exact")
    except ValueError:
        return None
    resolve_order(graph, order)
    return order


def _orders(task, graph):
    orders = {"fwd": "fwd", "rev": "rev", "markowitz": "markowitz"}
    best = _paper_best(task, graph)
    if best is not None:
        orders["paper_best"] = best
    for seed in range(5):
        orders[f"random{seed}"] = random_order(graph, seed)
    return orders


def _check_task(name, dtype, order_names=None):
    task = tasks.load(name)
    args0 = task.args
    with jax.enable_x64(dtype == "float64"):
        args = _args(task, dtype) if dtype == "float64" else tuple(args0)
        argnums = tuple(range(len(args)))
        graph = make_graph(task.fn, *args, argnums=argnums)
        orders = _orders(task, graph)
        if name != "BlackScholes_Jacobian":
            assert "paper_best" in orders, "the published order should translate"
        ref = jax.jit(jax.jacrev(task.fn, argnums=argnums))(*args)
        for oname, order in orders.items():
            if order_names is not None and oname not in order_names:
                continue
            got = jax.jit(jacobian(task.fn, order, argnums))(*args)
            _, rel, finite_match = _compare(got, ref)
            assert finite_match, (name, oname)
            assert rel <= TOL[dtype], (name, oname, rel)
            want = cost(graph, resolve_order(graph, order), "exact")
            assert count_multiplications(task.fn, order, argnums)(*args) == want, (name, oname)


def test_roeflux_1d_counts_reproduce_the_paper():
    task = tasks.load("RoeFlux_1d")
    p = task.paper
    fn, args = task.fn, task.args
    argnums = tuple(range(len(args)))
    got = [count_multiplications(fn, o, argnums)(*args)
           for o in ("fwd", "rev", "markowitz", p.best_order)]
    assert got == [p.fwd, p.rev, p.markowitz, p.best_cost] == [620, 364, 407, 320]


def test_fast_subset_roeflux_best_and_mlp_rev():
    _check_task("RoeFlux_1d", "float64", {"paper_best", "random0"})
    _check_task("MLP", "float32", {"rev"})


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", tasks.names())
def test_every_task_every_order(name, dtype):
    _check_task(name, dtype)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCALAR_REFERENCE)
def test_scalar_tasks_count_the_paper_numbers(name):
    task = tasks.load(name)
    p = task.paper
    args = task.args
    argnums = tuple(range(len(args)))
    graph = make_graph(task.fn, *args, argnums=argnums)
    assert graph.edges == task.graph.edges and graph.outputs == task.graph.outputs
    got = [count_multiplications(task.fn, o, argnums)(*args)
           for o in ("fwd", "rev", list(p.markowitz_order), list(p.best_order))]
    assert got == [p.fwd, p.rev, p.markowitz, p.best_cost]
