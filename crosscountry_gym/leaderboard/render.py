"""Rendering of verified entries, one module per format, re-exported here:

* :mod:`.ranking`: what every format shows (reference costs, ranks, ratios, summary rows);
* :mod:`.text`: the console table (:func:`render_text`);
* :mod:`.markdown`: ``LEADERBOARD.md`` (:func:`render_markdown`);
* :mod:`.html_page`: the self-contained static ``index.html`` (:func:`render_html`).

All are pure functions of the entries and the frozen task graphs: no clock, no randomness, no
network, so rendering is deterministic.
"""

from __future__ import annotations

from crosscountry_gym.orders import ReferenceCosts as Reference

from .html_page import render_html
from .markdown import render_markdown
from .ranking import MODEL_TITLES, Row, published_cost, ranked, reference
from .text import render_text

__all__ = [
    "Reference",
    "reference",
    "published_cost",
    "Row",
    "ranked",
    "render_text",
    "render_markdown",
    "render_html",
    "MODEL_TITLES",
]
