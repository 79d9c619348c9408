"""Every ```python block of README.md runs (the README stays true to the code)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_example_runs(i, capsys):
    exec(compile(BLOCKS[i], f"README.md[python block {i}]", "exec"), {})
    if i == 0:
        out = capsys.readouterr().out.split()
        assert "620" in out and "364" in out and "407" in out and "320" in out


def test_readme_task_table_matches_the_code():
    from crosscountry_gym.cli.tasks_cmd import task_rows

    text = README.read_text()
    for r in task_rows(with_fidelity=False):
        row = next(line for line in text.splitlines() if line.startswith(f"| {r['task']} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"{r['inputs']} / {r['intermediates']} / {r['outputs']}"
        assert [int(c.split()[0]) for c in cells[2:6]] == [
            r["fwd_alphagrad"], r["rev_alphagrad"], r["markowitz_alphagrad"], r["paper_best_alphagrad"]
        ]
