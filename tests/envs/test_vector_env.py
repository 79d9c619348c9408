"""The native vector env: agrees step by step with N single envs, autoreset semantics, invalid
actions, seeding, make_vec."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import crosscountry_gym  # noqa: F401
from crosscountry_gym import cost, tasks
from crosscountry_gym.envs.gym_env import CrossCountryEnv, InvalidActionError
from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv


def test_make_vec_returns_native_vector_env():
    venv = gym.make_vec("CrossCountry/RoeFlux_1d-v0", num_envs=3,
                        vectorization_mode="vector_entry_point", cost_model="alphagrad")
    assert isinstance(venv, CrossCountryVectorEnv)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert venv.cost_model == "alphagrad"
    obs, info = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)
    assert info["action_mask"].shape == (3, 101) and info["action_mask"].dtype == np.int8
    rvenv = gym.make_vec("CrossCountry/Random-v0", num_envs=2,
                         vectorization_mode="vector_entry_point", num_vertices=12)
    obs, _ = rvenv.reset(seed=0)
    assert obs["edge_types"].shape == (2, 16, 12)


@pytest.mark.parametrize("name, model", [("PropaneCombustion", "exact"), ("MLP", "alphagrad"),
                                         ("RandomFunction_f", "alphagrad")])
def test_vector_env_agrees_with_single_envs_step_by_step(name, model):
    n = 3
    venv = CrossCountryVectorEnv(n, name, cost_model=model, reward_scale=0.25)
    envs = [CrossCountryEnv(name, cost_model=model, reward_scale=0.25) for _ in range(n)]
    vobs, vinfo = venv.reset(seed=1)
    for i, e in enumerate(envs):
        o, info = e.reset()
        for k in o:
            assert np.array_equal(vobs[k][i], o[k]), k
        assert np.array_equal(vinfo["action_mask"][i], info["action_mask"])
    g = tasks.load(name).graph
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(g.num_intermediates * 2 + 3):
        masks = venv.action_masks()
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        vobs, vr, vterm, vtrunc, vinfo = venv.step(acts)
        for i, env in enumerate(envs):
            assert np.array_equal(masks[i], env.action_masks())
            o, r, term, trunc, info = env.step(int(acts[i]))
            assert vr[i] == pytest.approx(r) and vterm[i] == term and vtrunc[i] == trunc
            if term:
                finished += 1
                fin = vinfo["final_info"]
                assert vinfo["_final_obs"][i] and fin["_cost"][i]
                assert fin["cost"][i] == info["cost"] == cost(g, info["order"], model)
                assert tuple(int(x) for x in fin["order"][i] if x) == info["order"]
                for k in o:
                    assert np.array_equal(vinfo["final_obs"][i][k], o[k]), k
                o, info = env.reset()  # SAME_STEP: vobs[i] is already the new episode
            for k in o:
                assert np.array_equal(vobs[k][i], o[k]), k
            assert np.array_equal(vinfo["action_mask"][i], info["action_mask"])
            assert vinfo["cost"][i] == info["cost"]
            assert tuple(int(x) for x in vinfo["order"][i] if x) == info["order"]
    assert finished >= n  # every env finished at least one episode (autoreset exercised)


@pytest.mark.slow  # compiles the random tensor-graph sampler into the vector step
def test_vector_env_random_graphs_rollout_costs():
    venv = CrossCountryVectorEnv(4, num_inputs=3, num_vertices=(6, 10), num_outputs=2,
                                 tensor=True)
    obs, info = venv.reset(seed=3)
    rng = np.random.default_rng(0)
    returns = np.zeros(4)
    done_eps = 0
    while done_eps < 6:
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in info["action_mask"]])
        obs, r, term, trunc, info = venv.step(acts)
        returns += r
        for i in np.flatnonzero(term):
            assert returns[i] == -info["final_info"]["cost"][i]
            returns[i] = 0
            done_eps += 1
        assert not trunc.any()


def test_vector_env_invalid_actions():
    g = tasks.load("PropaneCombustion").graph
    out = g.outputs[0] - 1
    venv = CrossCountryVectorEnv(2, g, invalid_action="mask")
    obs0, _ = venv.reset(seed=0)
    obs, r, term, trunc, info = venv.step(np.array([out, 0]))
    assert list(info["invalid_action"]) == [True, False]
    assert r[0] == -1.0 and not trunc.any()
    assert np.array_equal(obs["edge_types"][0], obs0["edge_types"][0])  # unchanged
    assert info["cost"][0] == 0 and not info["order"][0].any()

    venv = CrossCountryVectorEnv(2, g, invalid_action="penalty")
    venv.reset(seed=0)
    obs, r, term, trunc, info = venv.step(np.array([out, 0]))
    assert list(trunc) == [True, False]
    assert r[0] == -cost(g, g.eliminable)
    assert info["_final_obs"][0] and not info["_final_obs"][1]
    assert info["action_mask"][0].sum() == g.num_intermediates  # auto-reset to a new episode

    venv = CrossCountryVectorEnv(2, g, invalid_action="raise")
    venv.reset(seed=0)
    with pytest.raises(InvalidActionError, match="env 0: action"):
        venv.step(np.array([out, 0]))
    with pytest.raises(InvalidActionError, match="out of range"):
        venv.step(np.array([0, 500]))
    with pytest.raises(ValueError, match="shape"):
        venv.step(np.array([0]))


def test_vector_env_seeding_reproduces():
    def episode(seed):
        venv = CrossCountryVectorEnv(3, num_inputs=2, num_vertices=10, num_outputs=1)
        obs, info = venv.reset(seed=seed)
        seq = [obs["edge_types"].copy()]
        for _ in range(5):
            acts = info["action_mask"].argmax(axis=1)
            obs, r, *_, info = venv.step(acts)
            seq.append(obs["edge_types"].copy())
        return seq

    a, b, c = episode(7), episode(7), episode(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_vector_env_errors():
    with pytest.raises(ValueError, match="num_envs"):
        CrossCountryVectorEnv(0, "RoeFlux_1d")
    with pytest.raises(ValueError, match="either"):
        CrossCountryVectorEnv(2, "RoeFlux_1d", num_vertices=5)
    with pytest.raises(ValueError, match="invalid_action"):
        CrossCountryVectorEnv(2, "RoeFlux_1d", invalid_action="skip")
    venv = CrossCountryVectorEnv(2, "RoeFlux_1d")
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.array([0, 0]))


def test_episode_statistics_match_record_episode_statistics():
    """infos["episode"] / ["_episode"] are what Gymnasium's RecordEpisodeStatistics writes for a
    SAME_STEP env (checked against the wrapper on a twin env without the built-in statistics)."""
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    g = tasks.load("MLP").graph
    ours = CrossCountryVectorEnv(3, g, invalid_action="mask", reward_scale=0.5)
    ref = RecordEpisodeStatistics(
        CrossCountryVectorEnv(3, g, invalid_action="mask", reward_scale=0.5,
                              record_episode_statistics=False))
    ours.reset(seed=0)
    ref.reset(seed=0)
    rng = np.random.default_rng(0)
    seen = 0
    for t in range(2 * g.num_intermediates + 10):
        masks = ours.action_masks()
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        if t % 5 == 0:
            acts[t % 3] = g.outputs[0] - 1  # an illegal move now and then: longer episodes
        *_, info = ours.step(acts)
        *_, rinfo = ref.step(acts)
        assert ("episode" in info) == ("episode" in rinfo)
        if "episode" in info:
            seen += int(info["_episode"].sum())
            assert np.array_equal(info["_episode"], rinfo["_episode"])
            for k in ("r", "l"):
                assert np.array_equal(info["episode"][k], rinfo["episode"][k]), k
            assert ((info["episode"]["t"] > 0) == info["_episode"]).all()
    assert seen >= 3
