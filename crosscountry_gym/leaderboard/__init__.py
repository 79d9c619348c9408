"""The leaderboard: verified submissions, a file store, rendered tables and page.

* :mod:`.schema`: the submission format and its parsing (clear errors naming the field);
* :mod:`.safety`: the limits and render-safe text (cleaning, escaping per format);
* :mod:`.verify`: recomputation of the claim (both cost models) and the executor check;
* :mod:`.store`: one JSON file per entry, a manifest (store order, verified checksums), atomic
  journaled writes under an inter-process lock, recovery from dead writers, ``check``;
* :mod:`.ranking`: reference costs, ranks and ratios, the rows every format shows;
* :mod:`.render`: the renderers, one module per format: :mod:`.text` (console),
  :mod:`.markdown` (``LEADERBOARD.md``) and :mod:`.html_page` (the static ``index.html``);
* :mod:`.seeds`: the seed entries (forward, reverse, Markowitz, the paper's published orders,
  and order files dropped by the search and RL baselines).

:func:`submit` is the whole pipeline of ``crosscountry-gym submit FILE``.
User documentation: ``docs/leaderboard.md``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .render import render_html, render_markdown, render_text
from .schema import (
    COST_MODELS,
    LEADERBOARD_MODELS,
    TRACKS,
    Submission,
    SubmissionError,
    SubmissionFormatError,
    load_submission_file,
    parse_submission,
)
from .store import Problem, Store, StoreError
from .verify import Entry, executor_check, verify_submission

__all__ = [
    "COST_MODELS",
    "LEADERBOARD_MODELS",
    "TRACKS",
    "Entry",
    "Problem",
    "Store",
    "StoreError",
    "Submission",
    "SubmissionError",
    "SubmissionFormatError",
    "load_submission_file",
    "parse_submission",
    "render_html",
    "render_markdown",
    "render_text",
    "submit",
    "submit_submission",
    "verify_submission",
]


def submit_submission(
    sub: Submission, root: str | Path | Store, *, skip_executor: bool = False, render: bool = True
) -> tuple[Entry, Path]:
    """Verify ``sub`` and store it in the leaderboard folder ``root`` (a path or a
    :class:`Store`).

    Cheap checks run first (form and limits, task, fingerprint, order, claimed cost,
    duplicate), then the executor check (seconds), then the locked write. Raises
    :class:`SubmissionError` (:class:`SubmissionFormatError` for unreadable input) or
    :class:`StoreError` (all ``ValueError``) with a one-line message; nothing is written then.
    The returned entry carries its sequence number in the store.
    """
    store = root if isinstance(root, Store) else Store(root)
    entry = verify_submission(sub, skip_executor=True)
    dup = store.find_duplicate(entry)
    if dup is not None:
        raise StoreError(
            f"duplicate: {dup.relative_to(store.root).as_posix()} already holds this order for "
            f"{entry.task} in model '{entry.cost_model}'"
        )
    if not skip_executor:
        entry = replace(entry, executor=executor_check(entry.task, entry.submission.order))
    path = store.add(entry, render=render)
    return store.last_added or entry, path


def submit(
    path: str | Path, root: str | Path | Store, *, skip_executor: bool = False, render: bool = True
) -> tuple[Entry, Path]:
    """``crosscountry-gym submit FILE``: read the submission file, verify, store, re-render."""
    return submit_submission(
        load_submission_file(path), root, skip_executor=skip_executor, render=render
    )
