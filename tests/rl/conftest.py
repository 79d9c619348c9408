"""Fixtures of the RL tests: one tiny random graph on which learning is checkable in seconds."""

from __future__ import annotations

import pytest

from crosscountry_gym.envs.random_graphs import RandomGraphSpec, random_graph

# 16 vertices (13 eliminable, 3 outputs), in-degree mostly 2: random orders cost ~49 on
# average, forward 41, reverse 44, Markowitz 33 (values recomputed by the tests, not trusted).
SPEC = RandomGraphSpec(num_inputs=4, num_vertices=16, num_outputs=3, degree_probs=(0.3, 0.7))


@pytest.fixture(scope="session")
def tiny_graph():
    g = random_graph(0, SPEC)
    return g


@pytest.fixture(scope="session")
def tiny_random_mean(tiny_graph):
    from crosscountry_gym.baselines.rl.training import random_order_costs

    return float(random_order_costs(tiny_graph, 400, seed=123).mean())


@pytest.fixture(scope="session")
def observe():
    """``observe(graph, order=())``: the jax_env observation after eliminating ``order``."""
    import jax
    import jax.numpy as jnp

    from crosscountry_gym.envs import jax_env as E

    def play(graph, order=()):
        params = E.make_params(graph)

        @jax.jit
        def run(actions):
            _, st = E.reset(jax.random.PRNGKey(0), params)
            st, _ = jax.lax.scan(lambda s, a: (E.step_env(s, a, params)[0], None), st, actions)
            return E.observation(st, params)

        return run(jnp.asarray(order, jnp.int32) - 1)

    return play
