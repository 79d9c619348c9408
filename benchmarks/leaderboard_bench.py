"""Leaderboard costs, side by side in one run: verification, submit, check and render, on the
committed board and on a synthetic board of many entries.

    python benchmarks/leaderboard_bench.py [--entries 400]

The executor check (seconds per order, JAX tracing and compilation) is measured by the executor
benchmark, not here; ``submit`` is timed with ``--skip-executor``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from crosscountry_gym import tasks
from crosscountry_gym.baselines import random_order
from crosscountry_gym.leaderboard import Store, submit_submission, verify_submission
from crosscountry_gym.leaderboard.schema import Submission
from crosscountry_gym.leaderboard.store import _verified_entry

REPO = Path(__file__).resolve().parents[1]


def _sub(task: str, seed: int) -> Submission:
    from crosscountry_gym import cost

    g = tasks.load(task).graph
    order = random_order(g, seed)
    return Submission(task=task, fingerprint=g.fingerprint, cost_model="alphagrad", order=order,
                      claimed_cost=cost(g, order, "alphagrad"), method=f"random {seed}",
                      track="heuristic/search", authors=("bench",), code="benchmarks/",
                      package_version="0.1.0", seeds=(seed,), compute_budget="0", hardware="-",
                      date="2026-01-01")


def _time(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=400, help="size of the synthetic board")
    args = p.parse_args(argv)
    rows: list[tuple[str, float, str]] = []

    big = _sub("Transformer", 0)
    rows.append(("verify one submission (Transformer, both models)",
                 _time(lambda: verify_submission(big, skip_executor=True)), "per submission"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lb"
        shutil.copytree(REPO / "leaderboard", root, ignore=shutil.ignore_patterns(".submit.lock"))
        store = Store(root)
        n_committed = len(store.entries())

        def cold_check():
            _verified_entry.cache_clear()
            assert store.check() == []

        rows.append((f"check, committed board ({n_committed} entries, cold)", _time(cold_check), ""))
        rows.append((f"check, committed board ({n_committed} entries, warm cache)",
                     _time(lambda: store.check()), ""))
        rows.append(("render LEADERBOARD.md + index.html", _time(lambda: store.rendered(store.entries())),
                     ""))
        seeds = iter(range(10**6))
        rows.append(("submit --skip-executor into it (incl. re-render)",
                     _time(lambda: submit_submission(_sub("RoeFlux_1d", next(seeds)), root,
                                                     skip_executor=True)), "per submission"))

        names = tasks.names()
        t0 = time.perf_counter()
        for i in range(args.entries):
            submit_submission(_sub(names[i % len(names)], 10_000 + i), root, skip_executor=True,
                              render=False)
        fill = time.perf_counter() - t0
        store.render()
        n = len(store.entries())
        rows.append((f"fill: {args.entries} submits without rendering", fill / args.entries,
                     "per submission"))
        rows.append((f"check, synthetic board ({n} entries, cold)", _time(cold_check, 3), ""))
        rows.append((f"render, synthetic board ({n} entries)",
                     _time(lambda: store.rendered(store.entries()), 3), ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'median':>10}")
    for name, sec, note in rows:
        print(f"{name:<{width}}  {sec * 1000:>8.1f} ms  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
