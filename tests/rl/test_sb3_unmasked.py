"""Unmasked SB3 algorithms, default hyper-parameters, plain calls on the registered env.

The short version of ``benchmarks/sb3_unmasked.py`` (``docs/rl.md``, *Unmasked algorithms*):
after a few thousand steps every evaluation episode ends with ``terminated=True``: an illegal
move ends the episode instead of looping until the time limit (which would show as
``truncated``). DQN also runs behind ``LegalActionWrapper``, where every action is legal, so
its episodes must be complete orders.
"""

from __future__ import annotations

import gymnasium as gym
import pytest

pytest.importorskip("stable_baselines3")

import stable_baselines3 as sb3  # noqa: E402

import crosscountry_gym  # noqa: E402, F401
from crosscountry_gym import cost, tasks  # noqa: E402
from crosscountry_gym.baselines.rl.evaluation import play_episodes  # noqa: E402
from crosscountry_gym.envs import LegalActionWrapper  # noqa: E402

ID = "CrossCountry/PropaneCombustion-v0"
STEPS = 2_500


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("algo", ["PPO", "A2C", "DQN"])
def test_default_algorithm_episodes_terminate(algo):
    model = getattr(sb3, algo)("MultiInputPolicy", gym.make(ID), seed=0, verbose=0)
    model.learn(STEPS)
    env = gym.make(ID)
    for deterministic in (True, False):
        s = play_episodes(lambda o, d=deterministic: model.predict(o, deterministic=d)[0], env, 3)
        assert s.all_terminated and s.truncated == 0, s.as_dict()
        for e in s.episodes:  # an episode ends at the first illegal move or with a full order
            assert e.invalid or len(e.order) == tasks.load("PropaneCombustion").graph.num_intermediates


def test_dqn_behind_the_legal_action_wrapper_plays_full_orders():
    model = sb3.DQN("MultiInputPolicy", LegalActionWrapper(gym.make(ID)), seed=0, verbose=0)
    model.learn(STEPS)
    g = tasks.load("PropaneCombustion").graph
    s = play_episodes(lambda o: model.predict(o, deterministic=True)[0],
                      LegalActionWrapper(gym.make(ID)), 2)
    assert s.complete == 2, s.as_dict()
    for e in s.episodes:
        assert sorted(e.order) == sorted(g.eliminable) and e.cost == cost(g, list(e.order))


def test_a_mask_mode_loop_would_fail_the_check():
    """The check can fail: in mode "mask" an always-illegal policy loops until the time limit."""
    env = gym.make(ID, invalid_action="mask")
    s = play_episodes(lambda o: 61, env, 1)  # vertex 62 is an output: never legal
    assert not s.all_terminated and s.truncated == 1
