"""The examples of docs/leaderboard.md run as written (in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "leaderboard.md"


def test_doc_examples_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:  # the second block continues the first one's session
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr()
    assert "accepted: PropaneCombustion, model alphagrad, verified cost" in out.out
    assert "rejected: duplicate" in out.err and "disagrees with the verified cost" in out.err
    assert "{'alphagrad': " in out.out
