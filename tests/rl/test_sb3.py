"""MaskablePPO on the registered envs: the policy, the vec env, a training smoke with resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch as th  # noqa: E402

from crosscountry_gym import cost  # noqa: E402
from crosscountry_gym.baselines.rl import sb3_agent as S  # noqa: E402

TINY = S.PPOConfig(num_envs=4, d_model=16, num_layers=1, num_heads=2, ff_dim=32)


def test_make_env_uses_the_registered_id_and_masks():
    env = S.make_env("PropaneCombustion", num_envs=2, seed=0)
    assert env.num_envs == 2
    assert env.get_attr("spec")[0].id == "CrossCountry/PropaneCombustion-v0"
    masks = np.stack(env.env_method("action_masks"))
    assert masks.shape == (2, 62) and masks.sum(1).tolist() == [51, 51]
    env.close()


def test_policy_logits_are_per_vertex_and_masked(tiny_graph):
    env = S.make_env(tiny_graph, num_envs=1)
    model = S.make_model(env, tiny_graph, TINY)
    obs = env.reset()
    tobs, _ = model.policy.obs_to_tensor(obs)
    masks = np.stack(env.env_method("action_masks"))
    dist = model.policy.get_distribution(tobs, action_masks=masks)
    probs = dist.distribution.probs.detach().numpy()[0]
    assert probs.shape == (tiny_graph.num_vertices,)
    assert np.all(probs[~masks[0]] < 1e-12) and probs[masks[0]].sum() == pytest.approx(1, abs=1e-5)
    assert isinstance(model.policy.action_net, th.nn.Identity)
    env.close()


def test_config_errors():
    with pytest.raises(ValueError, match="num_envs"):
        S.PPOConfig(num_envs=0)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        S.PPOConfig(d_model=10, num_heads=4)


def test_ppo_trains_beats_random_and_resumes(tmp_path, tiny_graph, tiny_random_mean):
    out = tmp_path / "run"
    r1 = S.train(tiny_graph, seed=0, budget_s=600, out_dir=out, config=TINY, max_rollouts=4)
    assert r1.best_cost is not None and r1.best_cost < tiny_random_mean
    assert r1.best_cost == cost(tiny_graph, r1.best_order)
    assert r1.env_steps == 4 * 4 * tiny_graph.num_intermediates
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        S.train(tiny_graph, seed=0, budget_s=600, out_dir=out, config=TINY, max_rollouts=1)
    r2 = S.train(tiny_graph, seed=0, budget_s=600, out_dir=out, config=TINY, max_rollouts=1,
                 resume=True)
    assert r2.env_steps == r1.env_steps + 1 * 4 * tiny_graph.num_intermediates
    assert r2.best_cost <= r1.best_cost
    sub = json.loads((out / "best_order.json").read_text())
    assert sub["claimed_cost"] == r2.best_cost and sub["method"].startswith("MaskablePPO")
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 5  # header + one row per rollout, across the resume
    assert (out / "checkpoint" / "ppo.zip").is_file()
