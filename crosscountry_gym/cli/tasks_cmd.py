"""``crosscountry-gym tasks``: one row per benchmark task with its sizes and baseline costs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crosscountry_gym.engine import cost
from crosscountry_gym.orders import reference_costs
from crosscountry_gym.tasks import load, names

TABLE_MODELS = ("alphagrad", "exact")
"""The table shows the paper-compatible model, with the consistent one where it differs."""


def task_rows(with_fidelity: bool = True) -> list[dict[str, Any]]:
    """Rows of the task table: sizes, fwd/rev/Markowitz/paper best in both models, fidelity."""
    fidelity: dict[str, tuple[str, str]] = {}
    if with_fidelity:
        from crosscountry_gym.tasks.fidelity import fidelity_table

        fidelity = {row[0]: (row[1], row[2]) for row in fidelity_table()}
    rows = []
    for name in names():
        task = load(name)
        g = task.graph
        row: dict[str, Any] = {
            "task": name,
            "inputs": g.num_inputs,
            "intermediates": g.num_intermediates,
            "outputs": len(g.outputs),
            "edges": len(g.edges),
        }
        for model in TABLE_MODELS:
            ref = reference_costs(g, model)
            row[f"fwd_{model}"] = ref.forward
            row[f"rev_{model}"] = ref.reverse
            row[f"markowitz_{model}"] = ref.markowitz
            row[f"paper_best_{model}"] = cost(g, task.paper.best_order, model)
        if with_fidelity:
            row["fidelity"], row["fidelity_detail"] = fidelity[name]
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = ["task", "in/interm/out", "fwd", "rev", "Markowitz", "paper best", "fidelity"]
    lines = []

    def both(r: dict[str, Any], key: str) -> str:
        a, e = r[f"{key}_alphagrad"], r[f"{key}_exact"]
        return str(a) if a == e else f"{a} (exact {e})"

    for r in rows:
        lines.append([
            r["task"],
            f"{r['inputs']}/{r['intermediates']}/{r['outputs']}",
            both(r, "fwd"),
            both(r, "rev"),
            both(r, "markowitz"),
            both(r, "paper_best"),
            r.get("fidelity", "-"),
        ])
    widths = [max(len(h), *(len(str(line[i])) for line in lines)) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    details = [f"  {r['task']}: {r['fidelity_detail']}" for r in rows if r.get("fidelity_detail")]
    text = "\n".join(out)
    text += "\n\nCosts are multiplications in the paper-compatible model ('alphagrad'); "
    text += "'(exact N)' shows the consistent model where it differs."
    if details:
        text += "\nFidelity of make_graph(task.fn) to the frozen paper graph:\n" + "\n".join(details)
    return text


def run(args: argparse.Namespace) -> int:
    rows = task_rows(with_fidelity=not args.no_fidelity)
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
    else:
        print(format_table(rows))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tasks",
        help="list the benchmark tasks with sizes and baseline costs",
        description="One row per task: vertices in/intermediate/out, forward, reverse, minimal "
        "Markowitz and the paper's best order, in both cost models, and whether the traced JAX "
        "function reproduces the frozen paper graph.",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument(
        "--no-fidelity", action="store_true", help="skip tracing the task functions (faster)"
    )
    p.set_defaults(func=run)
