"""The default invalid-action mode "terminate" in every env, the time limits, and the
LegalActionWrapper: an illegal move ends the episode as a true terminal state whose return is
below that of every finished episode."""

from __future__ import annotations

import gymnasium as gym
import jax
import numpy as np
import pytest

import crosscountry_gym  # noqa: F401  (registers the ids)
from crosscountry_gym import cost, tasks
from crosscountry_gym.engine import cost_upper_bound
from crosscountry_gym.envs import jax_env as E
from crosscountry_gym.envs.gym_env import CrossCountryEnv, RandomCrossCountryEnv
from crosscountry_gym.envs.random_graphs import RandomGraphSpec, random_graph
from crosscountry_gym.envs.registration import env_ids
from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv
from crosscountry_gym.envs.wrappers import LegalActionWrapper

PROPANE = tasks.load("PropaneCombustion").graph


def test_terminate_is_the_default_everywhere():
    assert CrossCountryEnv("MLP").invalid_action == "terminate"
    assert RandomCrossCountryEnv().invalid_action == "terminate"
    assert CrossCountryVectorEnv(1, "MLP").invalid_action == "terminate"
    assert E.make_params(PROPANE).invalid_mode == "terminate"
    assert gym.make("CrossCountry/MLP-v0").unwrapped.invalid_action == "terminate"


@pytest.mark.parametrize("step_first", [0, 3, 20])
def test_illegal_action_terminates_below_every_finished_episode(step_first):
    g = PROPANE
    u = cost_upper_bound(g)
    env = gym.make("CrossCountry/PropaneCombustion-v0", reward_scale=0.5)
    env.reset(seed=0)
    total = 0.0
    for v in g.eliminable[:step_first]:
        total += env.step(v - 1)[1]
    obs, r, term, trunc, info = env.step(g.outputs[0] - 1)
    assert term and not trunc and info["invalid_action"]
    assert r == -0.5 * (u + 1)
    total += r
    with pytest.raises(gym.error.ResetNeeded):
        env.step(g.eliminable[-1] - 1)
    # every finished episode returns at least -0.5 * U: forward, reverse and random orders
    rng = np.random.default_rng(0)
    orders = [list(g.eliminable), list(reversed(g.eliminable))]
    orders += [list(rng.permutation(g.eliminable)) for _ in range(20)]
    best_illegal = total
    for order in orders:
        assert -0.5 * cost(g, order) > best_illegal
        assert -0.5 * cost(g, order) >= -0.5 * u


def test_terminate_penalty_of_a_random_env_is_the_bound_of_its_graph():
    env = RandomCrossCountryEnv(num_inputs=3, num_vertices=(8, 12), num_outputs=2, tensor=True)
    for seed in range(3):
        env.reset(seed=seed)
        g = env.graph
        _, r, term, _, _ = env.step(g.outputs[0] - 1)
        assert term and r == -(cost_upper_bound(g) + 1)


def test_vector_env_terminate_agrees_with_single_env_and_autoresets():
    g = PROPANE
    venv = CrossCountryVectorEnv(2, g, reward_scale=0.25)
    venv.reset(seed=0)
    single = CrossCountryEnv(g, reward_scale=0.25)
    single.reset()
    out = g.outputs[0] - 1
    first = g.eliminable[0] - 1
    obs, r, term, trunc, info = venv.step(np.array([out, first]))
    _, r1, term1, trunc1, _ = single.step(out)
    assert list(term) == [True, False] and not trunc.any()
    assert r[0] == r1 == -0.25 * (cost_upper_bound(g) + 1) and term1 and not trunc1
    assert info["invalid_action"][0] and info["_final_obs"][0]
    assert info["_episode"][0] and info["episode"]["l"][0] == 1 and info["episode"]["r"][0] == r[0]
    assert info["action_mask"][0].sum() == g.num_intermediates  # a fresh episode


