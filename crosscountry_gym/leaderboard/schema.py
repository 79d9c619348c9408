"""The submission format: field list, parsing with clear errors, canonical JSON.

A submission is one JSON object (one file) that claims the cost of one elimination order on one
benchmark task. This module checks only its *form* (every field present, of the right type, no
unknown fields); whether the claim is true is :mod:`crosscountry_gym.leaderboard.verify`'s job.
Text fields are cleaned and length-capped here (:mod:`.safety`), and files are read with a size
and nesting limit (:func:`read_json_file`), so every refusal is one line naming the field or the
limit. The format and the limits are documented for users in ``docs/leaderboard.md``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosscountry_gym.sparsity import MODELS, check_model

from .safety import (
    MAX_AUTHORS,
    MAX_INT,
    MAX_JSON_DEPTH,
    MAX_ORDER_LENGTH,
    MAX_SEEDS,
    MAX_SUBMISSION_BYTES,
    TEXT_LIMITS,
    clean_text,
    display_path,
    first_surrogate,
    short_repr,
)

__all__ = [
    "COST_MODELS",
    "LEADERBOARD_MODELS",
    "TRACKS",
    "REQUIRED_FIELDS",
    "OPTIONAL_FIELDS",
    "SubmissionError",
    "SubmissionFormatError",
    "Submission",
    "parse_submission",
    "load_submission_file",
    "read_text_file",
    "loads_json",
    "read_json_file",
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

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class SubmissionError(ValueError):
    """A submission (or stored entry) is rejected; the message names the field or the check."""


class SubmissionFormatError(SubmissionError):
    """The input cannot be read as a submission at all: an unreadable, oversized or too deeply
    nested file, not JSON, or a field missing, unknown, of the wrong type, over its length limit
    or not valid Unicode (``submit`` exits with status 2 for these, 1 for a claim that does not
    verify)."""


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


def _kind(v: Any) -> str:
    return f"{type(v).__name__} {short_repr(v)}"


def _string(key: str, v: Any, *, limit: int, hint: str = "", empty_ok: bool = False) -> str:
    """A text field: a string, valid Unicode, cleaned (:func:`.safety.clean_text`), non-empty
    unless ``empty_ok``, at most ``limit`` characters."""
    if not isinstance(v, str):
        raise SubmissionFormatError(
            f"field '{key}' must be a string{f' ({hint})' if hint else ''}, got {_kind(v)}"
        )
    pos = first_surrogate(v)
    if pos is not None:
        raise SubmissionFormatError(
            f"field '{key}' contains a lone surrogate U+{ord(v[pos]):04X} at character {pos}: not "
            "valid Unicode text (write the character itself or a valid UTF-16 escape pair)"
        )
    text = clean_text(v)
    if not text and not empty_ok:
        raise SubmissionFormatError(
            f"field '{key}' must be a non-empty string{f' ({hint})' if hint else ''}, got {short_repr(v)}"
        )
    if len(text) > limit:
        raise SubmissionFormatError(
            f"field '{key}' is {len(text)} characters long; the limit is {limit} "
            "(docs/leaderboard.md, Limits)"
        )
    return text


def _text(d: Mapping[str, Any], key: str) -> str:
    return _string(key, d[key], limit=TEXT_LIMITS[key], hint=REQUIRED_FIELDS.get(key, ""))


def _choice(d: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    v = d[key]
    if not isinstance(v, str) or v not in choices:
        allowed = " or ".join(repr(c) for c in choices)
        raise SubmissionFormatError(f"field '{key}' must be {allowed}, got {short_repr(v)}")
    return v


def _int_list(d: Mapping[str, Any], key: str, *, max_len: int) -> tuple[int, ...]:
    v = d[key]
    if not isinstance(v, list):
        raise SubmissionFormatError(f"field '{key}' must be a list of integers, got {_kind(v)}")
    if len(v) > max_len:
        raise SubmissionFormatError(
            f"field '{key}' has {len(v)} values; the limit is {max_len} (docs/leaderboard.md, Limits)"
        )
    for i, x in enumerate(v):
        if not _is_int(x):
            raise SubmissionFormatError(f"field '{key}'[{i}] = {short_repr(x)} is not an integer")
        if abs(x) > MAX_INT:
            raise SubmissionFormatError(
                f"field '{key}'[{i}] is out of range (at most {MAX_INT} in absolute value)"
            )
    return tuple(v)


def parse_submission(data: Any) -> Submission:
    """Check the form of submission ``data`` (a decoded JSON object) and return it typed.

    Text fields are cleaned of control, bidi and invisible characters and capped in length
    (:data:`.safety.TEXT_LIMITS`). Raises :class:`SubmissionFormatError` naming the first
    problem: not an object, a missing field, an unknown field, or a field of the wrong type,
    format or length, or with a lone surrogate.
    """
    if not isinstance(data, dict):
        raise SubmissionFormatError(f"a submission must be a JSON object, got {type(data).__name__}")
    missing = [k for k in REQUIRED_FIELDS if k not in data]
    if missing:
        first = missing[0]
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise SubmissionFormatError(f"missing field '{first}': {REQUIRED_FIELDS[first]}{more}")
    unknown = sorted(
        (k for k in data if k not in REQUIRED_FIELDS and k not in OPTIONAL_FIELDS), key=str
    )
    if unknown:
        raise SubmissionFormatError(
            f"unknown field {short_repr(unknown[0])}; allowed fields: "
            f"{', '.join([*REQUIRED_FIELDS, *OPTIONAL_FIELDS])}"
        )
    task = _text(data, "task")
    fingerprint = data["fingerprint"]
    if not isinstance(fingerprint, str) or not _HEX64.fullmatch(fingerprint):
        raise SubmissionFormatError(
            f"field 'fingerprint' must be 64 lowercase hex digits (the task graph's sha256, see "
            f"`crosscountry-gym tasks`), got {short_repr(fingerprint)}"
        )
    try:
        cost_model = check_model(data["cost_model"])
    except ValueError:
        raise SubmissionFormatError(
            f"field 'cost_model': unknown cost model {short_repr(data['cost_model'])}; cost_model "
            f"must be one of {', '.join(map(repr, MODELS))}"
        ) from None
    order = _int_list(data, "order", max_len=MAX_ORDER_LENGTH)
    claimed = data["claimed_cost"]
    if not _is_int(claimed) or not 0 <= claimed <= MAX_INT:
        raise SubmissionFormatError(
            f"field 'claimed_cost' must be a non-negative integer (at most {MAX_INT}), "
            f"got {short_repr(claimed)}"
        )
    authors_raw = data["authors"]
    if isinstance(authors_raw, str):
        authors_raw = [authors_raw]
    if not isinstance(authors_raw, list) or not authors_raw:
        raise SubmissionFormatError(
            f"field 'authors' must be a non-empty list of names (or one name), "
            f"got {short_repr(data['authors'])}"
        )
    if len(authors_raw) > MAX_AUTHORS:
        raise SubmissionFormatError(
            f"field 'authors' has {len(authors_raw)} names; the limit is {MAX_AUTHORS} "
            "(docs/leaderboard.md, Limits)"
        )
    authors = tuple(
        _string(f"authors[{i}]", a, limit=TEXT_LIMITS["authors"], hint="an author name")
        for i, a in enumerate(authors_raw)
    )
    date = data["date"]
    if not isinstance(date, str) or not _DATE.fullmatch(date):
        raise SubmissionFormatError(f"field 'date' must be a date YYYY-MM-DD, got {short_repr(date)}")
    try:
        _dt.date.fromisoformat(date)
    except ValueError:
        raise SubmissionFormatError(f"field 'date' is not a valid calendar date: {date!r}") from None
    notes = _string("notes", data.get("notes", ""), limit=TEXT_LIMITS["notes"], empty_ok=True)
    return Submission(
        task=task,
        fingerprint=fingerprint,
        cost_model=cost_model,
        order=order,
        claimed_cost=claimed,
        method=_text(data, "method"),
        track=_choice(data, "track", TRACKS),
        authors=authors,
        code=_text(data, "code"),
        package_version=_text(data, "package_version"),
        seeds=_int_list(data, "seeds", max_len=MAX_SEEDS),
        compute_budget=_text(data, "compute_budget"),
        hardware=_text(data, "hardware"),
        date=date,
        notes=notes,
    )


class _BadJSON(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _BadJSON(f"key {short_repr(k)} appears twice in one object")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise _BadJSON(f"{name} is not a JSON number")


def _too_deep(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth > limit:
                return True
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return False


def loads_json(text: str, what: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON ``text`` strictly: no duplicate keys, no ``NaN``/``Infinity``, at most
    ``max_depth`` levels of nesting. Raises :class:`SubmissionFormatError` starting with
    ``what`` (e.g. the file name) and naming the problem, never ``RecursionError``."""
    deep = f"{what} is nested more than {max_depth} levels deep (docs/leaderboard.md, Limits)"
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as err:
        raise SubmissionFormatError(f"{what} is not valid JSON: {err}") from None
    except RecursionError:
        raise SubmissionFormatError(deep) from None
    except ValueError as err:  # duplicate key, NaN, an integer of more than 4300 digits
        raise SubmissionFormatError(f"{what} is not valid JSON: {err}") from None
    if _too_deep(data, max_depth):
        raise SubmissionFormatError(deep)
    return data


