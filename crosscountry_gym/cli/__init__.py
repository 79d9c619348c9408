"""The ``crosscountry-gym`` command line.

Each command lives in its own module of this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` (called with the parsed args; returns an exit code).
Errors the user can fix are raised as ``CLIError`` (or ``ValueError``, or an ``OSError`` such
as a missing or unreadable file) and printed as one clear line on stderr with exit status 2
(1 for a failed verification). Text arguments that are not valid UTF-8 (lone surrogates, as
Python decodes such bytes) are refused naming the argument. Ctrl-C prints one line and exits
with 130 (commands that can stop gracefully, ``solve`` and ``train``, first save their best
result). When stdout is closed early (``crosscountry-gym tasks | head``) the command exits
quietly with status 141, as a process killed by SIGPIPE would. Commands that take a cost model
add it with :func:`add_cost_model_option` (``--cost-model``; ``--model`` is a hidden,
deprecated alias).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Sequence

from crosscountry_gym.sparsity import MODELS

COMMAND_MODULES = (
    "tasks_cmd",  # crosscountry-gym tasks
    "verify_cmd",  # crosscountry-gym verify TASK ORDER.json
    "solve_cmd",  # crosscountry-gym solve TASK --method ...
    "leaderboard_cmd",  # crosscountry-gym submit / leaderboard {check,render}
    "train_cmd",  # crosscountry-gym train {ppo,alphazero}
    "evaluate_cmd",  # crosscountry-gym evaluate CHECKPOINT --task T
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


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        val = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if val < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return val


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``inf``, ``nan``, 0 and negatives are refused)."""
    try:
        val = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(val) and val > 0):
        raise argparse.ArgumentTypeError(f"must be > 0 and finite, got {text}")
    return val


def _lone_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate in ``text`` (how Python decodes bytes of an argument
    that are not valid UTF-8), or ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return err.start
    return None


def check_text_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (CLIError) any text argument that is not valid UTF-8, naming the argument: such
    text cannot be printed or stored as JSON without mangling it."""
    actions = list(parser._actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and args.command in action.choices:
            actions += action.choices[args.command]._actions
    for action in actions:
        val = getattr(args, action.dest, None)
        for item in val if isinstance(val, list | tuple) else [val]:
            if not isinstance(item, str | os.PathLike):
                continue
            text = os.fspath(item)
            pos = _lone_surrogate(text) if isinstance(text, str) else None
            if pos is not None:
                name = "/".join(action.option_strings) or action.metavar or action.dest
                raise CLIError(
                    f"argument {name}: {text!r} is not valid UTF-8 (lone surrogate "
                    f"U+{ord(text[pos]):04X} at character {pos}); use UTF-8 text"
                )


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
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # --help, --version or a usage error: flush while we can still tell
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
        raise
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        check_text_arguments(parser, args)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except CLIError as err:
        _error(args, err)
        return err.code
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except KeyboardInterrupt:
        print(f"crosscountry-gym {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as err:
        _error(args, err)
        return 2


def _error(args: argparse.Namespace, err: BaseException) -> None:
    """The error line on stderr, naming the command and the problem."""
    print(f"crosscountry-gym {args.command}: error: {str(err) or type(err).__name__}",
          file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again (the
    usual Python recipe for a reader that went away)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
