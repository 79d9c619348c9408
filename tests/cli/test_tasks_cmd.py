"""`crosscountry-gym tasks` and the CLI shell."""

import json
import subprocess
import sys

from crosscountry_gym.cli import main


def test_tasks_json_matches_the_cost_function(capsys):
    assert main(["tasks", "--json", "--no-fidelity"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["task"] for r in rows][:2] == ["RoeFlux_1d", "RoeFlux_3d"]
    f = next(r for r in rows if r["task"] == "RandomFunction_f")
    assert (f["paper_best_alphagrad"], f["paper_best_exact"]) == (6374, 6566)
    roe = rows[0]
    assert (roe["inputs"], roe["intermediates"], roe["outputs"]) == (6, 98, 3)


def test_tasks_table_text(capsys):
    assert main(["tasks", "--no-fidelity"]) == 0
    out = capsys.readouterr().out
    assert "RoeFlux_1d" in out and "6374 (exact 6566)" in out


def test_every_command_has_help():
    from crosscountry_gym.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "tasks" in sub.choices
    for name in sub.choices:
        r = subprocess.run(
            [sys.executable, "-m", "crosscountry_gym", name, "--help"],
            capture_output=True, text=True, timeout=120,
        )
        assert r.returncode == 0 and "usage:" in r.stdout, (name, r.stderr)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().out


def test_tasks_rows_are_the_reference_costs(capsys):
    from crosscountry_gym import tasks
    from crosscountry_gym.cli.tasks_cmd import task_rows
    from crosscountry_gym.orders import reference_costs

    rows = {r["task"]: r for r in task_rows(with_fidelity=False)}
    for name in ("RoeFlux_1d", "RandomFunction_f"):
        for model in ("alphagrad", "exact"):
            ref = reference_costs(tasks.load(name).graph, model)
            r = rows[name]
            assert (r[f"fwd_{model}"], r[f"rev_{model}"], r[f"markowitz_{model}"]) == tuple(
                ref.values())


def test_cost_model_flags_and_their_defaults():
    """`--cost-model` everywhere; exact by default except for the paper's leaderboard view."""
    from crosscountry_gym import demo
    from crosscountry_gym.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    solve = sub.choices["solve"].parse_args(["MLP"])
    assert solve.cost_model == "exact"
    assert sub.choices["solve"].parse_args(["MLP", "--cost-model", "alphagrad"]).cost_model == (
        "alphagrad")
    assert sub.choices["leaderboard"].parse_args([]).cost_model is None  # every model
    assert "--model" not in sub.choices["solve"].format_help()
    r = subprocess.run([sys.executable, "-m", "crosscountry_gym.demo", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--cost-model" in r.stdout
    assert "paper's leaderboard" in " ".join(r.stdout.split())
    assert demo.DEFAULT_SECONDS > 0
