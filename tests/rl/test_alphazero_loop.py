"""Self-play and training loop (baselines/rl/alphazero/loop.py): errors, checkpoints, training
smoke on 2 devices (subprocess: XLA_FLAGS must be set before JAX starts)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mctx")
pytest.importorskip("equinox")

import jax  # noqa: E402

from crosscountry_gym import cost  # noqa: E402
from crosscountry_gym.baselines.rl import alphazero as az  # noqa: E402

SCRIPT = Path(__file__).with_name("az_smoke_script.py")
SMALL = az.AZConfig(num_envs=2, num_simulations=4, d_model=16, num_layers=1, num_heads=2,
                    ff_dim=32, batch_size=8, updates_per_iteration=2)


def test_agent_errors(tiny_graph):
    with pytest.raises(ValueError, match="must be a Graph"):
        az.AlphaZero("RoeFlux_1d", SMALL)
    with pytest.raises(ValueError, match="multiples of the number of devices"):
        az.AlphaZero(tiny_graph, az.AZConfig(num_envs=3, batch_size=8), devices=jax.devices() * 2)
    with pytest.raises(ValueError, match="unknown cost model"):
        az.AlphaZero(tiny_graph, SMALL, cost_model="fast")


def test_checkpoint_roundtrip_and_mismatch(tmp_path, tiny_graph):
    agent = az.AlphaZero(tiny_graph, SMALL, seed=2)  # builds the state; compiles no iteration
    assert agent.horizon == tiny_graph.num_intermediates
    assert agent.local_capacity == SMALL.buffer_iterations * SMALL.num_envs * agent.horizon
    agent.save(tmp_path)
    meta = json.loads((tmp_path / "alphazero.json").read_text())
    assert meta["seed"] == 2 and meta["fingerprint"] == tiny_graph.fingerprint
    fresh = az.AlphaZero(tiny_graph, SMALL, seed=9)
    fresh.load(tmp_path)
    for a, b in zip(jax.tree.leaves(fresh.state), jax.tree.leaves(agent.state), strict=True):
        assert (jax.device_get(a) == jax.device_get(b)).all()
    other = az.AlphaZero(tiny_graph, dataclasses.replace(SMALL, d_model=8), seed=2)
    with pytest.raises(ValueError, match="resume with the same settings"):
        other.load(tmp_path)
    with pytest.raises(ValueError, match="cost_model"):
        az.AlphaZero(tiny_graph, SMALL, cost_model="alphagrad").load(tmp_path)


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
    assert sub["code"].endswith("baselines/rl/alphazero/")
    assert (run / "learning_curve.png").stat().st_size > 1000
    assert (run / "checkpoint" / "alphazero.npz").is_file()


@pytest.mark.slow
def test_self_play_is_independent_of_the_device_count(tmp_path):
    one = _run_smoke(tmp_path / "one", devices=1)
    two = _run_smoke(tmp_path / "two", devices=2)
    assert one["first_costs"] == two["first_costs"]
    assert one["first_orders"] == two["first_orders"]
