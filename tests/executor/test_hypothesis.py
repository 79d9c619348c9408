"""Property tests: random functions (``tasks.random_function``) and random elimination orders.

For every drawn function and order: the Jacobian equals ``jax.jacrev`` (float64) and the
emitted multiplications equal the exact cost of the freshly traced graph.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosscountry_gym.engine import cost
from crosscountry_gym.executor import count_multiplications, jacobian
from crosscountry_gym.executor.verify import _compare
from crosscountry_gym.tasks.random_functions import random_function
from crosscountry_gym.tracer import make_graph

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def programs(draw, max_intermediates):
    seed = draw(st.integers(0, 10_000))
    n_in = draw(st.integers(1, 3))
    n_out = draw(st.integers(1, 3))
    n_mid = draw(st.integers(max(0, n_in - 2 * n_out), max_intermediates))
    scalar_only = draw(st.booleans())
    kwargs = {"input_shapes": ((),) * n_in} if scalar_only else {"max_dim": 3}
    fn, args = random_function(seed, n_in, n_mid, n_out, **kwargs)
    order_seed = draw(st.integers(0, 2**31 - 1))
    return fn, args, order_seed


def _check(fn, args, order_seed):
    with jax.enable_x64(True):
        args = tuple(jnp.asarray(a, jnp.float64) for a in args)
        argnums = tuple(range(len(args)))
        graph = make_graph(fn, *args, argnums=argnums)
        order = list(np.random.default_rng(order_seed).permutation(graph.eliminable))
        order = [int(v) for v in order]
        got = jax.jit(jacobian(fn, order, argnums))(*args)
        ref = jax.jit(jax.jacrev(fn, argnums=argnums))(*args)
        _, rel, finite_match = _compare(got, ref)
        assert finite_match and rel <= 1e-10, rel
        assert count_multiplications(fn, order, argnums)(*args) == cost(graph, order, "exact")


@settings(max_examples=6, **SETTINGS)
@given(programs(max_intermediates=10))
def test_random_functions_and_orders_fast(case):
    _check(*case)


@pytest.mark.slow
@settings(max_examples=60, **SETTINGS)
@given(programs(max_intermediates=30))
def test_random_functions_and_orders_many(case):
    _check(*case)
