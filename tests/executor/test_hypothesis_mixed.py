"""Property tests mixing the structural, custom-rule, dense and control-flow primitives.

A drawn program is a chain of steps on a length-4 vector; each step applies one operation from
:data:`STEPS` to the current value and mixes in an earlier value (so the graph is a DAG, not a
chain). For every program and a random order: the Jacobian equals ``jax.jacrev`` (float64,
relative error <= 1e-10) and the emitted multiplications equal the exact cost.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax import lax

from crosscountry_gym.engine import cost
from crosscountry_gym.executor import count_multiplications, jacobian
from crosscountry_gym.executor.verify import _compare
from crosscountry_gym.tracer import make_graph

N = 4
IDX = jnp.array([3, 0, 0, 2])

STEPS = {
    "gather": lambda v: v[IDX],
    "scatter": lambda v: v.at[jnp.array([1, 2])].set(v[:2] * 2.0),
    "scatter_add": lambda v: v.at[jnp.array([0, 0, 3, 1])].add(jnp.sin(v)),
    "cumsum": jnp.cumsum,
    "cumprod": lambda v: jnp.cumprod(jnp.tanh(v) + 1.5),
    "sort": jnp.sort,
    "top_k": lambda v: jnp.concatenate([lax.top_k(v, 2)[0], v[2:]]),
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "gelu": jax.nn.gelu,
    "softmax": jax.nn.softmax,
    "rank3": lambda v: jnp.sum(jnp.sin(jnp.broadcast_to(v, (2, 1, N))), axis=(0, 1)),
    "scan": lambda v: lax.scan(lambda c, a: (c * 0.5 + jnp.sin(a), c * a), 0.3, v)[1],
    "cond": lambda v: lax.cond(v[0] > 0, jnp.sin, jnp.cos, v),
    "solve": lambda v: jnp.linalg.solve(jnp.eye(N) * 3.0 + jnp.outer(v, v) * 0.1, v),
    "cummax": lambda v: lax.cummax(v, axis=0),
}
MIX = [lambda a, b: a * b, lambda a, b: a + jnp.sin(b), lambda a, b: a - b * 0.5]


@st.composite
def programs(draw, max_steps):
    names = draw(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=max_steps))
    mixes = [
        (draw(st.integers(0, len(MIX) - 1)), draw(st.integers(0, k))) for k in range(len(names))
    ]
    x = draw(st.lists(st.floats(-2.0, 2.0), min_size=N, max_size=N))
    order_seed = draw(st.integers(0, 2**31 - 1))
    return names, mixes, np.asarray(x, np.float64), order_seed


def _program(names, mixes):
    def f(x):
        values = [x]
        for name, (m, src) in zip(names, mixes, strict=True):
            y = STEPS[name](values[-1])
            values.append(MIX[m](y, values[src]))
        return values[-1]

    return f


def _check(names, mixes, x, order_seed):
    with jax.enable_x64(True):
        f = _program(names, mixes)
        x = jnp.asarray(x)
        graph = make_graph(f, x)
        order = [int(v) for v in np.random.default_rng(order_seed).permutation(graph.eliminable)]
        got = jax.jit(jacobian(f, order))(x)
        ref = jax.jacrev(f)(x)
        _, rel, finite_match = _compare(got, ref)
        assert finite_match and rel <= 1e-10, (names, rel)
        assert count_multiplications(f, order)(x) == cost(graph, order, "exact")


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@settings(max_examples=8, **SETTINGS)
@given(programs(max_steps=3))
def test_mixed_primitives_fast(case):
    _check(*case)


@pytest.mark.slow
@settings(max_examples=80, **SETTINGS)
@given(programs(max_steps=6))
def test_mixed_primitives_many(case):
    _check(*case)
