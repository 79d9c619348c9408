"""sb3-contrib's MaskablePPO trains against ``gym.make(...)`` unchanged (a smoke test)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import crosscountry_gym  # noqa: F401
from crosscountry_gym import cost, tasks

sb3_contrib = pytest.importorskip("sb3_contrib")


def test_maskable_ppo_smoke():
    env = gym.make("CrossCountry/PropaneCombustion-v0", reward_scale=0.1)
    model = sb3_contrib.MaskablePPO(
        "MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu",
        policy_kwargs={"net_arch": [32]}, verbose=0,
    )
    model.learn(total_timesteps=320)  # a few hundred steps: several episodes of 51 steps
    obs, info = env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        mask = env.unwrapped.action_masks()
        action, _ = model.predict(obs, action_masks=mask, deterministic=True)
        assert mask[int(action)]
        obs, r, done, trunc, info = env.step(int(action))
        assert not info["invalid_action"] and not trunc
        total += r
    g = tasks.load("PropaneCombustion").graph
    assert np.isclose(total, -0.1 * cost(g, info["order"]))
