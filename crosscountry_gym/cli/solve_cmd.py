"""``crosscountry-gym solve TASK --method M --seconds N --seed S --cost-model MODEL [--out FILE]``.

Runs one search baseline (:func:`crosscountry_gym.baselines.search.solve`) with a progress bar of
the best cost so far, prints the result with its proven optimality gap, and optionally writes an
order file that ``crosscountry-gym verify TASK ORDER.json`` and the leaderboard seeding read:

``{"task", "fingerprint", "cost_model", "order", "cost", "method", "seed", "seconds",
"lower_bound", "proven_optimal", "command", "code", "hardware"}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run", "order_record"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from crosscountry_gym.baselines.search.solve import METHODS
    from crosscountry_gym.cli import add_cost_model_option

    p = subparsers.add_parser(
        "solve",
        help="search for a cheap elimination order (SA, beam, DP, branch-and-bound)",
        description=(
            "Search for a cheap elimination order of TASK and report its cost, the proven "
            "lower bound and the gap. Methods: markowitz (paper greedy), sa (simulated "
            "annealing), beam (beam search), dp (exact subset DP, or window DP on large "
            "graphs), bnb (branch-and-bound; proves optimality when it finishes)."
        ),
    )
    p.add_argument("task", help="task name or alias (see `crosscountry-gym tasks`)")
    p.add_argument("--method", choices=METHODS, default="sa")
    p.add_argument("--seconds", type=float, default=10.0, help="time budget (default 10)")
    p.add_argument("--seed", type=int, default=0)
    add_cost_model_option(p, default="exact",
                          help="cost model to search in (default exact; alphagrad is the "
                          "paper-compatible one, to compare with the published numbers)")
    p.add_argument("--out", type=Path, default=None, help="write the order JSON here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result record as JSON")
    p.set_defaults(func=run)


def order_record(task: Any, result: Any, seed: int, seconds: float, command: str) -> dict:
    """The order file written by ``--out`` (see the module docstring)."""
    return {
        "task": task.name,
        "fingerprint": task.graph.fingerprint,
        "cost_model": result.model,
        "order": list(result.order),
        "cost": result.cost,
        "method": result.method,
        "seed": seed,
        "seconds": seconds,
        "lower_bound": result.lower_bound,
        "proven_optimal": bool(result.optimal),
        "command": command,
        "code": "baselines/search (crosscountry-gym)",
        "hardware": f"{platform.machine()} CPU, {platform.python_implementation()} "
        f"{platform.python_version()}",
    }


def run(args: argparse.Namespace) -> int:
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import solve

    if not args.seconds > 0:
        raise ValueError(f"--seconds must be > 0, got {args.seconds}")
    task = tasks.load(args.task)
    bar = None
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=1000, desc=f"{task.name} {args.method}", file=sys.stderr,
                   mininterval=0.5,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")

        def progress(best: int, frac: float) -> None:
            bar.set_postfix_str(f"best {best}", refresh=False)
            bar.update(max(0, int(1000 * frac) - bar.n))  # redraws at most every 0.5 s

    try:
        result = solve(task.graph, args.method, args.cost_model, seconds=args.seconds,
                       seed=args.seed, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    command = "crosscountry-gym solve " + " ".join(
        shlex.quote(a)
        for a in (task.name, "--method", args.method, "--seconds", f"{args.seconds:g}",
                  "--seed", str(args.seed), "--cost-model", args.cost_model)
    )
    rec = order_record(task, result, args.seed, args.seconds, command)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rec, indent=1) + "\n")
    if args.json:
        print(json.dumps(rec))
    else:
        gap = result.cost - result.lower_bound
        tag = "proven optimal" if result.optimal else f"gap {gap}"
        from crosscountry_gym.engine import cost

        paper = cost(task.graph, task.paper.best_order, result.model)
        print(
            f"{task.name} [{result.model}] {result.method}: cost {result.cost} "
            f"(paper best {paper}), lower bound {result.lower_bound}, {tag}, "
            f"{result.seconds:.1f} s" + (f", wrote {args.out}" if args.out else "")
        )
    return 0
