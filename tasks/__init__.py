"""The benchmark task suite (installed as ``crosscountry_gym.tasks``).

``names()`` lists the ten tasks; ``load(name)`` returns a :class:`Task` whose ``graph`` is the
frozen paper graph (package data built from the spec's ``paper_reference.json``; never re-traced
at run time, because re-tracing with another JAX changes some graphs) and whose ``paper`` holds
the paper's numbers (forward, reverse, minimal Markowitz, published best order).

Runnable JAX functions (``Task.fn``, ``Task.args``) live in :mod:`crosscountry_gym.tasks.functions`
and are looked up by name, so loading a graph never imports more than it needs.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from crosscountry_gym.graph import Graph

__all__ = [
    "Task",
    "PaperNumbers",
    "names",
    "load",
    "canonical_name",
    "resolve_graph",
    "PAPER_NAMES",
    "random_function",
    "random_program",
    "preset_f",
    "preset_g",
]

PAPER_NAMES: dict[str, str] = {
    "RoeFlux_1d": "RoeFlux_1d",
    "RoeFlux_3d": "RoeFlux_3d",
    "RobotArm_6DOF": "RobotArm_6DOF",
    "HumanHeartDipole": "HumanHeartDipole",
    "PropaneCombustion": "PropaneCombustion",
    "BlackScholes_Jacobian": "BlackScholes_Jacobian",
    "MLP": "Perceptron",
    "Transformer": "Encoder",
    "RandomFunction_f": "f",
    "RandomFunction_g": "g",
}
"""Package task name -> the name used in the paper's code and ``paper_reference.json``."""

_ALIASES = {
    **{v.lower(): k for k, v in PAPER_NAMES.items()},
    **{k.lower(): k for k in PAPER_NAMES},
    "robotarm": "RobotArm_6DOF",
    "bsj": "BlackScholes_Jacobian",
    "blackscholes": "BlackScholes_Jacobian",
    "perceptron": "MLP",
    "encoder": "Transformer",
    "f": "RandomFunction_f",
    "g": "RandomFunction_g",
}


@dataclass(frozen=True)
class PaperNumbers:
    """The paper's reproduced numbers for one task (all in the ``alphagrad`` cost model)."""

    fwd: int
    rev: int
    markowitz: int
    markowitz_order: tuple[int, ...]
    best_cost: int
    best_order: tuple[int, ...]
    quoted: int | None  # the figure quoted for the paper, where there is one
    source: str

    @property
    def best_baseline(self) -> int:
        return min(self.fwd, self.rev, self.markowitz)


@dataclass(frozen=True)
class Task:
    """One benchmark task: its frozen graph, the paper's numbers and (lazily) its JAX function."""

    name: str
    graph: Graph
    paper: PaperNumbers
    paper_name: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def _functions(self):
        # imported on first use: loading a frozen graph must not import JAX
        return importlib.import_module("crosscountry_gym.tasks.functions")

    @property
    def fn(self) -> Callable[..., Any]:
        """The task as a JAX function (see :mod:`crosscountry_gym.tasks.functions`)."""
        return self._functions().function(self.name)

    @property
    def args(self) -> tuple[Any, ...]:
        """Example inputs of the spec (the tracing shapes of the paper)."""
        return self._functions().example_args(self.name)

    def scaled(self, *args: Any, **kwargs: Any):
        """A runtime variant: ``(fn, args)`` for a larger problem (see the functions module)."""
        return self._functions().scaled(self.name, *args, **kwargs)


def names() -> list[str]:
    """The ten task names, in the paper's order."""
    return list(PAPER_NAMES)


def canonical_name(name: str) -> str:
    """Resolve a task name or alias (e.g. ``"Perceptron"``, ``"bsj"``); ``ValueError`` if unknown."""
    key = str(name).lower()
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(names())}")


@cache
def load(name: str) -> Task:
    """Load a benchmark task by name (aliases such as ``"Perceptron"`` or ``"g"`` accepted)."""
    canon = canonical_name(name)
    text = resources.files(__name__).joinpath("data", f"{canon}.json").read_text()
    d = json.loads(text)
    graph = Graph.from_dict(d["graph"])
    p = d["paper"]
    paper = PaperNumbers(
        fwd=p["fwd"],
        rev=p["rev"],
        markowitz=p["markowitz"],
        markowitz_order=tuple(p["markowitz_order"]),
        best_cost=p["best_known_cost"],
        best_order=tuple(p["best_known_order"]),
        quoted=p.get("seed_document_value"),
        source=p.get("best_known_source", ""),
    )
    return Task(canon, graph, paper, p["paper_name"], meta=p)


def resolve_graph(target: Graph | Task | str) -> tuple[str | None, Graph]:
    """The one task-or-graph resolver: ``(task name or None, graph)`` of a :class:`Graph`, a
    :class:`Task`, or a task name / alias. Raises ``ValueError`` naming an unknown task and
    ``TypeError`` for anything else."""
    if isinstance(target, Graph):
        return None, target
    if isinstance(target, Task):
        return target.name, target.graph
    if isinstance(target, str):
        task = load(target)
        return task.name, task.graph
    raise TypeError(
        f"expected a Graph, a Task or a task name, got {type(target).__name__}"
    )


def __getattr__(name: str):
    """Lazy access to the random-function generator (imports JAX only when used)."""
    if name in ("random_function", "random_program", "preset_f", "preset_g"):
        from . import random_functions

        return getattr(random_functions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