def read_text_file(path: str | Path, what: str, *, limit: int = MAX_SUBMISSION_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (a UTF-8 byte-order mark is allowed), at most
    ``limit`` bytes. Raises :class:`SubmissionFormatError` naming the file and the problem:
    missing, a folder, not a regular file, too large, unreadable, not UTF-8."""
    path = Path(path)
    shown = display_path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SubmissionFormatError(f"{what} {shown} does not exist") from None
    except OSError as err:
        raise SubmissionFormatError(f"cannot read {what} {shown}: {err.strerror or err}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SubmissionFormatError(f"{what} {shown} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise SubmissionFormatError(f"{what} {shown} is not a regular file")
    if st.st_size > limit:
        raise SubmissionFormatError(
            f"{what} {shown} is {st.st_size} bytes; the limit is {limit} bytes "
            "(docs/leaderboard.md, Limits)"
        )
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as err:
        raise SubmissionFormatError(f"cannot read {what} {shown}: {err.strerror or err}") from None
    if len(raw) > limit:
        raise SubmissionFormatError(f"{what} {shown} is larger than the limit of {limit} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SubmissionFormatError(
            f"{what} {shown} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})"
        ) from None


def read_json_file(path: str | Path, what: str, *, limit: int = MAX_SUBMISSION_BYTES) -> Any:
    """:func:`read_text_file` then :func:`loads_json`; errors name the file."""
    text = read_text_file(path, what, limit=limit)
    return loads_json(text, f"{what} {display_path(path)}")


def load_submission_file(path: str | Path) -> Submission:
    """Read and parse one submission file; errors name the file and the problem (size and
    nesting limits: :data:`.safety.MAX_SUBMISSION_BYTES`, :data:`.safety.MAX_JSON_DEPTH`)."""
    data = read_json_file(path, "submission file")
    try:
        return parse_submission(data)
    except SubmissionError as err:
        raise type(err)(f"{display_path(path)}: {err}") from None


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
