"""The static page ``index.html``: summary, then per task and cost model a sortable table and an
SVG bar chart. Self-contained: its CSS, JavaScript (table sorting) and SVG are inline and it loads
nothing from elsewhere; no clock, no randomness, so rendering is deterministic. Every field is
shown through :func:`.safety.html_text` (control and bidi characters removed, then escaped), and
a ``code`` value becomes a link only if it is an ``http(s)://`` URL."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from .ranking import (
    INTRO,
    LEADERBOARD_MODELS,
    MODEL_TITLES,
    SUMMARY_HEADER,
    Row,
    executor_status,
    format_ratio,
    groups,
    reference,
    reference_label,
    summary_rows,
    task_names,
)
from .safety import clean_text, html_text
from .verify import Entry

__all__ = ["render_html"]

_CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --head:#f2f4f8; --accent:#2f6fdb;
        --learned:#d9822b; --search:#2f6fdb; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 36px 0 4px; font-size: 20px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { margin: 18px 0 6px; font-size: 16px; color: var(--muted); font-weight: 600; }
p.note { color: var(--muted); margin: 4px 0 12px; }
nav a { margin-right: 10px; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 10px; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 10px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { font-weight: 600; }
.track-learned { color: var(--learned); }
.track-search { color: var(--search); }
.skipped { color: var(--muted); }
.nowrap { white-space: nowrap; }
code { font-size: 13px; }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg .bar-learned { fill: var(--learned); }
svg .bar-search { fill: var(--search); }
svg .refline { stroke: #c0392b; stroke-dasharray: 4 3; stroke-width: 1.5; }
svg .axis { stroke: var(--line); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"""

_JS = """
(function () {
  "use strict";
  function cellValue(row, idx, type) {
    var cell = row.cells[idx];
    var v = cell.getAttribute("data-v");
    if (v === null) { v = cell.textContent.trim(); }
    return type === "num" ? parseFloat(v) : v.toLowerCase();
  }
  function sortTable(table, idx, dir) {
    var th = table.tHead.rows[0].cells[idx];
    var type = th.getAttribute("data-type") || "text";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, idx, type), y = cellValue(b, idx, type);
      if (x < y) { return -dir; }
      if (x > y) { return dir; }
      return parseFloat(a.getAttribute("data-pos")) - parseFloat(b.getAttribute("data-pos"));
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
      c.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, idx) {
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        sortTable(table, idx, dir);
      });
    });
  });
  document.body.setAttribute("data-js", "ready");
  if (window.location.hash === "#selftest") {
    /* Used by the headless-browser test: sort every table by cost, descending, and check it. */
    var ok = tables.length > 0;
    Array.prototype.forEach.call(tables, function (table) {
      var idx = -1;
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        if (th.getAttribute("data-key") === "cost") { idx = i; }
      });
      if (idx < 0) { return; }
      table.tHead.rows[0].cells[idx].click();
      table.tHead.rows[0].cells[idx].click();
      var vals = Array.prototype.map.call(table.tBodies[0].rows, function (r) {
        return cellValue(r, idx, "num");
      });
      for (var i = 1; i < vals.length; i++) { if (vals[i - 1] < vals[i]) { ok = false; } }
    });
    document.body.setAttribute("data-selftest", (ok ? "ok " : "fail ") + tables.length);
  }
})();
"""


def _intro_html() -> str:
    text = html.escape(INTRO)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*([^*]+)\*", r"<i>\1</i>", text)


def _e(text: object) -> str:
    return html_text(text)


def _anchor(task: str, model: str | None = None) -> str:
    return f"{task}-{model}" if model else task


def _track_class(track: str) -> str:
    return "learned" if track == "learned" else "search"


