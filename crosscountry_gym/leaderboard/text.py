"""The console table of the leaderboard (``crosscountry-gym leaderboard``): per task and cost
model, rank, verified cost, ratio, method, track, date and executor status. Fields are shown
through :func:`.safety.console_text` (no control characters, escape sequences or bidi
reordering reach the terminal)."""

from __future__ import annotations

from collections.abc import Sequence

from crosscountry_gym.sparsity import CostModel, cost_model_arg

from .ranking import executor_status, format_ratio, groups, reference, reference_label
from .safety import console_text
from .verify import Entry

__all__ = ["render_text"]


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def fmt(cells: Sequence[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs).rstrip()

    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def render_text(
    entries: Sequence[Entry],
    *,
    task: str | None = None,
    cost_model: CostModel | None = None,
    model: CostModel | None = None,
) -> str:
    """The console table per task and cost model, optionally only one ``task`` and/or one
    ``cost_model`` (``model=`` is a deprecated alias)."""
    if cost_model is not None or model is not None:
        cost_model = cost_model_arg(cost_model, model)
    lines: list[str] = []
    selected = [
        g for g in groups(entries)
        if (task is None or g[0] == task) and (cost_model is None or g[1] == cost_model)
    ]
    if not selected:
        return "no entries\n"
    for t, m, rows in selected:
        ref = reference(t, m)
        lines.append(
            f"{t}  [model {m}]  best of forward/reverse/Markowitz: {ref.best} ({reference_label(ref)})"
        )
        body = [
            [
                str(r.rank),
                str(r.entry.cost),
                format_ratio(r.ratio),
                console_text(r.entry.submission.method),
                console_text(r.entry.submission.track),
                console_text(r.entry.submission.date),
                executor_status(r.entry),
            ]
            for r in rows
        ]
        header = ["rank", "cost", "ratio", "method", "track", "date", "executor"]
        lines += ["  " + s for s in _text_table(header, body, right={0, 1, 2})]
        lines.append("")
    return "\n".join(lines) + "\n"
