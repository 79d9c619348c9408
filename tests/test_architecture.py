"""The one-way import rule of ``docs/architecture.md``: a module imports only its own layer and
the layers below it. Every import statement counts, including those inside functions, and so do
``importlib.import_module("crosscountry_gym...")`` calls with a constant name, except the
documented name lookups in :data:`NAME_LOOKUPS`."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import crosscountry_gym

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"crosscountry_gym": ROOT / "crosscountry_gym", "crosscountry_gym.tasks": ROOT / "tasks",
           "crosscountry_gym.baselines": ROOT / "baselines"}

LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (1, ("crosscountry_gym.graph", "crosscountry_gym.sparsity", "crosscountry_gym.engine",
         "crosscountry_gym.orders", "crosscountry_gym.core")),
    (2, ("crosscountry_gym.tracer", "crosscountry_gym.executor")),
    (3, ("crosscountry_gym.tasks",)),
    (4, ("crosscountry_gym.envs",)),
    (5, ("crosscountry_gym.baselines",)),
    (6, ("crosscountry_gym.leaderboard", "crosscountry_gym.cli", "crosscountry_gym.demo",
         "crosscountry_gym.__main__")),
]

NAME_LOOKUPS = {
    # verify_order("RoeFlux_1d", ...) names a task by string: looked up, not imported.
    ("crosscountry_gym.executor.verify", "crosscountry_gym.tasks"),
    ("crosscountry_gym.executor.verify", "crosscountry_gym.tasks.fidelity"),
}


def layer_of(module: str) -> int | None:
    best = None
    for layer, prefixes in LAYERS:
        for p in prefixes:
            if module == p or module.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (layer, len(p))
    return None if best is None else best[0]


def package_modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "crosscountry_gym" and parts and parts[0] in ("tasks", "baselines"):
                continue
            mods[name] = path
    return mods


def _resolve_from(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _target_module(name: str) -> str:
    """``crosscountry_gym.X.Y`` -> the module that defines it (a submodule, or the home of a
    re-exported attribute such as ``crosscountry_gym.cost``)."""
    try:
        importlib.import_module(name)
        return name
    except ImportError:
        parent, _, attr = name.rpartition(".")
        try:
            obj = getattr(importlib.import_module(parent), attr)
        except (ImportError, AttributeError):
            return parent
        home = getattr(obj, "__module__", None) or getattr(obj, "__name__", parent)
        return home if home.startswith("crosscountry_gym") else parent


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            src = _resolve_from(module, is_pkg, node)
            for a in node.names:
                out.append((f"{src}.{a.name}" if src.startswith("crosscountry_gym") else src, node.lineno))
        elif (
            isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
            and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = node.args[0].value
            if (module, name) not in NAME_LOOKUPS:
                out.append((name, node.lineno))
    return [(n, line) for n, line in out if n.startswith("crosscountry_gym")]


def test_every_module_has_a_layer():
    missing = [m for m in package_modules() if m != "crosscountry_gym" and layer_of(m) is None]
    assert not missing, f"modules without a layer in docs/architecture.md: {missing}"


def test_no_module_imports_a_higher_layer():
    bad = []
    for module, path in sorted(package_modules().items()):
        own = layer_of(module)
        if own is None:  # the package root: the public surface, re-exports every layer lazily
            continue
        for name, line in imports_of(module, path):
            target = _target_module(name)
            other = layer_of(target)
            if other is not None and other > own:
                bad.append(f"{path.relative_to(ROOT)}:{line}: layer {own} imports {target} (layer {other})")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_rule_catches_a_violation(tmp_path):
    """The checker itself can fail: an engine module that imports the baselines is caught."""
    fake = tmp_path / "engine.py"
    fake.write_text("from crosscountry_gym.baselines import solve\n"
                    "import importlib\nimportlib.import_module('crosscountry_gym.envs')\n")
    found = [(_target_module(n), layer_of(_target_module(n))) for n, _ in
             imports_of("crosscountry_gym.engine", fake)]
    assert ("crosscountry_gym.baselines.search.solve", 5) in found
    assert ("crosscountry_gym.envs", 4) in found


@pytest.mark.parametrize(
    "code",
    [
        "import crosscountry_gym",
        "import jax.numpy as jnp, crosscountry_gym as ccg\n"
        "jac = ccg.jacobian(lambda x: jnp.sin(x) * x[0], order='markowitz')\n"
        "jac(jnp.ones(3))",
    ],
)
def test_low_layers_do_not_load_the_baselines(code):
    probe = code + (
        "\nimport sys\nprint(sorted(m for m in sys.modules"
        " if 'baselines' in m or m in ('torch', 'equinox', 'mctx')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_layers_are_documented():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for _, prefixes in LAYERS:
        for p in prefixes:
            assert f"`{p.removeprefix('crosscountry_gym.')}" in doc or f"`{p}" in doc, p
    assert crosscountry_gym.__version__
