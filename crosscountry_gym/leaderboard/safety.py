"""Limits and render-safe text: what the leaderboard accepts, and how text is shown.

Every text field of a submission is *cleaned* before it is stored (:func:`clean_text`): control
characters (NUL, CR, ESC, ...), bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069, U+200E/U+200F, U+061C) and other invisible format characters are removed, and
runs of whitespace (newlines included) become one space. Lone surrogates are refused, not
cleaned (:func:`first_surrogate`). The renderers clean again and escape for their format
(:func:`md_cell` for ``LEADERBOARD.md``, :func:`html_text` for ``index.html``,
:func:`console_text` for the terminal), so even an entry built in code cannot inject markup.

The limits are documented for users in ``docs/leaderboard.md`` (section *Limits*).
"""

from __future__ import annotations

import html
import re
import reprlib

__all__ = [
    "MAX_SUBMISSION_BYTES",
    "MAX_ENTRY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_ORDER_LENGTH",
    "MAX_AUTHORS",
    "MAX_SEEDS",
    "MAX_INT",
    "TEXT_LIMITS",
    "clean_text",
    "first_surrogate",
    "md_cell",
    "html_text",
    "console_text",
    "short_repr",
    "display_path",
]

MAX_SUBMISSION_BYTES = 256 * 1024
"""Largest submission file ``submit`` reads (bytes); the largest task's order takes ~1 KB."""

MAX_ENTRY_BYTES = 512 * 1024
"""Largest stored entry file (or manifest) ``leaderboard check`` reads (bytes)."""

MAX_JSON_DEPTH = 8
"""Deepest nesting of arrays/objects accepted in a submission or stored file (a submission
needs 2, a stored entry 3)."""

MAX_ORDER_LENGTH = 50_000
MAX_AUTHORS = 20
MAX_SEEDS = 1_000
MAX_INT = 2**63 - 1
"""Largest ``claimed_cost``, seed (in absolute value) or vertex id accepted."""

TEXT_LIMITS: dict[str, int] = {
    "task": 64,
    "method": 100,
    "authors": 100,  # per name
    "code": 300,
    "package_version": 40,
    "compute_budget": 200,
    "hardware": 200,
    "notes": 2000,
}
"""Longest accepted value of each text field, in characters after cleaning."""

# Removed outright: C0/C1 controls except the whitespace ones (turned into spaces below), the
# bidi marks, embeddings, overrides and isolates, zero-width and other invisible format
# characters (ZWJ/ZWNJ are kept: scripts and emoji need them), and the invisible tag block.
_REMOVE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
    "\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb"
    "\U000e0000-\U000e007f]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = 6
_REPR.maxdict = 4


def first_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate (U+D800-U+DFFF) in ``text``, or ``None``. Such a
    string is not valid Unicode and cannot be written as UTF-8."""
    m = _SURROGATE.search(text)
    return m.start() if m else None


def clean_text(text: str) -> str:
    """``text`` without control, bidi and invisible format characters, whitespace runs (line
    breaks included) collapsed to one space, stripped. Lone surrogates are replaced by U+FFFD
    (callers that store text refuse them first, naming the field)."""
    text = _SURROGATE.sub("\ufffd", _REMOVE.sub("", text))
    return " ".join(text.split())


def md_cell(text: object) -> str:
    """``text`` safe in a Markdown table cell: cleaned, Markdown punctuation backslash-escaped
    (no links, images, emphasis, code or table breaks) and ``& < >`` as HTML entities (no raw
    HTML, no entity tricks)."""
    s = _MD_SPECIAL.sub(r"\\\1", clean_text(str(text)))
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_text(text: object) -> str:
    """``text`` safe as HTML text or a quoted attribute value: cleaned, then escaped."""
    return html.escape(clean_text(str(text)), quote=True)


def console_text(text: object) -> str:
    """``text`` safe on a terminal: cleaned (no escape sequences, no bidi reordering)."""
    return clean_text(str(text))


def short_repr(value: object) -> str:
    """A bounded, printable ``repr`` for error messages (long strings and deep or long
    containers are abbreviated; control and bidi characters appear as escapes)."""
    return _REPR.repr(value)


def display_path(path: object) -> str:
    """A file name as one printable line: characters that are not printable (control, bidi,
    undecodable bytes) are shown as escapes."""
    s = str(path)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in s)
