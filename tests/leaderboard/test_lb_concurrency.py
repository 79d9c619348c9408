"""Concurrent `crosscountry-gym submit` from several processes: nothing is lost, duplicates are
refused exactly once, and the store passes `leaderboard check` afterwards.

Each process is a real ``python -m crosscountry_gym submit`` started together; a file barrier
makes them all reach the submit call at the same moment, after their imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from crosscountry_gym import tasks
from crosscountry_gym.baselines import random_order
from crosscountry_gym.leaderboard import Store

TASK = "PropaneCombustion"

DRIVER = textwrap.dedent(
    """
    import pathlib, sys, time
    from crosscountry_gym.cli import main
    barrier, n, me = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    (barrier / me).touch()
    deadline = time.time() + 60
    while len(list(barrier.iterdir())) < n and time.time() < deadline:
        time.sleep(0.01)
    sys.exit(main(sys.argv[4:]))
    """
)


def _run_together(tmp_path, root, files):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(barrier), str(len(files)), f"p{i}",
             "submit", str(f), "--leaderboard", str(root), "--skip-executor"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i, f in enumerate(files)
    ]
    return [(p.wait(timeout=180), p.stdout.read(), p.stderr.read()) for p in procs]


def test_eight_processes_submit_distinct_entries(tmp_path, make_sub, write_json):
    root = tmp_path / "lb"
    root.mkdir()
    g = tasks.load(TASK).graph
    orders = [random_order(g, seed) for seed in range(8)]
    assert len(set(orders)) == 8
    files = [write_json(make_sub(order=list(o), method=f"proc {i}")) for i, o in enumerate(orders)]
    results = _run_together(tmp_path, root, files)
    assert [rc for rc, _, _ in results] == [0] * 8, [r for r in results if r[0]]
    stored = sorted((root / "submissions" / TASK).glob("*.json"))
    assert len(stored) == 8
    assert sorted(tuple(json.loads(p.read_text())["order"]) for p in stored) == sorted(orders)
    assert Store(root).check() == []  # entries sound, rendered files include all 8
    assert "8 verified entries" in (root / "LEADERBOARD.md").read_text()
    assert not list(root.rglob("*.tmp"))


def test_racing_duplicates_are_stored_once(tmp_path, make_sub, write_json):
    root = tmp_path / "lb"
    root.mkdir()
    files = [write_json(make_sub(method=f"racer {i}")) for i in range(4)]  # same order
    results = _run_together(tmp_path, root, files)
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 1, 1, 1], results
    assert all("duplicate" in err for rc, _, err in results if rc == 1)
    assert len(list((root / "submissions" / TASK).glob("*.json"))) == 1
    assert Store(root).check() == []
