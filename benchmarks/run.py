"""Run every benchmark of the package, one after the other, and print their reports.

    python benchmarks/run.py            # all benchmarks (several minutes)
    python benchmarks/run.py core trace # a subset, by name

Each benchmark is its own script (measuring its own ratios side by side in one run, because the
machine is noisy); this runner only sequences them. Latest figures live in BENCHMARKS.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = {
    "engine": [HERE / "engine_bench.py"],
    "core": [HERE / "core_env_bench.py"],
    "trace": [HERE / "trace_bench.py"],
    "executor": [HERE / "executor" / "run.py"],
    "everyday": [HERE / "executor" / "everyday.py"],
    "search": [HERE / "search_results.py", "--table-only"],  # replays the stored orders
    "rl": [HERE / "rl_bench.py"],
    "leaderboard": [HERE / "leaderboard_bench.py"],
    "tasks": [HERE / "tasks_bench.py"],
}


def main(selected: list[str]) -> int:
    names = selected or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        script, *args = BENCHMARKS[name]
        print(f"== {name}: {Path(script).relative_to(HERE.parent)} {' '.join(args)}", flush=True)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, str(script), *args], cwd=HERE.parent)
        print(f"== {name}: exit {r.returncode} after {time.perf_counter() - t0:.0f} s\n", flush=True)
        if r.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
