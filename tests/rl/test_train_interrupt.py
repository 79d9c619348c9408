"""Training under Ctrl-C / SIGTERM and the time budget: a stop signal ends the run with a
checkpoint and ``best_order.json`` (``RunInterrupted`` from the library, one line and exit
128 + signal from the CLI), the first checkpoint comes after the first iteration, the budget is
not overshot, and ``--resume`` continues the interrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("sb3_contrib")

from crosscountry_gym import cost, tasks  # noqa: E402
from crosscountry_gym.baselines.rl import sb3_agent as S  # noqa: E402
from crosscountry_gym.baselines.rl.training import RunInterrupted  # noqa: E402

TINY = S.PPOConfig(num_envs=2, d_model=16, num_layers=1, num_heads=2, ff_dim=32)


def _signal_at(iteration: int, sig: int):
    """An ``on_log`` callback that sends ``sig`` to this process after ``iteration``."""

    def on_log(rec, row) -> None:
        if rec.iteration == iteration:
            os.kill(os.getpid(), sig)

    return on_log


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_ppo_with_a_checkpoint_and_resume_continues(tmp_path, tiny_graph, sig):
    out = tmp_path / "run"
    before = signal.getsignal(sig)
    with pytest.raises(RunInterrupted) as exc:
        S.train(tiny_graph, seed=0, budget_s=600, out_dir=out, config=TINY,
                on_log=_signal_at(2, sig))
    assert signal.getsignal(sig) is before  # handlers restored
    stop = exc.value
    assert isinstance(stop, KeyboardInterrupt)  # a script looping over runs stops too
    res = stop.result
    assert stop.signal == res.interrupted == signal.Signals(sig).name
    assert res.env_steps == 2 * TINY.num_envs * tiny_graph.num_intermediates  # stopped at once
    ckpt = json.loads((out / "checkpoint" / "recorder.json").read_text())
    assert ckpt["iteration"] == 2 and ckpt["best_cost"] == res.best_cost
    with zipfile.ZipFile(out / "checkpoint" / "ppo.zip") as z:  # no run state pickled
        assert "update_gate" not in json.loads(z.read("data"))
    sub = json.loads((out / "best_order.json").read_text())
    assert sub["claimed_cost"] == res.best_cost == cost(tiny_graph, sub["order"])
    again = S.train(tiny_graph, seed=0, budget_s=600, out_dir=out, config=TINY, resume=True,
                    max_rollouts=1)
    assert again.interrupted is None
    assert again.env_steps == res.env_steps + TINY.num_envs * tiny_graph.num_intermediates
    assert again.best_cost <= res.best_cost


def test_first_checkpoint_comes_after_the_first_iteration(tmp_path, tiny_graph):
    seen = []

    def on_log(rec, row) -> None:
        path = rec.out_dir / "checkpoint" / "recorder.json"
        seen.append(json.loads(path.read_text())["iteration"] if path.exists() else None)

    S.train(tiny_graph, seed=0, budget_s=600, out_dir=tmp_path / "run", config=TINY,
            max_rollouts=3, checkpoint_every_s=1e9, on_log=on_log)
    # on_log runs before the checkpoint of its iteration: none yet, then the early one
    assert seen == [None, 1, 1]
    assert (tmp_path / "run" / "best_order.json").is_file()


def test_the_budget_is_not_overshot(tmp_path, tiny_graph):
    S.train(tiny_graph, seed=0, budget_s=60, out_dir=tmp_path / "warm", config=TINY,
            max_rollouts=1)  # torch and the plot warm, as they are a few seconds into a run
    budget = 8.0
    t0 = time.perf_counter()
    res = S.train(tiny_graph, seed=0, budget_s=budget, out_dir=tmp_path / "run", config=TINY,
                  clock_start=t0)
    took = time.perf_counter() - t0
    assert res.interrupted is None and res.episodes > 0
    # the stop is planned from measured step and checkpoint times; on a loaded machine a step
    # can take longer than measured, so allow half a second (an uncut iteration costs seconds)
    assert res.wall_s <= budget + 0.5 and took <= budget + 1.0
    assert json.loads((tmp_path / "run" / "checkpoint" / "recorder.json").read_text())[
        "elapsed_s"] <= budget + 0.5


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float, until=None) -> None:
    """Wait until the JSON file ``path`` exists (and ``until(its content)`` holds)."""
    end = time.monotonic() + timeout

    def ready() -> bool:
        if not path.exists():
            return False
        if until is None:
            return True
        try:
            return until(json.loads(path.read_text()))
        except (OSError, ValueError):  # swapped in while we read it
            return False

    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"train exited early: {proc.communicate()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"no {path} after {timeout} s")
        time.sleep(0.2)


def test_cli_ctrl_c_saves_the_run_and_resume_continues(tmp_path):
    """`train ppo --task PropaneCombustion`: SIGINT once it has iterated -> no traceback, one
    line, exit 130, checkpoint and best_order.json written; `--resume` then continues."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "crosscountry_gym", "train", "ppo", "--task",
            "PropaneCombustion", "--num-envs", "2", "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(argv + ["--budget", "5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for(out / "checkpoint" / "recorder.json", proc, timeout=90)  # the early checkpoint
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crosscountry-gym train: interrupted by "
                                                   "SIGINT: saved the checkpoint")
    assert "--resume" in lines[0]
    summary = json.loads(stdout)
    assert summary["interrupted"] == "SIGINT"
    ckpt = json.loads((out / "checkpoint" / "recorder.json").read_text())
    assert ckpt["env_steps"] == summary["env_steps"] and ckpt["iteration"] >= 1
    sub = json.loads((out / "best_order.json").read_text())
    g = tasks.load("PropaneCombustion").graph
    assert sub["claimed_cost"] == cost(g, sub["order"]) == summary["best_cost"]
    # resume: it continues from the checkpoint (the resumed session checkpoints after its
    # first rollout too), and a second Ctrl-C saves it again
    proc = subprocess.Popen(argv + ["--budget", "5", "--resume"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for(out / "checkpoint" / "recorder.json", proc, timeout=90,
              until=lambda st: st["iteration"] > ckpt["iteration"])
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    resumed = json.loads(stdout)
    after = json.loads((out / "checkpoint" / "recorder.json").read_text())
    assert after["iteration"] > ckpt["iteration"] and resumed["env_steps"] > ckpt["env_steps"]
    assert after["elapsed_s"] > ckpt["elapsed_s"]  # the budget counts both sessions
    assert resumed["best_cost"] <= summary["best_cost"]


@pytest.mark.slow
def test_sigterm_stops_alphazero_with_a_checkpoint_and_resume_continues(tmp_path, tiny_graph):
    pytest.importorskip("mctx")
    from crosscountry_gym.baselines.rl import alphazero as az

    small = az.AZConfig(num_envs=2, num_simulations=4, d_model=16, num_layers=1, num_heads=2,
                        ff_dim=32, batch_size=8, updates_per_iteration=2)
    out = tmp_path / "run"
    with pytest.raises(RunInterrupted) as exc:
        az.train(tiny_graph, seed=0, budget_s=900, out_dir=out, config=small,
                 on_log=_signal_at(2, signal.SIGTERM))
    res = exc.value.result
    assert res.interrupted == "SIGTERM" and res.env_steps == 2 * 2 * tiny_graph.num_intermediates
    assert json.loads((out / "checkpoint" / "recorder.json").read_text())["iteration"] == 2
    assert json.loads((out / "best_order.json").read_text())["claimed_cost"] == res.best_cost
    again = az.train(tiny_graph, seed=0, budget_s=900, out_dir=out, config=small, resume=True,
                     max_iterations=1)
    assert again.env_steps == res.env_steps + 2 * tiny_graph.num_intermediates
