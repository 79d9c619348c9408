"""RunRecorder: running best re-costed by the reference model, checkpoints, CSV, JSON, plot."""

from __future__ import annotations

import csv
import json
import os
import signal
import time

import numpy as np
import pytest

from crosscountry_gym import cost
from crosscountry_gym.baselines import forward_order, markowitz_order, reverse_order
from crosscountry_gym.baselines.rl.training import (
    RunInterrupted,
    RunRecorder,
    baseline_costs,
    random_order_costs,
)
from crosscountry_gym.engine import InvalidOrderError
from crosscountry_gym.orders import reference_costs


def _rec(tmp_path, graph, **kw):
    kw.setdefault("method", "ppo")
    kw.setdefault("seed", 3)
    kw.setdefault("budget_s", 60.0)
    return RunRecorder(tmp_path / "run", graph, **kw)


def test_baselines_and_random_costs_match_reference(tiny_graph):
    b = baseline_costs(tiny_graph)
    assert b == {"forward": cost(tiny_graph, forward_order(tiny_graph)),
                 "reverse": cost(tiny_graph, reverse_order(tiny_graph)),
                 "markowitz": cost(tiny_graph, markowitz_order(tiny_graph))}
    rc = random_order_costs(tiny_graph, 50, seed=1)
    assert rc.shape == (50,) and rc.min() >= 0
    rng = np.random.default_rng(1)  # same stream: the first order is reproducible
    first = rng.permutation(np.asarray(tiny_graph.eliminable)).tolist()
    assert rc[0] == cost(tiny_graph, first)
    # the one reference: orders.reference_costs, as a plain dict
    assert b == dict(reference_costs(tiny_graph)) and type(b) is dict
    assert baseline_costs(tiny_graph, "alphagrad") == dict(reference_costs(tiny_graph, "alphagrad"))


def test_model_keyword_is_a_deprecated_alias(tiny_graph):
    with pytest.warns(DeprecationWarning, match="model="):
        assert baseline_costs(tiny_graph, model="alphagrad") == baseline_costs(tiny_graph,
                                                                               "alphagrad")
    with pytest.warns(DeprecationWarning, match="model="):
        rc = random_order_costs(tiny_graph, 5, seed=2, model="exact")
    np.testing.assert_array_equal(rc, random_order_costs(tiny_graph, 5, seed=2,
                                                         cost_model="exact"))
    with pytest.raises(ValueError, match="unknown cost model"):
        baseline_costs(tiny_graph, "fast")


def test_running_best_keeps_order_and_recosts(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph)
    fwd, rev = forward_order(tiny_graph), reverse_order(tiny_graph)
    cf, cr = cost(tiny_graph, fwd), cost(tiny_graph, rev)
    assert rec.record_episodes([fwd], [cf]) is True
    assert rec.best_cost == cf and rec.best_order == list(fwd)
    better, worse = (rev, fwd) if cr < cf else (fwd, rev)
    rec.record_episodes([worse, better], None)  # no claimed costs: both replayed
    assert rec.best_cost == min(cf, cr) and rec.best_order == list(better)
    assert rec.episodes == 3


def test_wrong_claimed_cost_and_bad_orders_raise(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph)
    fwd = forward_order(tiny_graph)
    with pytest.raises(RuntimeError, match="reference cost"):
        rec.record_episodes([fwd], [cost(tiny_graph, fwd) - 1])
    with pytest.raises(InvalidOrderError):
        rec.record_episodes([list(fwd)[:-1]], [0])  # incomplete order
    with pytest.raises(ValueError, match="differ in length"):
        rec.record_episodes([fwd], [1, 2])


def test_bad_arguments(tmp_path, tiny_graph):
    with pytest.raises(ValueError, match="unknown cost model 'fast'"):
        _rec(tmp_path, tiny_graph, cost_model="fast")
    for bad in (0, -1.0, float("inf"), float("nan"), True, "60"):
        with pytest.raises(ValueError, match="budget must be a positive, finite number"):
            _rec(tmp_path, tiny_graph, budget_s=bad)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is not a directory"):
        RunRecorder(tmp_path / "afile", tiny_graph, method="ppo", seed=0, budget_s=1)
    with pytest.raises(ValueError, match="unknown task"):
        RunRecorder(tmp_path / "x", "NoSuchTask", method="ppo", seed=0, budget_s=1)
    with pytest.raises(TypeError, match="task name"):
        RunRecorder(tmp_path / "x", 42, method="ppo", seed=0, budget_s=1)
    rec = _rec(tmp_path, tiny_graph)
    with pytest.raises(ValueError, match="unknown metrics"):
        rec.log([1.0], bogus=1.0)
    with pytest.raises(ValueError, match="nothing to submit"):
        rec.submission()


