"""The ``crosscountry-gym`` command line.

Each command lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (called with the parsed args; returns an exit code).
Errors the user can fix are raised as ``CLIError`` (or ``ValueError``) and printed as one clear
line on stderr with exit status 2 (1 for a failed verification).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "tasks_cmd",  # crosscountry-gym tasks
    "verify_cmd",  # crosscountry-gym verify TASK ORDER.json
    "solve_cmd",  # crosscountry-gym solve TASK --method ...
    "leaderboard_cmd",  # crosscountry-gym submit / leaderboard {check,render}
    "train_cmd",  # crosscountry-gym train {ppo,alphazero}
)


class CLIError(Exception):
    """A user-facing error: printed without a traceback."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crosscountry-gym",
        description="Cross-country elimination: tasks, baselines, search, verification, leaderboard.",
    )
    from crosscountry_gym import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{name}":
                continue  # command not built in this checkout
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CLIError as err:
        print(f"crosscountry-gym {args.command}: error: {err}", file=sys.stderr)
        return err.code
    except (ValueError, FileNotFoundError) as err:
        print(f"crosscountry-gym {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
