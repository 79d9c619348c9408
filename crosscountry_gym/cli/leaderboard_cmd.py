"""``crosscountry-gym submit FILE`` and ``crosscountry-gym leaderboard [check|render]``.

A thin shell over :mod:`crosscountry_gym.leaderboard`: parse arguments, call the pipeline,
print one line per outcome. A rejected submission or a failed check exits with status 1; a usage
error (missing folder, unknown option) with status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crosscountry_gym.cli import CLIError, add_cost_model_option

DEFAULT_DIR = "leaderboard"


def _add_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--leaderboard",
        metavar="DIR",
        default=DEFAULT_DIR,
        help=f"leaderboard folder (default: ./{DEFAULT_DIR})",
    )


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "submit",
        help="verify a submission file and add it to the leaderboard",
        description=(
            "Verify a submission (schema, task, fingerprint, order, the cost recomputed in both "
            "cost models, the executor check against jax.jacrev) and store it under "
            "DIR/submissions/<Task>/. The format is documented in leaderboard/README.md."
        ),
    )
    p.add_argument("file", metavar="FILE", help="submission JSON file")
    _add_dir(p)
    p.add_argument(
        "--skip-executor",
        action="store_true",
        help="do not run the executor check (the entry is recorded with executor 'skipped')",
    )
    p.add_argument("--no-render", action="store_true", help="do not re-render LEADERBOARD.md / index.html")
    p.set_defaults(func=_submit)

    q = subparsers.add_parser(
        "leaderboard",
        help="print the leaderboard, check the store, or render the page",
        description=(
            "Without an action: print the ranked table per task and cost model. "
            "'check': re-verify every stored entry and the rendered files (exit 1 on any problem). "
            "'render': write DIR/LEADERBOARD.md and DIR/index.html."
        ),
    )
    q.add_argument("action", nargs="?", choices=("check", "render"), help="what to do (default: print)")
    _add_dir(q)
    q.add_argument("--task", help="only this task (print only)")
    add_cost_model_option(q, default=None, help="only this cost model (print only; default: all)")
    q.set_defaults(func=_leaderboard)


def _store(args):
    from crosscountry_gym.leaderboard import Store, StoreError

    try:
        return Store(args.leaderboard)
    except StoreError as err:
        raise CLIError(str(err), 2) from None


def _submit(args) -> int:
    from crosscountry_gym.leaderboard import StoreError, SubmissionError, submit
    from crosscountry_gym.leaderboard.ranking import ranked

    store = _store(args)
    try:
        entry, path = submit(
            args.file, store.root, skip_executor=args.skip_executor, render=not args.no_render
        )
    except (SubmissionError, StoreError) as err:
        raise CLIError(f"rejected: {err}", 1) from None
    rows = ranked(store.entries(), entry.task, entry.cost_model)
    rank = next(r.rank for r in rows if r.entry.entry_id == entry.entry_id)
    other = ", ".join(f"{m} {c}" for m, c in entry.costs.items() if m != entry.cost_model)
    print(
        f"accepted: {entry.task}, model {entry.cost_model}, verified cost {entry.cost} ({other}); "
        f"executor {entry.executor['status']} ({entry.executor.get('detail', '')}); "
        f"rank {rank} of {len(rows)}; stored as {Path(path).relative_to(store.root).as_posix()}"
    )
    return 0


def _leaderboard(args) -> int:
    from crosscountry_gym import tasks
    from crosscountry_gym.leaderboard import StoreError, render_text

    store = _store(args)
    if args.action == "check":
        problems = store.check()
        if problems:
            for p in problems:
                print(f"problem: {p}")
            raise CLIError(f"{len(problems)} problem(s) in {store.root}", 1)
        entries = store.entries()
        skipped = sum(e.executor.get("status") != "passed" for e in entries)
        print(
            f"ok: {len(entries)} entries verified (costs recomputed in both models); "
            f"rendered files up to date; executor check recorded as skipped for {skipped} entries"
        )
        return 0
    try:
        if args.action == "render":
            for path in store.render():
                print(f"wrote {path}")
            return 0
        entries = store.entries()
    except StoreError as err:
        raise CLIError(str(err), 1) from None
    task = tasks.canonical_name(args.task) if args.task else None
    print(render_text(entries, task=task, cost_model=args.cost_model), end="")
    return 0
