"""The functional JAX env: jit/vmap rollouts against the reference cost, auto-reset, pools of
graphs padded to one size, random graphs, the no-reset step used by tree search."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.envs import jax_env as E
from crosscountry_gym.envs.random_graphs import RandomGraphSpec, random_graph

_reset = jax.jit(E.reset)
_step_env = jax.jit(E.step_env)


@partial(jax.jit, static_argnums=(2, 3))
def _rollout(params, key, n_envs, n_steps):
    def policy(k, state):
        logits = jnp.where(E.action_mask(state), 0.0, -jnp.inf)
        return jax.random.categorical(k, logits)

    def one_step(states, k):
        k_act, k_env = jax.random.split(k)
        acts = jax.vmap(policy)(jax.random.split(k_act, n_envs), states)
        obs, states, r, term, trunc, info = jax.vmap(E.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, n_envs), states, acts, params
        )
        return states, (r, term, trunc, info["cost"], info["final_order"])

    k0, k1 = jax.random.split(key)
    _, states = jax.vmap(E.reset, in_axes=(0, None))(jax.random.split(k0, n_envs), params)
    return jax.lax.scan(one_step, states, jax.random.split(k1, n_steps))[1]


def masked_random_rollout(params, key, n_envs, n_steps):
    """A jitted lax.scan rollout of a uniformly random masked policy; returns per-step
    (rewards, terminated, truncated, cost, final_order) stacked over time."""
    return jax.device_get(_rollout(params, key, n_envs, n_steps))


@pytest.mark.parametrize("model", ["exact", "alphagrad"])
def test_pool_rollout_returns_equal_minus_reference_cost(model):
    """Pool of three tasks padded to one size (typed kernel); every finished episode's summed
    reward equals -scale * cost(graph, order) with the graph identified by its order."""
    names = ["MLP", "RandomFunction_f", "PropaneCombustion"]
    graphs = [tasks.load(n).graph for n in names]
    params = E.make_params(graphs, cost_model=model, reward_scale=0.5)
    assert params.kind == "typed" and params.max_vertices == 80
    r, term, trunc, costs, orders = masked_random_rollout(params, jax.random.key(0), 4, 160)
    assert not trunc.any()
    ret = np.zeros(4)
    episodes = 0
    for t in range(r.shape[0]):
        ret += r[t]
        for i in np.flatnonzero(term[t]):
            order = [int(v) for v in orders[t, i] if v]
            g = next(g for g in graphs if sorted(order) == list(g.eliminable))
            c = cost(g, order, model)
            assert costs[t, i] == c
            assert ret[i] == pytest.approx(-0.5 * c)
            ret[i] = 0
            episodes += 1
    assert episodes >= 6


def test_dense_kernel_rollout_and_autoreset():
    g = tasks.load("RoeFlux_1d").graph
    params = E.make_params(g)
    assert params.kind == "dense"
    r, term, trunc, costs, orders = masked_random_rollout(params, jax.random.key(1), 3, 2 * 98)
    # every env terminates exactly at steps 98 and 196 (fixed episode length, auto-reset)
    assert [list(np.flatnonzero(term[:, i]) + 1) for i in range(3)] == [[98, 196]] * 3
    for t in (97, 195):
        for i in range(3):
            order = [int(v) for v in orders[t, i] if v]
            assert costs[t, i] == cost(g, order) == -r[t - 97 : t + 1, i].sum()


def test_random_graph_rollout_matches_host_graph():
    spec = RandomGraphSpec(num_inputs=3, num_vertices=(5, 9), num_outputs=2, tensor=True)
    params = E.make_params(random=spec, cost_model="alphagrad")
    key = jax.random.key(5)
    obs, state = _reset(key, params)
    g = random_graph(key, spec)  # same key -> the same graph on the host
    et = np.asarray(obs["edge_types"])
    assert et.astype(bool).sum() == len(g.edges)
    for e in g.edges:
        assert et[e.source - 1, e.target - 1] == e.type
    step = _step_env
    total, order = 0.0, []
    while not bool(jnp.all(~E.action_mask(state))):
        a = int(np.flatnonzero(np.asarray(E.action_mask(state)))[-1])  # reverse-ish order
        state, rew, term, trunc, info = step(state, a, params)
        total += float(rew)
        order.append(a + 1)
    assert bool(term) and total == -cost(g, order, "alphagrad") == -int(info["cost"])


def test_step_env_invalid_actions_and_penalty_mode():
    g = tasks.load("PropaneCombustion").graph
    for mode, trunc_want in (("mask", False), ("penalty", True)):
        params = E.make_params(g, invalid_action=mode, reward_scale=2.0)
        _, s = _reset(jax.random.key(0), params)
        out = g.outputs[0] - 1
        for bad in (out, -1, 500):
            s2, r, term, trunc, info = _step_env(s, bad, params)
            assert bool(info["invalid_action"]) and bool(trunc) == trunc_want
            want = 1.0 if mode == "mask" else cost(g, g.eliminable)
            assert float(r) == -2.0 * want
            assert int(s2.length) == 0 and int(s2.invalid) == 1
            assert jnp.array_equal(E.observation(s2)["edge_types"], E.observation(s)["edge_types"])
    params = E.make_params(g, invalid_action="penalty", invalid_penalty=3.0)
    _, s = _reset(jax.random.key(0), params)
    assert float(_step_env(s, g.outputs[0] - 1, params)[1]) == -3.0


def test_penalty_mode_random_graphs_uses_forward_cost():
    spec = RandomGraphSpec(num_inputs=2, num_vertices=7, num_outputs=1)
    params = E.make_params(random=spec, invalid_action="penalty")
    key = jax.random.key(2)
    _, s = _reset(key, params)
    g = random_graph(key, spec)
    assert float(s.penalty) == cost(g, g.eliminable)


def test_make_params_errors():
    g = tasks.load("RoeFlux_1d").graph
    with pytest.raises(ValueError, match="exactly one"):
        E.make_params()
    with pytest.raises(ValueError, match="exactly one"):
        E.make_params(g, random=RandomGraphSpec())
    with pytest.raises(ValueError, match="cost model"):
        E.make_params(g, cost_model="x")
    with pytest.raises(ValueError, match="invalid_action"):
        E.make_params(g, invalid_action="raise")
    with pytest.raises(ValueError, match="reward_scale"):
        E.make_params(g, reward_scale=-1.0)
    with pytest.raises(ValueError, match="smaller than the random spec"):
        E.make_params(random=RandomGraphSpec(num_vertices=30), max_vertices=20)
    with pytest.raises(ValueError, match="max_vertices"):
        E.make_params(g, max_vertices=50)


def test_random_graph_spec_validation_and_family():
    with pytest.raises(ValueError, match="num_outputs"):
        RandomGraphSpec(num_vertices=2, num_outputs=3)
    with pytest.raises(ValueError, match="degree_probs"):
        RandomGraphSpec(max_in_degree=3, degree_probs=(0.5, 0.5))
    with pytest.raises(ValueError, match="num_inputs"):
        RandomGraphSpec(num_inputs=0)
    spec = RandomGraphSpec(num_inputs=4, num_vertices=(10, 20), num_outputs=3, tensor=True)
    for seed in range(5):
        g = random_graph(seed, spec)
        assert 10 <= g.num_vertices <= 20 and g.num_inputs == 4
        assert g.outputs == tuple(range(g.num_vertices - 2, g.num_vertices + 1))
        g.vertex_shapes()  # consistent records per row / vertex (raises otherwise)
        for e in g.edges:
            assert e.type != 11
            src = e.source - g.num_inputs
            assert src < e.target  # ids are topological
            ins = [x for x in g.edges if x.target == e.target]
            assert 1 <= len(ins) <= spec.max_in_degree
            for t in e.sparsity.ties:  # the drawn code's ties fit the two shapes
                assert e.out_shape[t.a - 1] == e.in_shape[t.b - 3]
    assert random_graph(3, spec) == random_graph(3, spec)
    assert random_graph(3, spec) != random_graph(4, spec)
    scalar = random_graph(0, num_inputs=2, num_vertices=15, num_outputs=1)
    assert {e.type for e in scalar.edges} == {1}
