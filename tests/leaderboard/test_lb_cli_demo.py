"""The printing command and the `make demo` job (fast smoke variant; the full run is slow)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from crosscountry_gym import demo, tasks

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "leaderboard"


def test_leaderboard_prints_ranked_tables(run_cli):
    rc, out, err = run_cli("leaderboard", "--leaderboard", str(COMMITTED), "--task", "Perceptron",
                           "--cost-model", "alphagrad")
    assert rc == 0, err
    assert out.startswith("MLP  [model alphagrad]  best of forward/reverse/Markowitz: 392 (reverse)")
    rows = [ln.split() for ln in out.splitlines() if re.match(r"\s+\d+\s+\d+\s", ln)]
    assert [int(r[1]) for r in rows] == sorted(int(r[1]) for r in rows) and len(rows) >= 4
    from crosscountry_gym.leaderboard import Store

    costs = sorted(e.cost for e in Store(COMMITTED).entries()
                   if e.task == "MLP" and e.cost_model == "alphagrad")
    assert [int(r[1]) for r in rows] == costs
    assert rows[0][0] == "1" and rows[0][2] == f"{costs[0] / 392:.3f}"  # ratio to reverse, 392
    assert any(r[1:3] == ["389", "0.992"] for r in rows)  # the published order, 389 / 392


def test_leaderboard_model_filter_and_help(run_cli, capsys):
    rc, out, _ = run_cli("leaderboard", "--leaderboard", str(COMMITTED), "--cost-model", "exact")
    assert rc == 0 and "[model alphagrad]" not in out and "RandomFunction_f  [model exact]" in out
    # the old flag still works, with a deprecation warning, and is not advertised
    rc, old, err = run_cli("leaderboard", "--leaderboard", str(COMMITTED), "--model", "exact")
    assert rc == 0 and old == out and "--model is deprecated; use --cost-model" in err
    for cmd in ("submit", "leaderboard"):
        with pytest.raises(SystemExit) as exc:
            run_cli(cmd, "--help")
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "--leaderboard DIR" in text and "--model" not in text
    with pytest.raises(SystemExit):
        run_cli("leaderboard", "--leaderboard", str(COMMITTED), "--cost-model", "fast")
    rc, _, err = run_cli("leaderboard", "--leaderboard", str(COMMITTED), "--task", "nope")
    assert rc == 2 and "unknown task 'nope'" in err


def _snapshot(root: Path) -> dict[str, bytes]:
    """The store proper: entries and rendered files."""
    files = [*sorted((root / "submissions").rglob("*")), root / "LEADERBOARD.md", root / "index.html"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.is_file()}


def test_demo_smoke(capsys):
    before = _snapshot(COMMITTED)
    rc = demo.main(["--seconds", "0.5", "--tasks", "PropaneCombustion", "g", "--skip-executor",
                    "--leaderboard", str(COMMITTED)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "PropaneCombustion  [model alphagrad]" in out and "RandomFunction_g  [model alphagrad]" in out
    best = dict(re.findall(r"^  (\w+)\s+best\s+(\d+)", out, flags=re.M))
    assert set(best) == {"PropaneCombustion", "RandomFunction_g"}
    for name, c in best.items():  # never worse than the best of forward / reverse / Markowitz
        p = tasks.load(name).paper
        assert int(c) <= min(p.fwd, p.rev, p.markowitz)
    assert _snapshot(COMMITTED) == before  # the demo works on a temporary copy


@pytest.mark.slow
def test_full_demo_finishes_in_a_few_minutes(capsys):
    t0 = time.perf_counter()
    assert demo.main(["--leaderboard", str(COMMITTED)]) == 0
    out = capsys.readouterr().out
    assert all(f"{t}  [model alphagrad]" in out for t in tasks.names())
    assert time.perf_counter() - t0 < 300
