"""The examples of docs/tracer.md run and their assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "tracer.md"


def test_tracer_doc_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    env: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOC.name}[block {i}]", "exec"), env)  # noqa: S102


def _table_rows() -> dict[str, set[str]]:
    text = DOC.read_text().split("## Primitive table", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and "`" in cells[1]:
            rows[cells[0].split(" (")[0]] = set(re.findall(r"`([^`]+)`", cells[1]))
    return rows


def test_primitive_table_matches_the_rules():
    from crosscountry_gym.tracer import rules

    rows = _table_rows()
    assert set(rows) == {
        "sparse", "zero derivative", "custom rule", "inlined", "unrolled", "refused",
        "dense vertex",
    }
    zero = set(rules.ZERO_DERIVATIVE)
    assert rows["zero derivative"] == zero
    # the paper-typing entry for custom_jvp_call is a rule too, listed under custom rule
    assert rows["sparse"] == set(rules.RULES) - zero - {"custom_jvp_call"}
    assert rows["custom rule"] == set(rules.CUSTOM_CALLS)
    assert rows["inlined"] == set(rules.INLINED) - set(rules.CUSTOM_CALLS)
    assert rows["unrolled"] == set(rules.CONTROL_FLOW)
    assert rows["refused"] == set(rules.REFUSED)
    listed = set().union(*(v for k, v in rows.items() if k != "dense vertex"))
    assert not rows["dense vertex"] & listed
    for name in rows["dense vertex"]:
        assert rules.rule_for(name, "exact") is rules.dense_rule
