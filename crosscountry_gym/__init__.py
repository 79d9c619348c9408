"""crosscountry-gym: cross-country vertex elimination as a reinforcement-learning game.

Public surface (one explicit list; heavy modules load lazily on first use; the layers are in
``docs/architecture.md``)::

    Graph, Edge, MODELS                            # graph model, cost-model names
    cost, step_costs, validate_order               # the reference engine (crosscountry_gym.engine)
    resolve_order, reference_costs                 # named orders and their costs (.orders)
    make_graph, UnsupportedPrimitiveError          # JAX function -> Graph (tracer)
    jacobian, count_multiplications, verify_order  # executor: run an order for real
    tasks, baselines                               # benchmark suite and baselines

Importing the package registers the Gymnasium ids ``CrossCountry/<Task>-v0``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .engine import InvalidOrderError, cost, step_costs, validate_order
from .envs.registration import register_all as _register_envs
from .graph import Edge, Graph, GraphFormatError
from .orders import reference_costs, resolve_order
from .sparsity import MODELS

__version__ = "0.1.0"

_LAZY = {
    "make_graph": "crosscountry_gym.tracer",
    "UnsupportedPrimitiveError": "crosscountry_gym.tracer",
    "jacobian": "crosscountry_gym.executor",
    "count_multiplications": "crosscountry_gym.executor",
    "verify_order": "crosscountry_gym.executor",
    "tasks": None,
    "baselines": None,
}

__all__ = [
    "Edge",
    "Graph",
    "GraphFormatError",
    "InvalidOrderError",
    "MODELS",
    "cost",
    "reference_costs",
    "resolve_order",
    "step_costs",
    "validate_order",
    "make_graph",
    "UnsupportedPrimitiveError",
    "jacobian",
    "count_multiplications",
    "verify_order",
    "tasks",
    "baselines",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = _LAZY[name]
        if module is None:
            return importlib.import_module(f"crosscountry_gym.{name}")
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'crosscountry_gym' has no attribute {name!r}")


_register_envs()
