"""The submission format: field list, parsing with clear errors, canonical JSON.

A submission is one JSON object (one file) that claims the cost of one elimination order on one
benchmark task. This module checks only its *form* (every field present, of the right type, no
unknown fields); whether the claim is true is :mod:`crosscountry_gym.leaderboard.verify`'s job.
The format is documented for users in ``docs/leaderboard.md``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosscountry_gym.sparsity import MODELS, check_model

__all__ = [
    "COST_MODELS",
    "LEADERBOARD_MODELS",
    "TRACKS",
    "REQUIRED_FIELDS",
    "OPTIONAL_FIELDS",
    "SubmissionError",
    "Submission",
    "parse_submission",
    "load_submission_file",
    "dumps_entry",
    "order_key",
]

COST_MODELS = MODELS
"""The cost models a submission may name: :data:`crosscountry_gym.sparsity.MODELS` (an alias kept
for this package's users). ``alphagrad`` is the paper-compatible model (the published numbers),
``exact`` the consistent index-tie rule; see ``docs/leaderboard.md``."""

LEADERBOARD_MODELS: tuple[str, ...] = ("alphagrad", *(m for m in MODELS if m != "alphagrad"))
"""The same models in the leaderboard's order: the paper's model first. Stored entries list
their verified costs in this order and the rendered tables follow it."""

TRACKS = ("heuristic/search", "learned")

REQUIRED_FIELDS: dict[str, str] = {
    "task": "task name or alias, e.g. 'RoeFlux_1d' or 'Perceptron'",
    "fingerprint": "sha256 fingerprint of the task graph (64 hex digits)",
    "cost_model": "'alphagrad' or 'exact'",
    "order": "list of vertex ids (1-based), every non-output vertex exactly once",
    "claimed_cost": "multiplications of the order in cost_model (non-negative integer)",
    "method": "name of the method that found the order",
    "track": "'heuristic/search' or 'learned'",
    "authors": "list of author names (or one string)",
    "code": "link to the code that produced the order",
    "package_version": "crosscountry-gym version used",
    "seeds": "list of integer seeds (empty for deterministic methods)",
    "compute_budget": "self-reported compute budget, e.g. '60 s on 1 CPU core'",
    "hardware": "self-reported hardware",
    "date": "date of the result, YYYY-MM-DD",
}
OPTIONAL_FIELDS: dict[str, str] = {"notes": "free text"}

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SubmissionError(ValueError):
    """A submission (or stored entry) is rejected; the message names the field or the check."""


@dataclass(frozen=True)
class Submission:
    """A well-formed submission (form checked, claim not yet verified).

    ``task`` is as submitted (an alias is resolved by verification); ``authors`` is normalised to
    a tuple; ``order`` and ``seeds`` are tuples of ints.
    """

    task: str
    fingerprint: str
    cost_model: str
    order: tuple[int, ...]
    claimed_cost: int
    method: str
    track: str
    authors: tuple[str, ...]
    code: str
    package_version: str
    seeds: tuple[int, ...]
    compute_budget: str
    hardware: str
    date: str
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The submission as JSON-ready data, in the documented field order."""
        d: dict[str, Any] = {
            "task": self.task,
            "fingerprint": self.fingerprint,
            "cost_model": self.cost_model,
            "order": list(self.order),
            "claimed_cost": self.claimed_cost,
            "method": self.method,
            "track": self.track,
            "authors": list(self.authors),
            "code": self.code,
            "package_version": self.package_version,
            "seeds": list(self.seeds),
            "compute_budget": self.compute_budget,
            "hardware": self.hardware,
            "date": self.date,
        }
        if self.notes:
            d["notes"] = self.notes
        return d


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _text(d: Mapping[str, Any], key: str) -> str:
    v = d[key]
    if not isinstance(v, str) or not v.strip():
        hint = REQUIRED_FIELDS.get(key, "")
        raise SubmissionError(f"field '{key}' must be a non-empty string ({hint}), got {v!r}")
    return v.strip()


def _choice(d: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    v = d[key]
    if v not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        raise SubmissionError(f"field '{key}' must be {allowed}, got {v!r}")
    return v


def _int_list(d: Mapping[str, Any], key: str) -> tuple[int, ...]:
    v = d[key]
    if not isinstance(v, list):
        raise SubmissionError(f"field '{key}' must be a list of integers, got {type(v).__name__}")
    for i, x in enumerate(v):
        if not _is_int(x):
            raise SubmissionError(f"field '{key}'[{i}] = {x!r} is not an integer")
    return tuple(v)


def parse_submission(data: Any) -> Submission:
    """Check the form of submission ``data`` (a decoded JSON object) and return it typed.

    Raises :class:`SubmissionError` naming the first problem: not an object, a missing field,
    an unknown field, or a field of the wrong type or format.
    """
    if not isinstance(data, dict):
        raise SubmissionError(f"a submission must be a JSON object, got {type(data).__name__}")
    missing = [k for k in REQUIRED_FIELDS if k not in data]
    if missing:
        first = missing[0]
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise SubmissionError(f"missing field '{first}': {REQUIRED_FIELDS[first]}{more}")
    unknown = sorted(k for k in data if k not in REQUIRED_FIELDS and k not in OPTIONAL_FIELDS)
    if unknown:
        raise SubmissionError(
            f"unknown field '{unknown[0]}'; allowed fields: "
            f"{', '.join([*REQUIRED_FIELDS, *OPTIONAL_FIELDS])}"
        )
    task = _text(data, "task")
    fingerprint = data["fingerprint"]
    if not isinstance(fingerprint, str) or not _HEX64.match(fingerprint):
        raise SubmissionError(
            f"field 'fingerprint' must be 64 lowercase hex digits (the task graph's sha256, see "
            f"`crosscountry-gym tasks`), got {fingerprint!r}"
        )
    try:
        cost_model = check_model(data["cost_model"])
    except ValueError as err:
        raise SubmissionError(f"field 'cost_model': {err}") from None
    order = _int_list(data, "order")
    claimed = data["claimed_cost"]
    if not _is_int(claimed) or claimed < 0:
        raise SubmissionError(f"field 'claimed_cost' must be a non-negative integer, got {claimed!r}")
    authors_raw = data["authors"]
    if isinstance(authors_raw, str):
        authors_raw = [authors_raw]
    if (
        not isinstance(authors_raw, list)
        or not authors_raw
        or not all(isinstance(a, str) and a.strip() for a in authors_raw)
    ):
        raise SubmissionError(
            f"field 'authors' must be a non-empty list of names (or one name), got {data['authors']!r}"
        )
    date = data["date"]
    if not isinstance(date, str) or not _DATE.match(date):
        raise SubmissionError(f"field 'date' must be a date YYYY-MM-DD, got {date!r}")
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        raise SubmissionError(f"field 'date' is not a valid calendar date: {date!r}") from None
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise SubmissionError(f"field 'notes' must be a string, got {type(notes).__name__}")
    return Submission(
        task=task,
        fingerprint=fingerprint,
        cost_model=cost_model,
        order=order,
        claimed_cost=claimed,
        method=_text(data, "method"),
        track=_choice(data, "track", TRACKS),
        authors=tuple(a.strip() for a in authors_raw),
        code=_text(data, "code"),
        package_version=_text(data, "package_version"),
        seeds=_int_list(data, "seeds"),
        compute_budget=_text(data, "compute_budget"),
        hardware=_text(data, "hardware"),
        date=date,
        notes=notes.strip(),
    )


def load_submission_file(path: str | Path) -> Submission:
    """Read and parse one submission file; errors name the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SubmissionError(f"submission file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SubmissionError(f"cannot read submission file {path}: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SubmissionError(f"{path} is not valid JSON: {err}") from None
    try:
        return parse_submission(data)
    except SubmissionError as err:
        raise SubmissionError(f"{path}: {err}") from None


def order_key(task: str, cost_model: str, order: tuple[int, ...] | list[int]) -> str:
    """sha256 of (task, model, order): equal keys are duplicate entries."""
    canon = json.dumps([task, cost_model, list(order)], separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def dumps_entry(data: Mapping[str, Any]) -> str:
    """Canonical, review-friendly JSON text: one top-level field per line, values compact.

    Deterministic for equal data (key order as given), ends with a newline.
    """
    lines = [
        f"  {json.dumps(k)}: {json.dumps(v, separators=(', ', ': '), ensure_ascii=False)}"
        for k, v in data.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"
