"""The ``crosscountry-gym`` command line.

Each command lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (called with the parsed args; returns an exit code).
Errors the user can fix are raised as ``CLIError`` (or ``ValueError``) and printed as one clear
line on stderr with exit status 2 (1 for a failed verification). Commands that take a cost model
add it with :func:`add_cost_model_option` (``--cost-model``; ``--model`` is a hidden, deprecated
alias).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crosscountry_gym.sparsity import MODELS

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


class _DeprecatedModelFlag(argparse.Action):
    """``--model``: stores into ``cost_model`` like ``--cost-model``, with a warning on stderr."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: warning: {option_string} is deprecated; use --cost-model",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_cost_model_option(
    parser: argparse.ArgumentParser, *, default: str | None, help: str
) -> None:
    """Add ``--cost-model {exact,alphagrad}`` (into ``args.cost_model``) and the hidden,
    deprecated alias ``--model``. ``default`` is ``"exact"`` (the library default) unless the
    command shows the paper's leaderboard view, in which case ``help`` says so."""
    parser.add_argument("--cost-model", choices=MODELS, default=default, help=help)
    parser.add_argument("--model", dest="cost_model", choices=MODELS, action=_DeprecatedModelFlag,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crosscountry-gym",
        description="Cross-country elimination: tasks, baselines, search, verification, leaderboard.",
    )
    from crosscountry_gym import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
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
