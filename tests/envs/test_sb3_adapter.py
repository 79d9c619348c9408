"""The Stable-Baselines3 side: SB3's and Gymnasium's env checkers on both observation modes, the
``SB3VecEnv`` adapter over the native vector env (SB3's VecEnv API, Monitor-style episode infos,
masks for MaskablePPO, evaluate_policy), and DQN through the LegalActionWrapper."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import crosscountry_gym  # noqa: F401
from crosscountry_gym import cost, step_costs, tasks
from crosscountry_gym.engine import cost_upper_bound

sb3 = pytest.importorskip("stable_baselines3")
sb3_contrib = pytest.importorskip("sb3_contrib")

from sb3_contrib.common.maskable.evaluation import evaluate_policy as masked_evaluate  # noqa: E402
from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402
from stable_baselines3.common.evaluation import evaluate_policy  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402

from crosscountry_gym.envs.sb3 import SB3VecEnv  # noqa: E402
from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv  # noqa: E402
from crosscountry_gym.envs.wrappers import LegalActionWrapper  # noqa: E402

MLP = tasks.load("MLP").graph  # 39 vertices, 38 eliminable


@pytest.mark.parametrize("mode", ["dense", "graph"])
@pytest.mark.parametrize("env_id", ["CrossCountry/MLP-v0", "CrossCountry/Random-v0"])
def test_checkers_are_clean_for_both_observation_modes(env_id, mode):
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any Gymnasium checker warning fails the test
        check_env(gym.make(env_id, observation_mode=mode).unwrapped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(env_id, observation_mode=mode))
    # SB3's only remark: 2-D arrays ([R, V] types, [*, 2] shapes), which MultiInputPolicy
    # flattens; flattened into one vector the checker has nothing to say
    two_d = {k for k, s in gym.make(env_id, observation_mode=mode).observation_space.items()
             if len(s.shape) == 2}
    assert {str(w.message).split()[2] for w in caught} == two_d
    assert all("unconventional shape" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(gym.wrappers.FlattenObservation(gym.make(env_id, observation_mode=mode)))


def test_adapter_follows_the_vecenv_api():
    venv = SB3VecEnv("CrossCountry/MLP-v0", num_envs=3, reward_scale=0.5)
    assert venv.num_envs == 3 and isinstance(venv.venv, CrossCountryVectorEnv)
    assert venv.action_space == gym.spaces.Discrete(39)
    venv.seed(7)
    obs = venv.reset()
    assert venv.observation_space.contains({k: v[0] for k, v in obs.items()})
    assert all(v.shape[0] == 3 and v.flags.writeable for v in obs.values())
    assert venv.has_attr("action_masks") and venv.get_attr("render_mode") == [None] * 3
    assert venv.env_is_wrapped(Monitor) == [True] * 3
    assert venv.env_is_wrapped(gym.wrappers.TimeLimit) == [False] * 3
    masks = venv.env_method("action_masks")
    assert len(masks) == 3 and np.array_equal(np.stack(masks), venv.action_masks())
    assert venv.env_method("action_masks", indices=[2])[0].shape == (39,)
    venv.set_attr("reward_scale_note", 1)
    assert venv.get_attr("reward_scale_note", indices=[0]) == [1]
    with pytest.raises(ValueError, match="all"):
        venv.set_attr("x", 1, indices=[0])
    with pytest.raises(AttributeError):
        venv.get_attr("no_such_attribute")
    # env 0 plays forward mode, env 1 makes an illegal move at step 5, env 2 reverse mode
    fwd, rev = list(MLP.eliminable), list(reversed(MLP.eliminable))
    returns = np.zeros(3)
    ended: dict[int, dict] = {}
    for t in range(len(fwd)):
        acts = np.array([fwd[t] - 1, MLP.outputs[0] - 1 if t == 5 else fwd[t] - 1, rev[t] - 1])
        venv.step_async(acts)
        obs, rew, dones, infos = venv.step_wait()
        assert rew.dtype == np.float32 and dones.dtype == bool and len(infos) == 3
        returns += rew
        for i in np.flatnonzero(dones):
            if i not in ended:
                ended[i] = infos[i]
                assert infos[i]["episode"]["r"] == pytest.approx(returns[i])
        for i in np.flatnonzero(~dones):
            assert infos[i] == {}
    assert set(ended) == {0, 1, 2}
    assert ended[0]["cost"] == cost(MLP, fwd) and ended[0]["order"] == tuple(fwd)
    assert ended[0]["episode"]["l"] == len(fwd) and not ended[0]["TimeLimit.truncated"]
    assert ended[1]["invalid_action"] and ended[1]["episode"]["l"] == 6
    assert ended[1]["episode"]["r"] == pytest.approx(
        -0.5 * (sum(step_costs(MLP, fwd)[:5]) + cost_upper_bound(MLP) + 1))
    assert ended[2]["cost"] == cost(MLP, rev)
    term_obs = ended[2]["terminal_observation"]
    assert term_obs["vertex_mask"].sum() == len(MLP.outputs)  # only the outputs are left
    venv.close()


def test_adapter_seeding_reproduces_and_truncation_bootstraps():
    def run(seed):
        venv = SB3VecEnv("CrossCountry/Random-v0", num_envs=2, num_vertices=8, num_outputs=2,
                         invalid_action="mask")
        venv.seed(seed)
        first = venv.reset()["edge_types"].copy()
        out = None
        for _ in range(16):  # 2 * 8 steps of an illegal move: truncated by the time limit
            obs, rew, dones, infos = venv.step(np.array([7, 7]))
            out = (dones, infos)
        return first, out

    a, (dones, infos) = run(1)
    b, _ = run(1)
    c, _ = run(2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert dones.all() and all(i["TimeLimit.truncated"] for i in infos)


@pytest.mark.slow  # ~30 s: compiles the vector env and trains 2,000 steps
def test_maskable_ppo_learns_through_the_adapter_and_evaluates():
    venv = SB3VecEnv(gym.make_vec("CrossCountry/MLP-v0", 8,
                                  vectorization_mode="vector_entry_point", reward_scale=1e-3))
    model = sb3_contrib.MaskablePPO("MultiInputPolicy", venv, n_steps=64, batch_size=128,
                                    n_epochs=1, seed=0, device="cpu",
                                    policy_kwargs={"net_arch": [32]})
    model.learn(2000)
    assert model.num_timesteps >= 2000
    assert len(model.ep_info_buffer) >= 8  # Monitor-style episode infos reached SB3's logger
    assert all(ep["l"] == 38 for ep in model.ep_info_buffer)  # masked: no illegal moves
    mean, _ = masked_evaluate(model, venv, n_eval_episodes=8, deterministic=True)
    assert -1e-3 * cost_upper_bound(MLP) <= mean < 0
    # SB3's own evaluate_policy (no masks: an illegal move ends an episode with U + 1)
    rewards, lengths = evaluate_policy(model, venv, n_eval_episodes=4, return_episode_rewards=True)
    assert len(rewards) == 4 and all(r < 0 for r in rewards) and all(1 <= n <= 38 for n in lengths)


def test_maskable_ppo_on_the_graph_observation():
    venv = SB3VecEnv("CrossCountry/MLP-v0", num_envs=4, observation_mode="graph",
                     reward_scale=1e-3)
    model = sb3_contrib.MaskablePPO("MultiInputPolicy", venv, n_steps=32, batch_size=64,
                                    n_epochs=1, seed=0, device="cpu",
                                    policy_kwargs={"net_arch": [16]})
    model.learn(128)
    assert model.num_timesteps >= 128


def test_dqn_runs_unmasked_through_the_legal_action_wrapper():
    env = LegalActionWrapper(gym.make("CrossCountry/MLP-v0", reward_scale=1e-3))
    model = sb3.DQN("MultiInputPolicy", env, learning_starts=50, buffer_size=500, seed=0,
                    device="cpu", policy_kwargs={"net_arch": [16]})
    model.learn(200)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, r, done, trunc, info = env.step(int(action))
        assert not info["invalid_action"] and not trunc
    assert sorted(info["order"]) == list(MLP.eliminable)
