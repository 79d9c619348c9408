"""CrossCountryEnv: registration, check_env, returns vs the reference cost, invalid actions,
seeding, padding, rendering."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import crosscountry_gym  # noqa: F401  (registers the ids)
from crosscountry_gym import cost, tasks
from crosscountry_gym.engine import cost_upper_bound
from crosscountry_gym.envs.gym_env import CrossCountryEnv, InvalidActionError
from crosscountry_gym.envs.registration import env_ids


def test_every_task_and_random_is_registered():
    ids = env_ids()
    assert ids == [f"CrossCountry/{n}-v0" for n in tasks.names()] + ["CrossCountry/Random-v0"]
    for i in ids:
        spec = gym.spec(i)
        assert spec.vector_entry_point.endswith("CrossCountryVectorEnv")


@pytest.mark.parametrize("mode", ["dense", "graph"])
@pytest.mark.parametrize("env_id", env_ids())
def test_check_env_passes_without_warnings(env_id, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        env = gym.make(env_id, render_mode="ansi", observation_mode=mode)
        check_env(env.unwrapped)
        env.close()


def rollout(env, seed, rng):
    obs, info = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        legal = np.flatnonzero(info["action_mask"])
        assert np.array_equal(info["action_mask"].astype(bool), env.unwrapped.action_masks())
        obs, r, done, trunc, info = env.step(int(rng.choice(legal)))
        assert not trunc
        assert env.observation_space.contains(obs)
        total += r
    return total, info


@pytest.mark.parametrize("name", ["RoeFlux_1d", "MLP", "RandomFunction_f", "BlackScholes_Jacobian"])
@pytest.mark.parametrize("model", ["exact", "alphagrad"])
def test_masked_random_rollouts_return_minus_cost(name, model):
    env = gym.make(f"CrossCountry/{name}-v0", cost_model=model, reward_scale=0.5)
    rng = np.random.default_rng(1)
    g = tasks.load(name).graph
    for ep in range(2):
        total, info = rollout(env, ep, rng)
        order = info["order"]
        assert sorted(order) == list(g.eliminable)
        c = cost(g, order, model)
        assert info["cost"] == c
        assert total == pytest.approx(-0.5 * c)


def test_random_env_rollout_returns_minus_cost_and_seeding_reproduces():
    env = gym.make("CrossCountry/Random-v0", num_inputs=3, num_vertices=(8, 15), num_outputs=2,
                   tensor=True)
    total, info = rollout(env, 5, np.random.default_rng(0))
    g = env.unwrapped.graph
    assert total == -cost(g, info["order"])
    # same seed -> same graph and same episode
    runs = []
    for _ in range(2):
        o, _ = env.reset(seed=123)
        runs.append((env.unwrapped.graph, o["edge_types"].copy()))
        rng = np.random.default_rng(9)
        _, info = rollout(env, 123, rng)
        runs[-1] += (info["order"], info["cost"])
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][2:] == runs[1][2:]
    env.reset(seed=124)
    assert env.unwrapped.graph != runs[0][0]  # a fresh graph for another seed


def test_observation_layout_and_padding():
    g = tasks.load("PropaneCombustion").graph
    env = CrossCountryEnv(g, max_vertices=70, max_inputs=16)
    obs, info = env.reset()
    assert obs["edge_types"].shape == (86, 70)
    ni, mi = g.num_inputs, 16
    for e in g.edges:  # the padded layout of core.py
        row = e.source - 1 if e.source <= ni else mi + e.source - ni - 1
        assert obs["edge_types"][row, e.target - 1] == e.type
    assert obs["edge_types"].astype(bool).sum() == len(g.edges)
    assert not obs["source_shapes"][ni:mi].any() and not obs["vertex_shapes"][g.num_vertices:].any()
    assert obs["vertex_mask"].sum() == g.num_vertices
    assert list(np.flatnonzero(obs["output_mask"]) + 1) == list(g.outputs)
    assert info["action_mask"].dtype == np.int8
    assert info["action_mask"].sum() == g.num_intermediates
    assert info["order"] == () and info["cost"] == 0
    # after a step the observation is the reference's current graph
    v = g.eliminable[3]
    obs, r, *_ = env.step(v - 1)
    cur = env.current_graph()
    dense = np.zeros_like(obs["edge_types"])
    for e in cur.edges:
        row = e.source - 1 if e.source <= ni else mi + e.source - ni - 1
        dense[row, e.target - 1] = e.type
    assert np.array_equal(dense, obs["edge_types"])
    assert obs["vertex_mask"][v - 1] == 0


@pytest.mark.parametrize("action", [-1, 70, 62, "eliminated", "output", np.int64(69)])
def test_invalid_actions_in_each_mode(action):
    g = tasks.load("PropaneCombustion").graph  # 62 vertices; padded to 70
    out = g.outputs[0] - 1
    for mode in ("terminate", "mask", "penalty", "raise"):
        env = CrossCountryEnv(g, max_vertices=70, invalid_action=mode, reward_scale=2.0)
        obs0, _ = env.reset()
        first = g.eliminable[0] - 1
        obs0, *_ = env.step(first)
        a = {"eliminated": first, "output": out}.get(action, action)
        if mode == "raise":
            with pytest.raises(InvalidActionError, match="illegal"):
                env.step(a)
            continue
        obs, r, term, trunc, info = env.step(a)
        assert info["invalid_action"] and term == (mode == "terminate")
        assert info["order"] == (first + 1,)  # not recorded
        for k in obs:
            assert np.array_equal(obs[k], obs0[k])  # state unchanged
        if mode == "terminate":  # a true terminal state, penalty U + 1 multiplications
            assert not trunc and r == -2.0 * (cost_upper_bound(g) + 1)
        elif mode == "mask":
            assert r == -2.0 and not trunc  # default penalty 1 multiplication, scaled
            obs, r, *_ = env.step(g.eliminable[1] - 1)  # and the episode goes on normally
            assert env.step(g.eliminable[2] - 1)[4]["order"] == tuple(g.eliminable[:3])
        else:
            assert trunc  # penalty mode ends the episode with the forward-mode cost
            assert r == -2.0 * cost(g, g.eliminable)


@pytest.mark.parametrize("action", [1.5, 2.0, True, np.array([3]), np.zeros((1, 1), int), "3", None])
def test_malformed_actions_raise_in_every_mode(action):
    g = tasks.load("PropaneCombustion").graph
    for mode in ("terminate", "mask", "penalty", "raise"):
        env = CrossCountryEnv(g, invalid_action=mode)
        obs0, _ = env.reset()
        with pytest.raises(InvalidActionError, match="malformed action"):
            env.step(action)
        obs, *_ = env.step(g.eliminable[0] - 1)  # nothing changed: the episode goes on
        assert env.step(g.eliminable[1] - 1)[4]["order"] == tuple(g.eliminable[:2])


@pytest.mark.parametrize("mode", ["terminate", "mask", "penalty"])
def test_steps_after_the_episode_ended_are_refused(mode):
    g = tasks.load("PropaneCombustion").graph
    env = gym.make("CrossCountry/PropaneCombustion-v0", invalid_action=mode)
    env.reset(seed=0)
    for v in g.eliminable:
        *_, term, trunc, info = env.step(v - 1)
    assert term and info["cost"] == cost(g, g.eliminable)
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        env.step(0)
    env.reset()
    if mode != "mask":  # a terminating / truncating illegal move ends the episode too
        *_, term, trunc, _ = env.step(g.outputs[0] - 1)
        assert (term, trunc) == ((True, False) if mode == "terminate" else (False, True))
        with pytest.raises(gym.error.ResetNeeded):
            env.step(g.eliminable[0] - 1)
    env.reset()
    assert not env.step(g.eliminable[0] - 1)[2]


def test_explicit_invalid_penalty():
    env = CrossCountryEnv("RoeFlux_1d", invalid_action="penalty", invalid_penalty=7)
    env.reset()
    _, r, _, trunc, _ = env.step(100)  # vertex 101 is an output
    assert r == -7.0 and trunc


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cost_model": "fast"}, "cost_model"),
        ({"reward_scale": 0}, "reward_scale"),
        ({"reward_scale": float("nan")}, "reward_scale"),
        ({"invalid_action": "ignore"}, "invalid_action"),
        ({"invalid_penalty": -1}, "invalid_penalty"),
        ({"render_mode": "human"}, "render_mode"),
        ({"max_vertices": 10}, "max_vertices"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrossCountryEnv("RoeFlux_1d", **kwargs)


def test_unknown_task_and_bad_random_options():
    with pytest.raises((ValueError, KeyError)):
        gym.make("CrossCountry/RoeFlux_1d-v0", graph="NoSuchTask")
    with pytest.raises(ValueError, match="random-graph option"):
        gym.make("CrossCountry/Random-v0", vertices=10)
    with pytest.raises(ValueError, match="num_outputs"):
        gym.make("CrossCountry/Random-v0", num_vertices=3, num_outputs=5)


def test_render_modes():
    env = gym.make("CrossCountry/HumanHeartDipole-v0", render_mode="ansi")
    env.reset()
    env.step(0)
    text = env.render()
    assert "1/78 eliminated" in text and "order: [1]" in text and "v86 (output)" in text
    env = gym.make("CrossCountry/PropaneCombustion-v0", render_mode="rgb_array")
    env.reset()
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.std() > 0  # not a blank canvas
