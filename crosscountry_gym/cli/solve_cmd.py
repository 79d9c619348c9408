"""``crosscountry-gym solve TASK --method M [--seconds S] [--moves N] --seed SEED --cost-model
MODEL [--out FILE]``.

Runs one search baseline (:func:`crosscountry_gym.baselines.search.solve`) with a progress bar of
the best cost so far, prints the result with its proven optimality gap, and optionally writes an
order file that ``crosscountry-gym verify TASK ORDER.json`` and the leaderboard seeding read:

``{"task", "fingerprint", "cost_model", "order", "cost", "method", "seed", "seconds",
"lower_bound", "proven_optimal", "command", "code", "hardware"}`` (plus ``"moves"`` and
``"compute_budget"`` under ``--moves``, and ``"interrupted"`` after Ctrl-C).

The budget is ``--seconds`` (wall time; default 10 s), ``--moves`` (work) or both. Only
``--moves`` alone is reproducible: a time-bounded search does a varying amount of work, so the
same ``--seed`` can end with different orders (``docs/search.md``). Ctrl-C (or SIGTERM) stops
the search, prints the best order found so far and writes ``--out``; the exit status is then
128 + the signal number. ``--out`` must name a file in an existing folder (checked before the
search starts; no folders are created).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run", "order_record"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from crosscountry_gym.baselines.search.solve import METHODS
    from crosscountry_gym.cli import add_cost_model_option, positive_int

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
    p.add_argument("--seconds", type=float, default=None,
                   help="wall-time budget in seconds (default 10, or none when --moves is given);"
                   " a time-bounded search is not reproducible")
    p.add_argument("--moves", type=positive_int, default=None, metavar="N",
                   help="work budget (sa: annealing moves; beam: children priced; dp: window "
                   "DPs; bnb: a third as annealing moves, the rest as search nodes); with "
                   "--moves alone, the same --seed reproduces the same order")
    p.add_argument("--seed", type=int, default=0)
    add_cost_model_option(p, default="exact",
                          help="cost model to search in (default exact; alphagrad is the "
                          "paper-compatible one, to compare with the published numbers)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write the order JSON to FILE (its folder must exist)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result record as JSON")
    p.set_defaults(func=run)


def order_record(task: Any, result: Any, seed: int, seconds: float | None, command: str, *,
                 moves: int | None = None, interrupted: str | None = None) -> dict:
    """The order file written by ``--out`` (see the module docstring)."""
    rec = {
        "task": task.name,
        "fingerprint": task.graph.fingerprint,
        "cost_model": result.cost_model,
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
    if moves is not None:
        rec["moves"] = moves
        rec["compute_budget"] = f"{moves} moves" + (f", {seconds:g} s" if seconds else "")
    if interrupted is not None:
        rec["interrupted"] = interrupted
    return rec


def check_out_path(text: str) -> Path:
    """``--out FILE``: refuse (CLIError) a directory, a missing or non-folder parent and an
    unwritable folder, before any work is done; returns the path."""
    from crosscountry_gym.cli import CLIError

    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise CLIError(f"--out {text}: is a directory; give a file name, e.g. "
                       f"{path / 'order.json'}")
    parent = path.parent
    if not parent.exists():
        raise CLIError(f"--out {text}: folder {parent} does not exist (create it first; "
                       "solve creates no folders)")
    if not parent.is_dir():
        raise CLIError(f"--out {text}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"--out {text}: folder {parent} is not writable")
    return path


def write_json(path: Path, rec: dict) -> None:
    """Write ``rec`` to ``path`` atomically, with the leaderboard store's writer (the folder
    was checked to exist by :func:`check_out_path`, so nothing is created)."""
    from crosscountry_gym.cli import CLIError
    from crosscountry_gym.leaderboard.store import atomic_write

    try:
        atomic_write(path, json.dumps(rec, indent=1) + "\n")
    except OSError as err:
        raise CLIError(f"cannot write --out {path}: {err.strerror or err}") from None


def run(args: argparse.Namespace) -> int:
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import solve
    from crosscountry_gym.baselines.search.common import stop_on_signals
    from crosscountry_gym.cli import CLIError

    if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds > 0):
        raise CLIError(f"--seconds must be > 0 and finite, got {args.seconds:g}")
    seconds = 10.0 if args.seconds is None and args.moves is None else args.seconds
    out = None if args.out is None else check_out_path(args.out)
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
        with stop_on_signals() as stop:  # Ctrl-C: the search returns its best order so far
            result = solve(task.graph, args.method, args.cost_model, seconds=seconds,
                           seed=args.seed, moves=args.moves, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    budget = (["--seconds", f"{seconds:g}"] if seconds is not None else []) + (
        ["--moves", str(args.moves)] if args.moves is not None else [])
    command = "crosscountry-gym solve " + " ".join(
        shlex.quote(a)
        for a in (task.name, "--method", args.method, *budget,
                  "--seed", str(args.seed), "--cost-model", args.cost_model)
    )
    rec = order_record(task, result, args.seed, seconds, command, moves=args.moves,
                       interrupted=stop.signal)
    if out is not None:
        write_json(out, rec)
    if args.json:
        print(json.dumps(rec))
    else:
        gap = result.cost - result.lower_bound
        tag = "proven optimal" if result.optimal else f"gap {gap}"
        from crosscountry_gym.engine import cost

        paper = cost(task.graph, task.paper.best_order, result.cost_model)
        print(
            f"{task.name} [{result.cost_model}] {result.method}: cost {result.cost} "
            f"(paper best {paper}), lower bound {result.lower_bound}, {tag}, "
            f"{result.seconds:.1f} s" + (f", wrote {out}" if out else "")
        )
    if stop.signal is not None:
        print(f"crosscountry-gym solve: interrupted by {stop.signal}: the result above is the "
              f"best order found so far" + (f" (written to {out})" if out else ""),
              file=sys.stderr)
        return 128 + int(getattr(signal, stop.signal))
    return 0
