"""The Python example of docs/rl.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "rl.md"


@pytest.mark.slow  # ~15-40 s (torch + a PPO rollout); the fast PPO smoke test covers the path
def test_docs_python_example_runs(tmp_path):
    pytest.importorskip("sb3_contrib")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    example = next(b for b in blocks if "sb3_agent.train" in b)
    exec(compile(example, str(DOC), "exec"), {"run_dir": tmp_path / "run"})
    assert (tmp_path / "run" / "best_order.json").is_file()


@pytest.mark.slow  # ~15-30 s: one PPO rollout on random graphs, then two evaluations
def test_docs_portable_policy_example_runs(tmp_path, capsys):
    pytest.importorskip("sb3_contrib")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    example = next(b for b in blocks if "load_policy" in b)
    exec(compile(example, str(DOC), "exec"), {"portable_dir": tmp_path / "portable"})
    out = capsys.readouterr().out.split()
    assert out[0] == "PropaneCombustion" and out[2] == "HumanHeartDipole"
    assert (tmp_path / "portable" / "checkpoint" / "ppo.zip").is_file()
