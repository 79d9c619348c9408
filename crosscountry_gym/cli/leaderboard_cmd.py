"""``crosscountry-gym submit FILE`` and ``crosscountry-gym leaderboard [check|render|migrate]``.

A thin shell over :mod:`crosscountry_gym.leaderboard`: parse arguments, call the pipeline,
print one line per outcome. Exit status: 2 for input that cannot be read as a submission
(unreadable, oversized or too deeply nested file, not JSON, a field missing, unknown, of the
wrong type, too long or not valid Unicode) and for usage errors (missing folder, unknown option);
1 for a well-formed claim that does not verify (task, fingerprint, order, cost, executor,
duplicate, damaged store) and for a failed check. Every message is one line; see
``docs/leaderboard.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crosscountry_gym.cli import CLIError, add_cost_model_option

DEFAULT_DIR = "leaderboard"


def _add_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--leaderboard",
        metavar="DIR",
        default=DEFAULT_DIR,
        help=f"leaderboard folder (default: ./{DEFAULT_DIR})",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "submit",
        help="verify a submission file and add it to the leaderboard",
        description=(
            "Verify a submission (schema and limits, task, fingerprint, order, the cost "
            "recomputed in both cost models, the executor check against jax.jacrev) and store it "
            "under DIR/submissions/<Task>/. The format is documented in leaderboard/README.md. "
            "Exit status 2 for unreadable input, 1 for a claim that does not verify."
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
            "'check': re-verify every stored entry (costs recomputed; the executor re-run for "
            "entries new or changed since the store recorded them), the manifest, leftovers of "
            "interrupted writes and the rendered files; exit 1 on any problem; changes nothing. "
            "'render': write DIR/LEADERBOARD.md and DIR/index.html. "
            "'migrate': create the manifest of a store written before it existed (re-runs the "
            "executor on every entry)."
        ),
    )
    q.add_argument("action", nargs="?", choices=("check", "render", "migrate"),
                   help="what to do (default: print)")
    _add_dir(q)
    q.add_argument("--task", help="only this task (print only)")
    add_cost_model_option(q, default=None, help="only this cost model (print only; default: all)")
    q.add_argument(
        "--executor",
        choices=("changed", "all", "none"),
        default="changed",
        help="check: re-run the executor for entries new or changed since recorded (default), "
        "for all entries, or for none",
    )
    q.add_argument(
        "--base-manifest",
        metavar="FILE",
        help="check: a trusted copy of submissions/manifest.json (e.g. from the main branch); "
        "entries new or changed relative to it get a fresh executor run",
    )
    q.set_defaults(func=_leaderboard)


def _one_line(text: object) -> str:
    from crosscountry_gym.leaderboard.safety import display_path

    return display_path(" ".join(str(text).split()))


def _store(args):
    from crosscountry_gym.leaderboard import Store, StoreError

    try:
        return Store(args.leaderboard)
    except StoreError as err:
        raise CLIError(_one_line(err), 2) from None


def _notes(store) -> None:
    for line in store.recovered:
        print(f"note: {_one_line(line)}", file=sys.stderr)
    store.recovered.clear()


def _submit(args) -> int:
    from crosscountry_gym.leaderboard import (
        StoreError,
        SubmissionError,
        SubmissionFormatError,
        submit,
    )
    from crosscountry_gym.leaderboard.ranking import ranked

    store = _store(args)
    try:
        entry, path = submit(
            args.file, store, skip_executor=args.skip_executor, render=not args.no_render
        )
    except SubmissionFormatError as err:
        _notes(store)
        raise CLIError(f"rejected: {_one_line(err)}", 2) from None
    except (SubmissionError, StoreError) as err:
        _notes(store)
        raise CLIError(f"rejected: {_one_line(err)}", 1) from None
    _notes(store)
    try:
        rows = ranked(store.entries(), entry.task, entry.cost_model)
        rank = next(r.rank for r in rows if r.entry.entry_id == entry.entry_id)
        where = f"rank {rank} of {len(rows)}"
    except (StoreError, StopIteration):
        where = "rank unknown (the store changed meanwhile)"
    other = ", ".join(f"{m} {c}" for m, c in entry.costs.items() if m != entry.cost_model)
    print(
        f"accepted: {entry.task}, model {entry.cost_model}, verified cost {entry.cost} ({other}); "
        f"executor {entry.executor['status']} ({_one_line(entry.executor.get('detail', ''))}); "
        f"{where}; stored as {Path(path).relative_to(store.root).as_posix()}"
    )
    return 0


def _leaderboard(args) -> int:
    from crosscountry_gym import tasks
    from crosscountry_gym.leaderboard import StoreError, render_text

    store = _store(args)
    if args.base_manifest is not None:
        from crosscountry_gym.leaderboard.store import load_manifest

        try:
            load_manifest(args.base_manifest)
        except StoreError as err:
            raise CLIError(_one_line(err), 2) from None
    try:
        if args.action == "check":
            problems = store.check(executor=args.executor, base_manifest=args.base_manifest)
            if problems:
                for p in problems:
                    print(f"problem: {_one_line(p)}")
                raise CLIError(f"{len(problems)} problem(s) in {_one_line(store.root)}", 1)
            entries = store.entries()
            skipped = sum(e.executor.get("status") != "passed" for e in entries)
            print(
                f"ok: {len(entries)} entries verified (costs recomputed in both models; executor "
                f"re-run for {store.executor_reruns} new or changed entries); rendered files up "
                f"to date; executor check recorded as skipped for {skipped} entries"
            )
            return 0
        if args.action == "render":
            for path in store.render():
                print(f"wrote {_one_line(path)}")
            _notes(store)
            return 0
        if args.action == "migrate":
            n = store.migrate(progress=True)
            _notes(store)
            print(f"migrated: {n} entries re-verified and recorded in submissions/manifest.json")
            return 0
        entries = store.entries()
        _notes(store)
    except StoreError as err:
        _notes(store)
        raise CLIError(_one_line(err), 1) from None
    task = tasks.canonical_name(args.task) if args.task else None
    print(render_text(entries, task=task, cost_model=args.cost_model), end="")
    return 0