def _svg_chart(task: str, model: str, rows: Sequence[Row]) -> str:
    """Horizontal bars of cost per method, as a ratio to the best of forward/reverse/Markowitz.

    The axis runs from 0 to at most 2x the reference (bars beyond are cut and marked), so the
    interesting region near the reference stays readable even when forward mode is 30x worse.
    """
    ref = reference(task, model)
    label_w, plot_w, value_w, row_h, top = 250, 400, 90, 22, 26
    hi = max(r.ratio for r in rows)
    axis_max = min(2.0, max(1.25, -(-hi * 4 // 1) / 4))  # round up to a quarter
    height = top + row_h * len(rows) + 8
    width = label_w + plot_w + value_w

    def x(ratio: float) -> float:
        return label_w + plot_w * min(ratio, axis_max) / axis_max

    parts = [
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(f"cost per method on {task}, model {model}")}">',
        f'<line class="axis" x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 4}"/>',
    ]
    for tick in (0.5, 1.0, 1.5, 2.0):
        if tick <= axis_max:
            tx = x(tick)
            parts.append(f'<text x="{tx:.1f}" y="{top - 10}" text-anchor="middle">{tick:g}×</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        s = r.entry.submission
        method = clean_text(s.method)
        label = method if len(method) <= 34 else method[:33] + "…"
        cls = f"bar-{_track_class(s.track)}"
        bar_end = x(r.ratio)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>')
        parts.append(
            f'<rect class="{cls}" x="{label_w}" y="{y + 3}" width="{bar_end - label_w:.1f}" '
            f'height="{row_h - 6}"><title>{_e(s.method)}: {r.entry.cost} '
            f'({format_ratio(r.ratio)}×)</title></rect>'
        )
        if r.ratio > axis_max:  # cut bar: two white slashes near the end
            for dx in (10, 16):
                parts.append(
                    f'<line x1="{bar_end - dx:.1f}" y1="{y + 20}" x2="{bar_end - dx + 5:.1f}" '
                    f'y2="{y + 2}" stroke="#fff" stroke-width="2"/>'
                )
        parts.append(f'<text x="{bar_end + 6:.1f}" y="{y + 15}">{r.entry.cost}</text>')
    rx = x(1.0)
    parts.append(f'<line class="refline" x1="{rx:.1f}" y1="{top - 4}" x2="{rx:.1f}" y2="{height - 4}"/>')
    title = f"{task} ({model}): cost per method; dashed line = {ref.best} ({reference_label(ref)})"
    parts.append(f"<title>{_e(title)}</title>")
    parts.append("</svg>")
    return "\n".join(parts)


def _html_table(task: str, model: str, rows: Sequence[Row]) -> str:
    head = [
        ("rank", "num", "rank"),
        ("cost", "num", "cost"),
        ("ratio", "num", "ratio"),
        ("other model", "num", "other"),
        ("method", "text", "method"),
        ("track", "text", "track"),
        ("authors", "text", "authors"),
        ("date", "text", "date"),
        ("executor", "text", "executor"),
        ("entry", "text", "entry"),
    ]
    other = [m for m in LEADERBOARD_MODELS if m != model][0]
    out = [f'<table class="sortable" id="table-{_anchor(task, model)}">', "<thead><tr>"]
    for title, typ, key in head:
        cls = ' class="num"' if typ == "num" else ""
        label = f"cost ({other})" if key == "other" else title
        out.append(f'<th data-type="{typ}" data-key="{key}"{cls}>{_e(label)}</th>')
    out.append("</tr></thead>")
    out.append("<tbody>")
    for pos, r in enumerate(rows):
        e, s = r.entry, r.entry.submission
        best = ' class="best"' if r.rank == 1 else ""
        code = clean_text(s.code)
        code_link = (
            f'<a href="{_e(code)}">{_e(s.method)}</a>'
            if re.match(r"https?://[^\s\"'<>`]+$", code)
            else _e(s.method)
        )
        ex = executor_status(e)
        ex_cls = "" if ex == "passed" else ' class="skipped"'
        ex_title = _e(e.executor.get("detail", ""))
        out.append(
            f'<tr data-pos="{pos}"{best}>'
            f'<td class="num">{r.rank}</td>'
            f'<td class="num">{e.cost}</td>'
            f'<td class="num" data-v="{r.ratio:.6f}">{format_ratio(r.ratio)}</td>'
            f'<td class="num">{e.costs[other]}</td>'
            f'<td title="{_e(s.notes)}">{code_link}</td>'
            f'<td class="track-{_track_class(s.track)}">{_e(s.track)}</td>'
            f"<td>{_e(', '.join(s.authors))}</td>"
            f'<td class="nowrap">{_e(s.date)}</td>'
            f'<td title="{ex_title}"><span{ex_cls}>{ex}</span></td>'
            f'<td><a href="submissions/{_e(task)}/{_e(e.entry_id)}.json" '
            f'title="{_e(e.entry_id)}">{_e(e.entry_id[-12:])}</a></td>'
            "</tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(entries: Sequence[Entry]) -> str:
    """The static page ``index.html``: summary, then per task and model a sortable table and a
    bar chart. Self-contained: inline CSS, JS and SVG only."""
    table_groups = groups(entries)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>crosscountry-gym leaderboard</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<h1>crosscountry-gym leaderboard</h1>",
        f'<p class="note">{len(entries)} verified entries. {_intro_html()} '
        'Click a column header to sort. How to submit: <a href="README.md">README.md</a>.</p>',
        "<nav>" + " ".join(
            f'<a href="#{_e(_anchor(t))}">{_e(t)}</a>' for t in task_names(entries)
        ) + "</nav>",
    ]
    for m in LEADERBOARD_MODELS:
        summary = summary_rows(entries, m)
        if not summary:
            continue
        out.append(f"<h2>Summary: {_e(MODEL_TITLES[m].replace('`', ''))}</h2>")
        out.append(f'<table class="sortable" id="summary-{m}"><thead><tr>')
        for i, h in enumerate(SUMMARY_HEADER):
            num = 1 <= i <= 6
            key = "cost" if h == "best entry" else h
            cls = ' class="num"' if num else ""
            out.append(
                f'<th data-type="{"num" if num else "text"}" data-key="{_e(key)}"{cls}>{_e(h)}</th>'
            )
        out.append("</tr></thead><tbody>")
        for pos, r in enumerate(summary):
            cells = []
            for i, c in enumerate(r):
                if i == 0:
                    cells.append(f'<td><a href="#{_e(_anchor(c))}">{_e(c)}</a></td>')
                elif 1 <= i <= 6:
                    cells.append(f'<td class="num">{_e(c)}</td>')
                else:
                    cells.append(f"<td>{_e(c)}</td>")
            out.append(f'<tr data-pos="{pos}">' + "".join(cells) + "</tr>")
        out.append("</tbody></table>")
    current = None
    for t, m, rows in table_groups:
        if t != current:
            out.append(f'<h2 id="{_e(_anchor(t))}">{_e(t)}</h2>')
            current = t
        ref = reference(t, m)
        out.append(f'<h3 id="{_e(_anchor(t, m))}">{_e(MODEL_TITLES[m].replace("`", ""))}</h3>')
        out.append(
            f'<p class="note">Best of forward ({ref.forward}), reverse ({ref.reverse}) and Markowitz '
            f"({ref.markowitz}): <b>{ref.best}</b> ({reference_label(ref)}); dashed line in the chart. "
            'Bars: <span class="track-search">heuristic/search</span>, '
            '<span class="track-learned">learned</span>.</p>'
        )
        out.append(_html_table(t, m, rows))
        out.append(_svg_chart(t, m, rows))
    out += [
        "<footer>Rendered by <code>crosscountry-gym leaderboard render</code> from the entries "
        "in <code>submissions/</code>; no external resources.</footer>",
        f"<script>{_JS}</script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)
