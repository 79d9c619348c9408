"""The import rule of the baselines (``docs/rl.md``): the heavy RL extras load only inside
their own modules, never on ``import crosscountry_gym`` or ``crosscountry_gym.baselines``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "stable_baselines3", "sb3_contrib", "mctx", "equinox", "optax")


@pytest.mark.parametrize("module", ["crosscountry_gym", "crosscountry_gym.baselines",
                                    "crosscountry_gym.baselines.rl",
                                    "crosscountry_gym.baselines.rl.training"])
def test_light_imports_load_no_heavy_extra(module):
    code = (f"import sys, {module}; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_heavy_extras_are_imported_only_by_their_agent_modules():
    az_pkg = ROOT / "baselines" / "rl" / "alphazero"
    sb3 = ROOT / "baselines" / "rl" / "sb3_agent.py"
    sources = [p for d in ("crosscountry_gym", "baselines", "tasks")
               for p in (ROOT / d).rglob("*.py")]
    assert sb3 in sources and az_pkg / "loop.py" in sources
    for path in sources:
        used = _imports(path)
        if path.parent != az_pkg:  # mctx / equinox / optax: the AlphaZero package only
            assert not used & {"mctx", "equinox", "optax"}, path
        if path.is_relative_to(ROOT / "baselines") and path != sb3:  # torch / SB3: the PPO agent
            assert not used & {"torch", "stable_baselines3", "sb3_contrib"}, path
