"""Every ```python block of docs/envs.md runs, in order, in one namespace."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "envs.md"


@pytest.mark.slow  # ~15 s of CPU: trains MaskablePPO briefly and compiles several rollouts
def test_docs_envs_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/envs.md[python block {i}]", "exec"), ns)
    out = capsys.readouterr().out
    assert "[143  38]" in out