def test_jax_env_terminate_for_pools_and_random_graphs():
    graphs = [PROPANE, tasks.load("MLP").graph]
    params = E.make_params(graphs, reward_scale=2.0)
    for i in range(6):
        _, s = jax.jit(E.reset)(jax.random.key(i), params)
        nv = int(s.core.num_vertices)
        g = next(g for g in graphs if g.num_vertices == nv)
        s2, r, term, trunc, info = jax.jit(E.step_env)(s, g.outputs[0] - 1, params)
        assert bool(term) and not bool(trunc) and bool(info["invalid_action"])
        assert float(r) == -2.0 * (cost_upper_bound(g) + 1)
    # random graphs: the penalty is computed in JAX, from the id order; it bounds the engine's
    spec = RandomGraphSpec(num_inputs=3, num_vertices=(6, 10), num_outputs=2, tensor=True)
    params = E.make_params(random=spec)
    for i in range(4):
        key = jax.random.key(10 + i)
        _, s = jax.jit(E.reset)(key, params)
        g = random_graph(key, spec)
        assert float(s.penalty) >= cost_upper_bound(g) + 1
        rng = np.random.default_rng(i)
        worst = max(cost(g, list(rng.permutation(g.eliminable))) for _ in range(20))
        assert worst < float(s.penalty)


def test_explicit_penalty_in_terminate_mode():
    env = CrossCountryEnv("RoeFlux_1d", invalid_penalty=5)
    env.reset()
    _, r, term, trunc, _ = env.step(100)
    assert r == -5.0 and term and not trunc


def test_every_id_registers_a_time_limit_of_twice_its_vertices():
    for env_id in env_ids():
        spec = gym.spec(env_id)
        if env_id.endswith("Random-v0"):
            assert spec.max_episode_steps is None  # the size comes from the options
            continue
        name = env_id.split("/")[1].removesuffix("-v0")
        assert spec.max_episode_steps == 2 * tasks.load(name).graph.num_vertices


def test_mask_mode_episodes_are_truncated_by_the_time_limit():
    g = PROPANE  # 62 vertices: the limit is 124 steps
    env = gym.make("CrossCountry/PropaneCombustion-v0", invalid_action="mask")
    env.reset(seed=0)
    out = g.outputs[0] - 1
    for i in range(1, 124):
        *_, term, trunc, _ = env.step(out)
        assert not term and not trunc, i
    *_, term, trunc, _ = env.step(out)
    assert trunc and not term
    # the env's own limit (Random-v0 has no registered one) and the vector env's
    renv = gym.make("CrossCountry/Random-v0", num_vertices=10, num_outputs=2,
                    invalid_action="mask")
    renv.reset(seed=0)
    truncs = [renv.step(renv.unwrapped.graph.outputs[0] - 1)[3] for _ in range(20)]
    assert truncs == [False] * 19 + [True]
    venv = gym.make_vec("CrossCountry/PropaneCombustion-v0", num_envs=2, invalid_action="mask")
    assert venv.max_episode_steps == 124
    venv.reset(seed=0)
    for i in range(124):
        _, _, term, trunc, info = venv.step(np.array([out, out]))
        assert not term.any() and trunc.all() == (i == 123)
    assert info["episode"]["l"].tolist() == [124, 124]
    nolimit = CrossCountryEnv(g, invalid_action="mask", max_episode_steps=None)
    nolimit.reset()
    assert not any(nolimit.step(out)[3] for _ in range(300))


def test_legal_action_wrapper_maps_k_to_the_kth_legal_vertex():
    g = PROPANE
    env = LegalActionWrapper(gym.make("CrossCountry/PropaneCombustion-v0"))
    assert env.action_space == gym.spaces.Discrete(g.num_vertices)
    obs, info = env.reset(seed=0)
    legal = np.flatnonzero(info["action_mask"])
    assert env.action_masks().sum() == len(legal) and env.action_masks()[: len(legal)].all()
    obs, r, term, trunc, info = env.step(2)  # the third legal vertex
    assert info["vertex_action"] == legal[2] and info["order"] == (legal[2] + 1,)
    n = len(legal) - 1
    obs, r, term, trunc, info = env.step(n + 5)  # modulo the number of legal moves
    legal = legal[legal != legal[2]]
    assert info["vertex_action"] == legal[5]
    rng = np.random.default_rng(0)
    done = False
    while not done:  # any action is legal: every episode finishes
        obs, r, done, trunc, info = env.step(int(rng.integers(0, g.num_vertices)))
        assert not info["invalid_action"] and not trunc
    assert sorted(info["order"]) == list(g.eliminable)
    with pytest.raises(ValueError, match="Discrete"):
        LegalActionWrapper(gym.make("Pendulum-v1"))
    with pytest.raises(ValueError, match="action_masks"):
        LegalActionWrapper(gym.make("CartPole-v1"))
