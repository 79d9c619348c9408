"""`crosscountry-gym evaluate`: a trained policy on other tasks, JSON, --submit, errors."""

from __future__ import annotations

import json

import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.cli import main
from crosscountry_gym.orders import reference_costs

pytest.importorskip("sb3_contrib")


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory):
    """A one-rollout PPO run on PropaneCombustion (a tiny network)."""
    import torch

    from crosscountry_gym.baselines.rl import sb3_agent as S

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ev") / "run"
    cfg = S.PPOConfig(num_envs=2, d_model=16, num_layers=1, num_heads=2, ff_dim=32)
    S.train("PropaneCombustion", seed=3, budget_s=600, out_dir=out, config=cfg, max_rollouts=1)
    return out


def test_json_reports_the_policy_next_to_the_references_on_other_tasks(ppo_run, capsys):
    argv = ["evaluate", str(ppo_run), "--task", "HumanHeartDipole", "--task", "PropaneCombustion",
            "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["task"] for r in rows] == ["HumanHeartDipole", "PropaneCombustion"]
    for r in rows:
        g = tasks.load(r["task"]).graph
        assert sorted(r["order"]) == sorted(g.eliminable)
        assert r["cost"] == cost(g, r["order"])
        ref = reference_costs(g)
        assert (r["forward"], r["reverse"], r["markowitz"]) == (ref.forward, ref.reverse,
                                                                ref.markowitz)
        assert r["agent"] == "ppo" and r["trained_on"] == "PropaneCombustion"
    # the text form: one line per task, and the same order from the checkpoint file itself
    assert main(["evaluate", str(ppo_run / "checkpoint" / "ppo.zip"), "--task", "HumanHeartDipole"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"HumanHeartDipole: ppo {rows[0]['cost']} (forward ")


def test_submit_stores_a_verified_learned_entry(ppo_run, tmp_path, capsys):
    board = tmp_path / "board"
    board.mkdir()
    argv = ["evaluate", str(ppo_run), "--task", "PropaneCombustion", "--submit",
            "--leaderboard", str(board), "--skip-executor", "--json"]
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["submitted"].startswith("accepted: PropaneCombustion")
    stored = [p for p in (board / "submissions" / "PropaneCombustion").glob("*.json")]
    assert len(stored) == 1
    entry = json.loads(stored[0].read_text())
    assert entry["order"] == row["order"] and entry["claimed_cost"] == row["cost"]
    assert entry["track"] == "learned" and entry["seeds"] == [3]
    assert main(argv) == 1  # the same order again: a duplicate, rejected
    assert "rejected" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "{tmp}/none", "--task", "PropaneCombustion"], "no checkpoint found"),
        (["evaluate", "{run}", "--task", "Nope"], "unknown task 'Nope'"),
        (["evaluate", "{run}", "--task", "PropaneCombustion", "--simulations", "4"],
         "alphazero checkpoints only"),
    ],
)
def test_user_errors_are_one_line(ppo_run, tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path, run=ppo_run) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("crosscountry-gym evaluate")


def test_alphazero_network_searches_another_task(tmp_path, capsys):
    pytest.importorskip("mctx")
    from crosscountry_gym.baselines.rl import alphazero as az

    cfg = az.AZConfig(num_envs=2, num_simulations=2, batch_size=8, d_model=16, num_layers=1,
                      num_heads=2, ff_dim=32)
    learner = az.AlphaZero(tasks.load("PropaneCombustion").graph, cfg, seed=0)
    learner.save(tmp_path)
    assert main(["evaluate", str(tmp_path), "--task", "HumanHeartDipole", "--simulations", "3",
                 "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    g = tasks.load("HumanHeartDipole").graph
    assert row["agent"] == "alphazero" and row["simulations"] == 3
    assert sorted(row["order"]) == sorted(g.eliminable) and row["cost"] == cost(g, row["order"])
