"""MaskablePPO on the registered envs: the policy, the vec env (the SB3 adapter over the native
vector env, and the former DummyVecEnv path), portable policies, a training smoke with resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

import torch as th  # noqa: E402

from crosscountry_gym import cost  # noqa: E402
from crosscountry_gym.baselines.rl import sb3_agent as S  # noqa: E402

TINY = S.PPOConfig(num_envs=4, d_model=16, num_layers=1, num_heads=2, ff_dim=32)


@pytest.mark.parametrize("backend", S.BACKENDS)
def test_make_env_uses_the_registered_id_and_masks(backend):
    env = S.make_env("PropaneCombustion", num_envs=2, seed=0, backend=backend)
    assert env.num_envs == 2
    assert env.get_attr("spec")[0].id == "CrossCountry/PropaneCombustion-v0"
    env.reset()
    masks = np.stack(env.env_method("action_masks"))
    assert masks.shape == (2, 62) and masks.sum(1).tolist() == [51, 51]
    env.close()


def test_the_agent_steps_the_native_vector_env_through_the_adapter():
    from crosscountry_gym.envs.sb3 import SB3VecEnv
    from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv

    env = S.make_env("PropaneCombustion", num_envs=3)
    assert isinstance(env, SB3VecEnv) and isinstance(env.venv, CrossCountryVectorEnv)
    g = S.source_graphs("PropaneCombustion")[0][0]
    assert env.get_attr("params")[0].reward_scale == pytest.approx(S.reward_scale(g))
    env.close()
    with pytest.raises(ValueError, match="one task or graph"):
        S.make_env(["PropaneCombustion", "RoeFlux_1d"], backend="dummy")
    with pytest.raises(ValueError, match="unknown backend"):
        S.make_env("PropaneCombustion", backend="subproc")


def test_several_tasks_and_random_specs_are_sources(tiny_graph):
    from crosscountry_gym.envs.random_graphs import RandomGraphSpec

    env = S.make_env(["PropaneCombustion", tiny_graph], num_envs=2)
    assert env.observation_space["vertex_mask"].shape == (62,)  # padded to the largest
    env.close()
    spec = RandomGraphSpec(num_inputs=3, num_vertices=(8, 12), num_outputs=2)
    env = S.make_env(spec, num_envs=2)
    assert env.observation_space["vertex_mask"].shape == (12,)
    env.close()
    assert S.rollout_length(spec) == 10
    assert S.rollout_length(["PropaneCombustion", tiny_graph]) == 51


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


def test_policy_weights_do_not_depend_on_the_graph_size(tmp_path, tiny_graph):
    """The portable-policy contract: the state dict of a policy built for one graph loads into
    the policy of another size; SB3's own load would refuse the other observation space."""
    env = S.make_env(tiny_graph, num_envs=1)
    model = S.make_model(env, tiny_graph, TINY)
    model.save(tmp_path / "ppo.zip")
    env.close()
    sd = model.policy.state_dict()
    for task in ("PropaneCombustion", "HumanHeartDipole"):
        pol = S.load_policy(tmp_path / "ppo.zip", S.observation_space_of(task))
        other = pol.state_dict()
        assert other.keys() == sd.keys()
        assert all(th.equal(other[k], sd[k]) for k in sd)
        order, c = S.greedy_order(pol, task)
        assert c == cost(S.source_graphs(task)[0][0], order)
    with pytest.raises(FileNotFoundError, match="no PPO checkpoint"):
        S.load_policy(tmp_path / "missing.zip", S.observation_space_of("PropaneCombustion"))


def test_random_trained_policy_plays_full_orders_on_three_tasks(tmp_path, capsys):
    """Trained briefly on Random graphs, evaluated on three benchmark tasks of other sizes:
    every order is complete and legal, and its cost is reported next to the references."""
    from crosscountry_gym import tasks
    from crosscountry_gym.envs.random_graphs import RandomGraphSpec
    from crosscountry_gym.orders import reference_costs

    spec = RandomGraphSpec(num_inputs=4, num_vertices=(10, 20), num_outputs=2)
    r = S.train(spec, seed=0, budget_s=600, out_dir=tmp_path / "run", config=TINY,
                max_rollouts=2)
    assert r.task.startswith("Random(") and r.best_order is None and r.episodes > 0
    assert not (tmp_path / "run" / "best_order.json").exists()
    for name in ("PropaneCombustion", "HumanHeartDipole", "RoeFlux_1d"):
        g = tasks.load(name).graph
        pol = S.load_policy(tmp_path / "run", S.observation_space_of(name))
        order, c = S.greedy_order(pol, name)
        assert sorted(order) == sorted(g.eliminable)
        assert c == cost(g, order)
        ref = reference_costs(g)
        print(f"{name}: random-trained PPO {c} (forward {ref.forward}, reverse {ref.reverse}, "
              f"Markowitz {ref.markowitz})")
