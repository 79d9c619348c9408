"""The tables of ``order="auto"`` in docs/search.md: its cost against forward, reverse, Markowitz.

    .venv/bin/python benchmarks/auto_order.py                  # exact model (the executor's)
    .venv/bin/python benchmarks/auto_order.py --cost-model alphagrad
    .venv/bin/python benchmarks/auto_order.py --random         # also 300- and 2,000-vertex DAGs

For each of the ten paper tasks (and with ``--random`` four seeded random DAGs from
``tests/random_dags.py``): the costs of forward, reverse and the paper's Markowitz order, the
cheapest of the three, the cost of :func:`crosscountry_gym.orders.auto_order` (recomputed with
:func:`crosscountry_gym.engine.cost`) and the wall time of one uncached call. The costs are
deterministic (a work budget, no clock, no randomness); the times depend on the machine and its
load.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _graphs(random: bool) -> list[tuple[str, object]]:
    from crosscountry_gym import tasks

    out = [(name, tasks.load(name).graph) for name in tasks.names()]
    if random:
        sys.path.insert(0, str(ROOT / "tests"))
        from random_dags import scalar_dag, typed_dag

        out += [
            ("scalar DAG (seed 1)", scalar_dag(1, ni=10, nv=300, no=10)),
            ("typed DAG (seed 1)", typed_dag(1, ni=5, nv=300, no=5, max_in=3)),
            ("scalar DAG (seed 1)", scalar_dag(1, ni=20, nv=2000, no=20)),
            ("typed DAG (seed 2)", typed_dag(2, ni=10, nv=2000, no=10, max_in=3)),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    from crosscountry_gym import orders
    from crosscountry_gym.engine import cost, validate_order
    from crosscountry_gym.orders import auto_order, reference_costs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cost-model", default="exact", choices=("exact", "alphagrad"))
    ap.add_argument("--random", action="store_true", help="add 300- and 2,000-vertex random DAGs")
    args = ap.parse_args(argv)
    model = args.cost_model

    print("| graph | n | forward | reverse | Markowitz | min of the three | auto | saved | time |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = 0.0
    for name, g in _graphs(args.random):
        ref = reference_costs(g, model)
        orders._AUTO.clear()  # time one uncached call
        t0 = time.perf_counter()
        order = auto_order(g, model)
        dt = time.perf_counter() - t0
        total += dt
        c = cost(g, validate_order(g, order), model)
        saved = 100.0 * (ref.best - c) / ref.best
        print(
            f"| {name} | {g.num_intermediates} | {ref.forward} | {ref.reverse} | {ref.markowitz} "
            f"| {ref.best} | **{c}** | {saved:.1f} % | {dt:.2f} s |"
        )
    print(
        f"\n{model} model; total {total:.1f} s on {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
