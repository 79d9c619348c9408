"""Shared-term rules for elementwise primals and partials (``crosscountry_gym.executor.elementwise``).

Oracles: ``jax.jacrev`` for the Jacobians (also at the special points 0 and +inf of ``sqrt``,
and with literal and repeated operands), the exact cost for the multiplication count, and a
direct count of the expensive primitives in the emitted program for the sharing claim.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend import core as jcore

from crosscountry_gym.engine import cost
from crosscountry_gym.executor import count_multiplications, jacobian
from crosscountry_gym.tracer import make_graph


def _div_family(x, y):
    return jnp.stack([x / y, 2.0 / y, x / 3.0, y / y, jnp.log(y) * x, x * y ** -2, y ** -1])


def _sqrt_family(x, y):
    s = jnp.sqrt(x)
    return jnp.stack([s * y, y / s, jax.lax.rsqrt(y) + s, jnp.arctan2(x, y), jnp.arctan2(x, x)])


def _mixed(x, y):
    a = jnp.sqrt(x * x + y * y)
    b = (x - y) / a
    return jnp.stack([b * jnp.log(a), b ** -3, a / (1.0 + b * b)])


CASES = {"div_family": _div_family, "sqrt_family": _sqrt_family, "mixed": _mixed}
ORDERS = ("fwd", "rev", "markowitz")


def _args(dtype):
    x = jnp.asarray([0.7, 1.9, 3.3], dtype)
    y = jnp.asarray([1.3, 0.4, 2.2], dtype)
    return x, y


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_jacrev_float64(x64, name, order):
    f = CASES[name]
    args = _args(jnp.float64)
    got = jax.jit(jacobian(f, order, argnums=(0, 1)))(*args)
    ref = jax.jacrev(f, argnums=(0, 1))(*args)
    for g, r in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(ref), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_equals_jacrev_float32_vmapped(name):
    f = CASES[name]
    x = jnp.linspace(0.3, 2.0, 16 * 3, dtype=jnp.float32).reshape(16, 3)
    y = jnp.linspace(1.1, 0.2, 16 * 3, dtype=jnp.float32).reshape(16, 3)
    got = jax.jit(jax.vmap(jacobian(f, "rev", argnums=(0, 1))))(x, y)
    ref = jax.vmap(jax.jacrev(f, argnums=(0, 1)))(x, y)
    for g, r in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(ref), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-5, atol=1e-5)


def test_sqrt_special_points_match_jax():
    """``sqrt`` via ``x * rsqrt(x)`` would give NaN at 0 and +inf; the rule keeps JAX's values."""

    def f(x, y):
        return jnp.sqrt(x) * y  # d/dy = sqrt(x): finite at 0 and inf

    x = jnp.asarray([0.0, jnp.inf, 4.0])
    y = jnp.asarray([2.0, 3.0, 5.0])
    got = np.asarray(jacobian(f, "rev", argnums=1)(x, y))
    ref = np.asarray(jax.jacrev(f, argnums=1)(x, y))
    # jacrev's off-diagonal entries are 0 * inf = NaN where x = inf; ours are structural zeros
    np.testing.assert_array_equal(np.diag(got), np.diag(ref))
    np.testing.assert_array_equal(np.diag(got), np.sqrt(np.asarray(x)))
    assert np.all(got[~np.eye(3, dtype=bool)] == 0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_count_still_equals_exact_cost(name):
    f = CASES[name]
    args = _args(jnp.float32)
    graph = make_graph(f, *args, argnums=(0, 1))
    for order in ORDERS:
        counted = count_multiplications(f, order, argnums=(0, 1))(*args)
        from crosscountry_gym.executor import resolve_order

        assert counted == cost(graph, resolve_order(graph, order), "exact")


def _count_prims(fn, args, names):
    jaxpr = jax.make_jaxpr(fn)(*args)
    found = {n: 0 for n in names}

    def walk(jp):
        for eqn in jp.eqns:
            for sub in jcore.jaxprs_in_params(eqn.params):
                walk(getattr(sub, "jaxpr", sub))
            if eqn.primitive.name in found:
                found[eqn.primitive.name] += 1

    walk(jaxpr.jaxpr)
    return found


def test_one_reciprocal_per_denominator():
    """``a/b``, ``c/b`` and the partials ``1/b`` and ``-a/b**2``: one divide in the whole program
    (JAX's own rules spend several), so XLA has one expensive value to materialize."""

    def f(a, b, c):
        return jnp.stack([a / b, c / b])

    args = tuple(jnp.asarray([1.0, 2.0, 3.0]) + k for k in range(3))
    ours = _count_prims(jacobian(f, "rev", argnums=(0, 1, 2)), args, ["div", "integer_pow"])
    theirs = _count_prims(jax.jacrev(f, argnums=(0, 1, 2)), args, ["div", "integer_pow"])
    assert ours == {"div": 1, "integer_pow": 0}, ours
    assert theirs["div"] + theirs["integer_pow"] > 1, theirs


def test_one_rsqrt_per_sqrt():
    def f(x):
        return jnp.sqrt(x) * 3.0

    ours = _count_prims(jacobian(f, "rev"), (jnp.asarray([1.0, 2.0]),), ["sqrt", "rsqrt", "div"])
    assert ours == {"sqrt": 0, "rsqrt": 1, "div": 0}, ours
