"""``crosscountry-gym verify TASK ORDER``: run an elimination order with the JAX executor.

``ORDER`` is a JSON file holding a bare list of vertex ids or an object with an ``"order"`` key
(the leaderboard submission format; its ``"fingerprint"``, if present, must name the traced
graph or the task's frozen paper graph), or one of the names fwd / rev / markowitz / auto
(``crosscountry_gym.orders.auto_order``, docs/search.md). Prints the cost in both models, the
multiplications the executor emitted and the error against ``jax.jacrev``; exit status 0 if
the order passes, 1 if it fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from crosscountry_gym.cli import CLIError

ORDER_NAMES = ("fwd", "forward", "rev", "reverse", "markowitz", "auto")


def load_order(text: str) -> Any:
    """The order named by ``text``: a built-in name, or the contents of a JSON file (read with
    the leaderboard's size and nesting limits, docs/leaderboard.md). Raises :class:`CLIError`
    with one line naming the problem (a missing file, a folder, too large, too deep, not JSON)."""
    from crosscountry_gym.leaderboard.safety import display_path
    from crosscountry_gym.leaderboard.schema import SubmissionError, read_json_file

    path = Path(text)
    if text.lower() in ORDER_NAMES and not path.exists():
        return text.lower()
    shown = display_path(text)
    if not path.exists():
        raise CLIError(f"order file {shown!r} not found (or use one of {', '.join(ORDER_NAMES)})")
    try:
        data = read_json_file(path, "order file")
    except SubmissionError as err:
        raise CLIError(str(err)) from None
    if isinstance(data, dict):
        if "order" not in data:
            raise CLIError(f'{shown}: a JSON object needs an "order" key with the vertex ids')
        if not isinstance(data["order"], list):
            raise CLIError(f'{shown}: "order" must be a list of vertex ids')
        return data
    if isinstance(data, list):
        return data
    raise CLIError(f'{shown}: expected a list of vertex ids or an object with an "order" key')


def run(args: argparse.Namespace) -> int:
    from crosscountry_gym.executor import verify_order
    from crosscountry_gym.tasks import canonical_name

    name = canonical_name(args.task)
    order = load_order(args.order)
    result = verify_order(name, order, dtype=args.dtype)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        status = "PASSED" if result.passed else "FAILED"
        print(f"{status}: {result.name}, order of {len(result.order)} vertices ({args.dtype})")
        print(f"  cost (exact model):           {result.cost_exact}")
        print(f"  cost (paper-compatible):      {result.cost_alphagrad}")
        print(f"  multiplications emitted:      {result.multiplications}")
        print(f"  max abs error vs jax.jacrev:  {result.max_abs_error:.3e}")
        print(
            f"  normwise rel. error:          {result.rel_error:.3e} (tolerance {result.tolerance:g})"
        )
        if not result.nonfinite_match:
            print("  non-finite entries differ from jax.jacrev")
        for note in result.notes:
            print(f"  note: {note}")
    return 0 if result.passed else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "verify",
        help="run an elimination order with the JAX executor and check it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", metavar="TASK", help="task name or alias, e.g. RoeFlux_1d or g")
    p.add_argument(
        "order",
        metavar="ORDER",
        help='JSON file (list or {"order": [...]}) or fwd/rev/markowitz/auto',
    )
    p.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="precision of the check (tolerance 1e-10 / 1e-4; default float64)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)
