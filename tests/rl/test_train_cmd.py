"""`crosscountry-gym train`: help, argument errors, a short PPO run with resume."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.cli import main


def test_help_lists_agents_and_is_light():
    code = (
        "import sys; from crosscountry_gym.cli import build_parser; build_parser(); "
        "heavy = [m for m in ('torch', 'stable_baselines3', 'mctx', 'equinox', 'optax') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    proc = subprocess.run([sys.executable, "-m", "crosscountry_gym", "train", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "{ppo,alphazero}" in proc.stdout and "--budget" in proc.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "ppo", "--task", "Nope", "--budget", "1"], "unknown task 'Nope'"),
        (["train", "ppo", "--task", "RoeFlux_1d", "--budget", "1", "--simulations", "5"],
         "alphazero only"),
        (["train", "alphazero", "--task", "RoeFlux_1d", "--budget", "1", "--set", "nope=1"],
         "AZConfig has no field 'nope'"),
        (["train", "alphazero", "--task", "RoeFlux_1d", "--budget", "1", "--set",
          "updates_per_iteration=many"], "expects a value of type int"),
        (["train", "ppo", "--task", "RoeFlux_1d", "--budget", "1", "--set", "n_epochs"],
         "expected KEY=VALUE"),
        (["train", "ppo", "--task", "RoeFlux_1d", "--budget", "1", "--set", "n_epochs=0"],
         "n_epochs must be a positive int"),
        (["train", "ppo", "--budget", "1"], "give --task"),
        (["train", "ppo", "--task", "RoeFlux_1d", "--random", "default", "--budget", "1"],
         "either --task or --random"),
        (["train", "alphazero", "--task", "RoeFlux_1d", "--task", "MLP", "--budget", "1"],
         "alphazero trains on one task"),
        (["train", "ppo", "--random", "num_vertices", "--budget", "1"], "expected KEY=VALUE"),
        (["train", "ppo", "--random", "size=3", "--budget", "1"], "no field 'size'"),
        (["train", "ppo", "--random", "num_vertices=ten", "--budget", "1"],
         "not a valid value for num_vertices"),
        (["train", "ppo", "--random", "num_vertices=5,num_outputs=9", "--budget", "1"],
         "num_outputs must be in 1..5"),
    ],
)
def test_user_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_budget_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "ppo", "--task", "RoeFlux_1d", "--budget", "0"])
    assert exc.value.code == 2 and "must be > 0" in capsys.readouterr().err


def test_short_ppo_run_writes_outputs_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "ppo", "--task", "PropaneCombustion", "--seed", "1", "--budget", "0.15",
            "--num-envs", "2", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["task"] == "PropaneCombustion" and summary["method"] == "ppo"
    for name in ("metrics.csv", "learning_curve.png", "checkpoint/ppo.zip"):
        assert (out / name).exists(), name
    if summary["best_cost"] is not None:  # at least one episode finished within 15 s
        sub = json.loads((out / "best_order.json").read_text())
        g = tasks.load("PropaneCombustion").graph
        assert sub["claimed_cost"] == cost(g, sub["order"]) == summary["best_cost"]
    # resuming continues the same run: the steps carry over (the first session stops a little
    # before its budget to leave room for the final checkpoint, so a few more may follow)
    assert main(argv + ["--resume"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["env_steps"] >= summary["env_steps"]
    assert main(argv[:5] + ["2"] + argv[6:] + ["--resume"]) == 2  # other seed
    assert "seed" in capsys.readouterr().err


def test_set_overrides_are_typed():
    from crosscountry_gym.baselines.rl.alphazero import AZConfig
    from crosscountry_gym.cli.train_cmd import parse_overrides

    got = parse_overrides(AZConfig, ["updates_per_iteration=8", "learning-rate=3e-4",
                                     "value_transform=symlog"])
    assert got == {"updates_per_iteration": 8, "learning_rate": 3e-4, "value_transform": "symlog"}
    assert AZConfig(**got).updates_per_iteration == 8


def test_random_spec_parsing():
    from crosscountry_gym.cli.train_cmd import parse_random_spec
    from crosscountry_gym.envs.random_graphs import RandomGraphSpec

    assert parse_random_spec("default") == RandomGraphSpec()
    spec = parse_random_spec("num_vertices=10-30, num_inputs=3,tensor=true,degree_probs=0.2/0.8")
    assert spec == RandomGraphSpec(num_vertices=(10, 30), num_inputs=3, tensor=True,
                                   degree_probs=(0.2, 0.8))


def test_ppo_on_several_tasks_writes_a_portable_run(tmp_path, capsys):
    out = tmp_path / "multi"
    argv = ["train", "ppo", "--task", "PropaneCombustion", "--task", "HumanHeartDipole", "--budget", "0.15",
            "--num-envs", "2", "--out", str(out), "--no-progress",
            "--set", "d_model=16", "--set", "num_layers=1", "--set", "num_heads=2"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["task"] == "PropaneCombustion+HumanHeartDipole"
    assert summary["best_cost"] is None and summary["env_steps"] > 0
    assert (out / "checkpoint" / "ppo.zip").is_file() and not (out / "best_order.json").exists()
    assert main(["evaluate", str(out), "--task", "RoeFlux_1d", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    g = tasks.load("RoeFlux_1d").graph
    assert sorted(row["order"]) == sorted(g.eliminable) and row["cost"] == cost(g, row["order"])
