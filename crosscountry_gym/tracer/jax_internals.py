"""The two private JAX helpers the tracer uses, kept in one place with a public fallback.

JAX records the user's source line of every equation (``eqn.source_info``) but exposes no
public way to print it or to keep it when a jaxpr is re-traced. Both helpers degrade to
"unknown location" / no context if the private module moves, so the tracer never fails because
of them; only error messages lose the line (``docs/tracer.md``, "What is refused").
"""

from __future__ import annotations

import contextlib
from typing import Any

try:  # pragma: no cover - exercised implicitly on every supported JAX
    from jax._src import source_info_util as _siu
except ImportError:  # pragma: no cover
    _siu = None

__all__ = ["source_line", "user_context"]


def source_line(eqn: Any) -> str | None:
    """``"file.py:12:4 (fn)"`` for the user's line that created ``eqn``, or None if unknown."""
    if _siu is None or eqn is None or getattr(eqn, "source_info", None) is None:
        return None
    try:
        text = _siu.summarize(eqn.source_info)
    except Exception:  # noqa: BLE001 - a message helper must never raise
        return None
    return text if text and not text.startswith("unknown") else None


def user_context(eqn: Any) -> contextlib.AbstractContextManager:
    """A context under which binding ``eqn``'s primitive records ``eqn``'s own source line
    (so that the flattened jaxpr still names the user's code)."""
    if _siu is None or getattr(eqn, "source_info", None) is None:
        return contextlib.nullcontext()
    try:
        info = eqn.source_info
        return _siu.user_context(info.traceback, name_stack=info.name_stack)
    except Exception:  # noqa: BLE001
        return contextlib.nullcontext()
