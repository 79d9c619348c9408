"""Seed this leaderboard: the reference orders of all ten tasks and the order files under
``leaderboard/orders/<Task>/*.json`` (search and RL results), each verified like a submission.

    python leaderboard/seed.py [--leaderboard DIR] [--orders DIR] [--date YYYY-MM-DD]
                               [--skip-executor] [--no-paper]
    python leaderboard/seed.py --refresh-executor   # re-run the executor on skipped entries

Idempotent: entries already on the board are reported as present. Exit status 1 if any order
file is rejected. The logic lives in :mod:`crosscountry_gym.leaderboard.seeds`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crosscountry_gym.leaderboard.seeds import refresh_executor, seed_store

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--leaderboard", default=str(HERE), help="leaderboard folder (default: this folder)")
    p.add_argument("--orders", default=str(HERE / "orders"), help="order files (default: ./orders)")
    p.add_argument("--date", help="date for the baseline entries (default: today)")
    p.add_argument("--skip-executor", action="store_true", help="do not run the executor check")
    p.add_argument("--no-paper", action="store_true", help="only the order files, not the paper seeds")
    p.add_argument(
        "--refresh-executor",
        action="store_true",
        help="re-run the executor check on entries recorded as skipped (no new entries)",
    )
    args = p.parse_args(argv)
    if args.refresh_executor:
        res = refresh_executor(args.leaderboard, progress=True)
        for line in res.added:
            print(f"updated  {line}")
        for line in res.present:
            print(f"skipped  {line}")
        for line in res.rejected:
            print(f"FAILED   {line}")
        return 1 if res.rejected else 0
    res = seed_store(
        args.leaderboard,
        orders_dir=args.orders,
        date=args.date,
        skip_executor=args.skip_executor,
        paper=not args.no_paper,
        progress=True,
    )
    for line in res.added:
        print(f"added    {line}")
    for line in res.rejected:
        print(f"REJECTED {line}")
    print(f"{len(res.added)} added, {len(res.present)} already present, {len(res.rejected)} rejected")
    return 1 if res.rejected else 0


if __name__ == "__main__":
    sys.exit(main())
