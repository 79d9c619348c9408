"""The executor on everyday JAX code: custom rules, rank > 2, gather/scatter, control flow,
linear algebra, composition. Oracle: ``jax.jacrev`` (float64: relative error <= 1e-10;
float32: <= 1e-4); multiplication counts against the cost model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from coverage_functions import FUNCTIONS, KINK_FUNCTIONS, KINKS

import crosscountry_gym as ccg
from crosscountry_gym.executor import count_multiplications
from crosscountry_gym.orders import random_order


def _rel_err(got, want) -> float:
    g = jax.tree_util.tree_leaves(got)
    w = jax.tree_util.tree_leaves(want)
    assert len(g) == len(w)
    err = 0.0
    for a, b in zip(g, w, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(1.0, float(jnp.max(jnp.abs(b))) if b.size else 1.0)
        err = max(err, float(jnp.max(jnp.abs(a - b))) / scale if b.size else 0.0)
    return err


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_matches_jacrev_float64(name, x64):
    f, make = FUNCTIONS[name]
    args = make(np.random.default_rng(0))
    want = jax.jacrev(f)(*args)
    graph = ccg.make_graph(f, *args)
    orders = ["fwd", "rev", "auto", *(random_order(graph, s) for s in range(3))]
    for order in orders:
        got = ccg.jacobian(f, order=order)(*args)
        assert _rel_err(got, want) <= 1e-10, (name, order)
        muls = count_multiplications(f, order)(*args)
        assert muls == ccg.cost(graph, order if not isinstance(order, str) else
                                ccg.orders.heuristic_order(graph, order), "exact"), (name, order)


@pytest.mark.parametrize("name", ["relu", "softmax", "rank3_reduce", "gather", "scan", "solve",
                                  "sort", "attention", "hessian"])
def test_matches_jacrev_float32_under_jit_vmap(name):
    f, make = FUNCTIONS[name]
    rng = np.random.default_rng(1)
    batch = np.stack([make(rng)[0] for _ in range(3)]).astype(np.float32)
    got = jax.jit(jax.vmap(ccg.jacobian(f, order="auto")))(batch)
    want = jax.vmap(jax.jacrev(f))(batch)
    assert _rel_err(got, want) <= 1e-4


@pytest.mark.parametrize("name", sorted(KINKS))
def test_kinks_and_ties_follow_jax(name, x64):
    f, x = KINK_FUNCTIONS[name], KINKS[name]
    want = jax.jacrev(f)(x)
    for order in ("fwd", "rev"):
        np.testing.assert_array_equal(np.asarray(ccg.jacobian(f, order=order)(x)), want)


def test_softplus_and_relu_at_zero_are_jaxs(x64):
    np.testing.assert_allclose(ccg.jacobian(jax.nn.softplus)(jnp.zeros(2)), 0.5 * np.eye(2))
    np.testing.assert_array_equal(ccg.jacobian(jax.nn.relu)(jnp.zeros(2)), np.zeros((2, 2)))


def test_zero_initialised_logistic_regression_has_a_gradient(x64):
    optax = pytest.importorskip("optax")
    X = np.random.default_rng(0).normal(size=(6, 3))
    y = (X[:, 0] > 0).astype(np.float64)

    def loss(w):
        return jnp.mean(optax.sigmoid_binary_cross_entropy(X @ w, y))

    got = ccg.jacobian(loss)(jnp.zeros(3))
    want = jax.grad(loss)(jnp.zeros(3))
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_custom_rule_types_come_from_the_rule():
    # relu's rule is elementwise: one diagonal edge, not dense
    g = ccg.make_graph(jax.nn.relu, np.ones(5, np.float32))
    assert [e.type for e in g.edges] == [2]
    # a straight-through rule has a derivative where the primal (round) has none
    g = ccg.make_graph(lambda x: FUNCTIONS["straight_through"][0](x), np.ones(3, np.float32))
    custom = g.vertex_labels.index("custom_jvp_call") + 1
    assert [(e.source, e.type) for e in g.edges if e.target == custom] == [(1, -6)]


def test_jax_transforms_over_the_executor(x64):
    f = lambda x: jnp.sin(x) * jnp.sum(x ** 2)  # noqa: E731
    x = np.random.default_rng(2).normal(size=3)
    jac = ccg.jacobian(f)
    np.testing.assert_allclose(jax.jacfwd(jac)(x), jax.hessian(f)(x), rtol=1e-12)
    np.testing.assert_allclose(jax.jacrev(jac)(x), jax.hessian(f)(x), rtol=1e-12)
    t = np.ones(3)
    np.testing.assert_allclose(
        jax.jvp(jac, (x,), (t,))[1], jax.jvp(jax.jacrev(f), (x,), (t,))[1], rtol=1e-12
    )
    np.testing.assert_allclose(
        ccg.jacobian(ccg.jacobian(f))(x), jax.hessian(f)(x), rtol=1e-12
    )


def test_dense_vertex_is_charged_dense():
    # cholesky has no structural rule: its edge is dense in both models, and the executor's
    # multiplications agree with the cost
    f = lambda a: jnp.linalg.cholesky(a @ a.T + 4.0 * jnp.eye(3)).sum(0)  # noqa: E731
    a = np.eye(3, dtype=np.float32)
    for cm in ("exact", "alphagrad"):
        g = ccg.make_graph(f, a, cost_model=cm)
        assert 1 in {e.type for e in g.edges}
        labels = g.vertex_labels
        chol = labels.index("cholesky") + 1
        assert [e.type for e in g.edges if e.target == chol] == [1]
