"""AlphaZero (mctx + equinox): transforms, network invariances, training smoke on 2 devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mctx")
pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from crosscountry_gym import cost  # noqa: E402
from crosscountry_gym.baselines.rl import alphazero as az  # noqa: E402
from crosscountry_gym.envs import jax_env as E  # noqa: E402

SCRIPT = Path(__file__).with_name("az_smoke_script.py")
SMALL = az.AZConfig(num_envs=2, num_simulations=4, d_model=16, num_layers=1, num_heads=2,
                    ff_dim=32, batch_size=8, updates_per_iteration=2)


def test_value_transform_roundtrip():
    x = jnp.asarray([-1e5, -4321.0, -90.0, -1.0, -0.3, 0.0, 0.5, 7.0, 1e4])
    for kind in ("r2d2", "symlog"):
        y = az.value_transform(x, kind)
        assert np.all(np.diff(np.asarray(y)) > 0)  # strictly increasing
        np.testing.assert_allclose(az.inverse_value_transform(y, kind), x, rtol=2e-5, atol=1e-4)
    # R2D2 transform by hand: h(-99) = -(sqrt(100) - 1) - 0.099
    assert float(az.value_transform(jnp.float32(-99.0))) == pytest.approx(-9.099, abs=1e-5)


def test_config_errors():
    with pytest.raises(ValueError, match="num_envs"):
        az.AZConfig(num_envs=0)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        az.AZConfig(d_model=30, num_heads=4)
    with pytest.raises(ValueError, match="value_transform"):
        az.AZConfig(value_transform="log")


def test_agent_errors(tiny_graph):
    with pytest.raises(ValueError, match="must be a Graph"):
        az.AlphaZero("RoeFlux_1d", SMALL)
    with pytest.raises(ValueError, match="multiples of the number of devices"):
        az.AlphaZero(tiny_graph, az.AZConfig(num_envs=3, batch_size=8), devices=jax.devices() * 2)


def _obs(graph, order=()):
    params = E.make_params(graph)

    @jax.jit
    def play(actions):
        _, st = E.reset(jax.random.PRNGKey(0), params)
        st, _ = jax.lax.scan(lambda s, a: (E.step_env(s, a, params)[0], None), st, actions)
        return E.observation(st, params)

    return play(jnp.asarray(order, jnp.int32) - 1)


def test_features_match_torch_twin(tiny_graph):
    th = pytest.importorskip("torch")
    from crosscountry_gym.baselines.rl.sb3_agent import torch_vertex_features

    obs = _obs(tiny_graph, order=tiny_graph.eliminable[:4])
    f, adj, alive = az.vertex_features(obs)
    tobs = {k: th.as_tensor(np.array(v)).float()[None] for k, v in obs.items()}
    tf, tadj, talive = torch_vertex_features(tobs)
    np.testing.assert_allclose(tf[0].numpy(), np.asarray(f), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tadj[0].numpy(), np.asarray(adj))
    np.testing.assert_array_equal(talive[0].numpy(), np.asarray(alive))
    # hand check on the live graph: in-degree column = number of predecessors of each vertex
    et = np.asarray(obs["edge_types"])
    np.testing.assert_allclose(np.expm1(np.asarray(f)[:, 3]),
                               (et != 0).sum(0) * np.asarray(alive), atol=1e-4)


def test_network_masks_illegal_and_is_permutation_equivariant(tiny_graph):
    params, static = az.init_params(SMALL, seed=1)
    net = eqx.combine(params, static)
    obs = _obs(tiny_graph, order=tiny_graph.eliminable[:3])
    logits, value = eqx.filter_jit(net)(obs)
    legal = (np.asarray(obs["vertex_mask"]) == 1) & (np.asarray(obs["output_mask"]) == 0)
    assert np.all(np.asarray(logits)[~legal] <= -1e8) and np.all(np.asarray(logits)[legal] > -1e3)
    # relabel the vertices: the logits follow the relabelling, the value does not change
    v = obs["vertex_mask"].shape[0]
    mi = obs["edge_types"].shape[0] - v
    perm = np.random.default_rng(0).permutation(v)
    rows = np.r_[np.arange(mi), mi + perm]
    pobs = {
        "edge_types": obs["edge_types"][rows][:, perm],
        "source_shapes": obs["source_shapes"][rows],
        "vertex_shapes": obs["vertex_shapes"][perm],
        "vertex_mask": obs["vertex_mask"][perm],
        "output_mask": obs["output_mask"][perm],
    }
    plogits, pvalue = eqx.filter_jit(net)(pobs)
    np.testing.assert_allclose(np.asarray(plogits), np.asarray(logits)[perm], rtol=1e-4, atol=1e-4)
    assert float(pvalue) == pytest.approx(float(value), abs=1e-4)


def _run_smoke(tmp_path, devices: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (f"--xla_force_host_platform_device_count={devices} "
                        "--xla_backend_optimization_level=0")  # CPU compile time, not speed
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_alphazero_trains_checkpoints_and_resumes_on_two_devices(tmp_path, tiny_graph,
                                                                tiny_random_mean):
    res = _run_smoke(tmp_path, devices=2)
    assert res["devices"] == 2
    a, b = res["a"], res["b"]
    # learning signal: the best complete order beats the average random order
    assert a["best_cost"] < tiny_random_mean
    assert a["best_cost"] == cost(tiny_graph, a["best_order"])
    # an interrupted-and-resumed run is the same run as an uninterrupted one
    assert res["rows_equal"] and res["n_rows"] == 3
    assert (a["best_cost"], a["best_order"], a["env_steps"]) == \
        (b["best_cost"], b["best_order"], b["env_steps"])
    assert a["env_steps"] == 3 * 8 * tiny_graph.num_intermediates and a["episodes"] == 24
    # data parallel: parameters replicated, replay buffer split over the device axis
    assert res["replicated"] and "data" in res["buffer_sharding"]
    run = tmp_path / "a"
    sub = json.loads((run / "best_order.json").read_text())
    assert sub["claimed_cost"] == a["best_cost"] and sub["track"] == "learned"
    assert (run / "learning_curve.png").stat().st_size > 1000
    assert (run / "checkpoint" / "alphazero.npz").is_file()


@pytest.mark.slow
def test_self_play_is_independent_of_the_device_count(tmp_path):
    one = _run_smoke(tmp_path / "one", devices=1)
    two = _run_smoke(tmp_path / "two", devices=2)
    assert one["first_costs"] == two["first_costs"]
    assert one["first_orders"] == two["first_orders"]
