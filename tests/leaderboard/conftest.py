"""Fixtures for the leaderboard tests: submission factories, a small store, byte snapshots."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.baselines import random_order, reverse_order
from crosscountry_gym.cli import main as cli_main

TASK = "PropaneCombustion"  # small (51 eliminable vertices), scalar: fast to verify


@pytest.fixture
def make_sub():
    """Factory for a valid submission dict; keyword arguments override fields."""

    def factory(task: str = TASK, order=None, model: str = "alphagrad", **overrides) -> dict:
        g = tasks.load(task).graph
        order = list(reverse_order(g) if order is None else order)
        d = {
            "task": task,
            "fingerprint": g.fingerprint,
            "cost_model": model,
            "order": order,
            "claimed_cost": cost(g, order, model),
            "method": "test method",
            "track": "heuristic/search",
            "authors": ["Test Author"],
            "code": "https://example.org/code",
            "package_version": "0.1.0",
            "seeds": [0],
            "compute_budget": "1 s",
            "hardware": "test machine",
            "date": "2026-01-02",
        }
        d.update(overrides)
        return d

    return factory


@pytest.fixture
def write_json(tmp_path):
    counter = iter(range(10**6))

    def write(data, name: str | None = None) -> Path:
        path = tmp_path / (name or f"submission-{next(counter)}.json")
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    return write


@pytest.fixture
def run_cli(capsys):
    """Run the real CLI entry point in-process; returns (exit code, stdout, stderr)."""

    def run(*argv: str):
        capsys.readouterr()
        rc = cli_main(list(argv))
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (the lock file included)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def store_dir(tmp_path, make_sub, write_json, run_cli):
    """A leaderboard folder holding two accepted entries (reverse and one random order)."""
    root = tmp_path / "lb"
    root.mkdir()
    g = tasks.load(TASK).graph
    for order in (reverse_order(g), random_order(g, seed=1)):
        rc, out, err = run_cli("submit", str(write_json(make_sub(order=order))), "--leaderboard",
                               str(root), "--skip-executor")
        assert rc == 0, err
    return root


@pytest.fixture
def snap():
    return snapshot


@pytest.fixture
def fake_executor(monkeypatch):
    """Replace the executor by ``verify_order`` (a function ``(task, order) -> report``), with a
    tracer and task functions that reproduce the frozen graphs, so the fake decides the check.
    Returns the fake modules ``(executor, tracer, functions)`` for further patching."""

    def install(verify_order):
        ex = types.ModuleType("crosscountry_gym.executor")
        ex.verify_order = verify_order
        fns = types.ModuleType("crosscountry_gym.tasks.functions")
        fns.function = lambda name: name  # the "function" is its task name ...
        fns.example_args = lambda name: ()
        tracer = types.ModuleType("crosscountry_gym.tracer")
        tracer.make_graph = lambda fn, *args, argnums=None: tasks.load(fn).graph  # ... traced
        for mod in (ex, fns, tracer):
            monkeypatch.setitem(sys.modules, mod.__name__, mod)
        return ex, tracer, fns

    return install