def test_checkpoint_resume_and_csv(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph, extra_fields=("loss",))
    fwd = forward_order(tiny_graph)
    rec.record_episodes([fwd], [cost(tiny_graph, fwd)])
    rec.add_env_steps(13)
    rec.log([cost(tiny_graph, fwd)], loss=0.5)
    rec.save_checkpoint(lambda d: (d / "agent.bin").write_bytes(b"x"))
    rec.log([99.0], loss=0.1)  # logged after the checkpoint: dropped on resume
    with pytest.raises(ValueError, match="already holds a checkpoint"):
        _rec(tmp_path, tiny_graph)
    with pytest.raises(ValueError, match="seed"):
        _rec(tmp_path, tiny_graph, seed=4, resume=True)
    with pytest.raises(ValueError, match="method"):
        _rec(tmp_path, tiny_graph, method="alphazero", resume=True)
    again = _rec(tmp_path, tiny_graph, extra_fields=("loss",), resume=True)
    assert (again.best_cost, again.best_order) == (rec.best_cost, rec.best_order)
    assert again.env_steps == 13 and again.episodes == 1 and again.iteration == 1
    assert (again.checkpoint_dir / "agent.bin").read_bytes() == b"x"
    saved = json.loads((again.checkpoint_dir / "recorder.json").read_text())["elapsed_s"]
    assert saved > 0 and again.elapsed_s >= saved  # the budget counts earlier sessions
    with open(again.csv_path) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["iteration"] for r in rows] == ["1"]
    assert rows[0]["loss"] == "0.5" and rows[0]["best_cost"] == str(rec.best_cost)
    with pytest.raises(ValueError, match="no checkpoint"):
        _rec(tmp_path / "other", tiny_graph, resume=True)


def test_outputs_json_is_a_valid_submission(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph, method="alphazero")
    mk = markowitz_order(tiny_graph)
    rec.record_episodes([mk], [cost(tiny_graph, mk)])
    rec.log([cost(tiny_graph, mk)])
    res = rec.write_outputs()
    sub = json.loads(rec.json_path.read_text())
    keys = {"task", "fingerprint", "cost_model", "order", "claimed_cost", "method", "track",
            "authors", "code", "package_version", "seeds", "compute_budget", "hardware", "date"}
    assert keys <= set(sub)
    assert sub["track"] == "learned" and sub["seeds"] == [3]
    assert sub["fingerprint"] == tiny_graph.fingerprint
    assert sub["claimed_cost"] == cost(tiny_graph, sub["order"]) == res.best_cost
    schema = pytest.importorskip("crosscountry_gym.leaderboard.schema")
    parsed = schema.parse_submission(sub)
    assert parsed.claimed_cost == res.best_cost
    assert rec.png_path.stat().st_size > 1000


def test_task_names_tasks_and_graphs_resolve_alike(tmp_path, tiny_graph):
    from crosscountry_gym import tasks

    task = tasks.load("PropaneCombustion")
    by_name = RunRecorder(tmp_path / "a", "PropaneCombustion", method="ppo", seed=0, budget_s=1)
    by_task = RunRecorder(tmp_path / "b", task, method="ppo", seed=0, budget_s=1)
    assert by_name.task == by_task.task == "PropaneCombustion"
    assert by_name.graph.fingerprint == by_task.graph.fingerprint == task.graph.fingerprint
    assert by_name.baselines == dict(reference_costs(task.graph))
    assert _rec(tmp_path / "c", tiny_graph).task == (tiny_graph.name or "graph")


def _agent_file(d):
    (d / "agent.bin").write_bytes(b"x")


def test_checkpoints_come_early_then_every_interval_and_write_the_order(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph)
    mk = markowitz_order(tiny_graph)
    rec.record_episodes([mk], [cost(tiny_graph, mk)])
    rec.log([cost(tiny_graph, mk)])
    assert rec.maybe_checkpoint(_agent_file, every_s=1e9)  # the first iteration's
    assert (rec.checkpoint_dir / "agent.bin").is_file() and rec.json_path.is_file()
    assert json.loads(rec.json_path.read_text())["claimed_cost"] == cost(tiny_graph, mk)
    assert rec.reserve_s > 0  # its duration: the expected cost of the final checkpoint
    assert not rec.maybe_checkpoint(_agent_file, every_s=1e9)  # not due
    assert rec.maybe_checkpoint(_agent_file, every_s=0.0)  # due
    # near the end of the budget the periodic checkpoint is skipped (the final one follows)
    late = _rec(tmp_path / "late", tiny_graph, budget_s=0.5)
    assert not late.maybe_checkpoint(_agent_file, every_s=0.0, upcoming_s=1.0)


def test_should_stop_leaves_room_for_what_cannot_be_cut(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph, budget_s=30.0)
    assert not rec.should_stop() and not rec.should_stop(upcoming_s=10.0)
    assert rec.should_stop(upcoming_s=30.0)  # the next iteration would overshoot
    rec.reserve_s = 20.0  # a final checkpoint that long leaves no room for 10 s more
    assert rec.should_stop(upcoming_s=10.0)
    started = _rec(tmp_path / "b", tiny_graph, budget_s=1.0, clock_start=time.perf_counter() - 5)
    assert started.elapsed_s >= 5 and started.should_stop()  # the clock counts from clock_start


def test_catch_signals_turns_the_first_signal_into_a_stop(tmp_path, tiny_graph):
    rec = _rec(tmp_path, tiny_graph)
    before = signal.getsignal(signal.SIGINT)
    with rec.catch_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs at the next bytecode
        assert rec.interrupted == "SIGINT" and rec.should_stop()
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C aborts as usual
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is before
    assert rec.interrupted == "SIGINT"
    with pytest.raises(RunInterrupted) as exc:
        rec.finish(_agent_file)
    assert exc.value.signal == "SIGINT" and exc.value.result.interrupted == "SIGINT"
    assert (rec.checkpoint_dir / "agent.bin").is_file()
    quiet = _rec(tmp_path / "q", tiny_graph)
    with quiet.catch_signals():
        pass
    assert quiet.interrupted is None and quiet.finish(_agent_file).interrupted is None
