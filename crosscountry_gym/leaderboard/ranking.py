"""What the leaderboard shows, before any format: reference costs, ranks, ratios, summary rows.

Entries are grouped per task and per cost model (costs of different models are not comparable on
the tensor tasks) and ranked by verified cost; equal costs share a rank ("1, 2, 2, 4") and are
listed in the order they entered the store (:attr:`Entry.seq`, kept by the store under its lock,
never the self-reported date; entries without one, built in code, come after, by id). A row's
*ratio* is its cost over the best of forward, reverse and the paper's minimal Markowitz order
in the same model (:func:`crosscountry_gym.orders.reference_costs`, recomputed from the frozen
graph, never copied from the paper).

Everything here is a pure function of the entries and the frozen task graphs; the renderers
(:mod:`.text`, :mod:`.markdown`, :mod:`.html_page`) only lay it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from crosscountry_gym.engine import cost
from crosscountry_gym.orders import ReferenceCosts, reference_costs
from crosscountry_gym.sparsity import check_model

from .schema import LEADERBOARD_MODELS
from .verify import Entry

__all__ = [
    "LEADERBOARD_MODELS",
    "MODEL_TITLES",
    "REFERENCE_LABELS",
    "INTRO",
    "SUMMARY_HEADER",
    "reference",
    "reference_label",
    "published_cost",
    "Row",
    "ranked",
    "store_order",
    "task_names",
    "groups",
    "summary_rows",
    "format_ratio",
    "executor_status",
]

MODEL_TITLES = {
    "alphagrad": "paper-compatible model (`alphagrad`; the published numbers)",
    "exact": "consistent model (`exact`; what the executor counts)",
}
"""Section title of each cost model's tables (Markdown; the page drops the backticks)."""

REFERENCE_LABELS = {"forward": "forward", "reverse": "reverse", "markowitz": "Markowitz"}
"""How the tables name the keys of :class:`~crosscountry_gym.orders.ReferenceCosts`."""

INTRO = (
    "Every cost below was recomputed from the submitted elimination order by "
    "`crosscountry_gym.cost` (never taken from the claim). *ratio* is the verified cost divided "
    "by the best of forward, reverse and the paper's minimal Markowitz order in the same cost "
    "model (below 1 beats all three). *executor* says whether the order was also run as a "
    "Jacobian program and compared with `jax.jacrev`."
)
"""The explanation of the columns, shared by the Markdown file and the page."""

SUMMARY_HEADER = ["task", "forward", "reverse", "Markowitz", "paper's published order",
                  "best entry", "ratio", "method"]


@cache
def reference(task_name: str, cost_model: str) -> ReferenceCosts:
    """Forward / reverse / Markowitz costs of a task's frozen graph in ``cost_model``."""
    from crosscountry_gym import tasks

    return reference_costs(tasks.load(task_name).graph, check_model(cost_model))


def reference_label(ref: ReferenceCosts) -> str:
    """The table name of the cheapest reference order ("forward", "reverse" or "Markowitz")."""
    return REFERENCE_LABELS[ref.best_name]


@cache
def published_cost(task_name: str, cost_model: str) -> int:
    """Cost of the paper's published order in ``cost_model``, recomputed from the frozen graph."""
    from crosscountry_gym import tasks

    task = tasks.load(task_name)
    return cost(task.graph, task.paper.best_order, check_model(cost_model))


@dataclass(frozen=True)
class Row:
    rank: int
    entry: Entry
    ratio: float  # verified cost / best of forward, reverse, Markowitz (same model)


def store_order(e: Entry) -> tuple[int, int, str]:
    """Tie-break key among equal costs: the store's sequence number (first come, first
    listed), then the id; the submitter cannot choose either (the id is a hash)."""
    return (0, e.seq, e.entry_id) if e.seq is not None else (1, 0, e.entry_id)


def ranked(entries: Sequence[Entry], task: str, cost_model: str) -> list[Row]:
    """The rows of one (task, cost model) table, best first; ties in store order."""
    group = sorted(
        (e for e in entries if e.task == task and e.cost_model == cost_model),
        key=lambda e: (e.cost, *store_order(e)),
    )
    best = reference(task, cost_model).best
    rows: list[Row] = []
    for i, e in enumerate(group):
        rank = rows[-1].rank if rows and rows[-1].entry.cost == e.cost else i + 1
        rows.append(Row(rank, e, e.cost / best if best else float("inf")))
    return rows


def task_names(entries: Sequence[Entry]) -> list[str]:
    """The tasks that have entries, in the paper's order."""
    from crosscountry_gym import tasks

    present = {e.task for e in entries}
    return [t for t in tasks.names() if t in present]


def groups(entries: Sequence[Entry]) -> list[tuple[str, str, list[Row]]]:
    """``(task, cost model, rows)`` of every non-empty table, tasks in the paper's order and the
    models in :data:`LEADERBOARD_MODELS` order."""
    out = []
    for t in task_names(entries):
        for m in LEADERBOARD_MODELS:
            rows = ranked(entries, t, m)
            if rows:
                out.append((t, m, rows))
    return out


def format_ratio(r: float) -> str:
    return f"{r:.3f}"


def executor_status(e: Entry) -> str:
    """``"passed"`` or ``"skipped"``: the executor column."""
    return "passed" if e.executor.get("status") == "passed" else "skipped"


def summary_rows(entries: Sequence[Entry], cost_model: str) -> list[list[str]]:
    """One row per task of the summary table (cells of :data:`SUMMARY_HEADER`, as text)."""
    out = []
    for t in task_names(entries):
        rows = ranked(entries, t, cost_model)
        if not rows:
            continue
        ref = reference(t, cost_model)
        top = rows[0]
        out.append([
            t, str(ref.forward), str(ref.reverse), str(ref.markowitz),
            str(published_cost(t, cost_model)), str(top.entry.cost), format_ratio(top.ratio),
            top.entry.submission.method,
        ])
    return out
