"""Verification: run an order for real and check it against ``jax.jacrev``.

:func:`verify_order` takes a task (by name or as a ``Task``) or a JAX function, traces it,
prices the order in both cost models, counts the multiplications the executor emits, runs the
Jacobian under ``jax.jit`` and compares it with ``jax.jacrev`` (:class:`VerifyResult`). Tasks
live in a layer above the executor, so they are looked up by name (:func:`_tasks`), never
imported. See ``docs/executor.md``, *Checking an order*.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..engine import InvalidOrderError, cost
from ..orders import OrderSpec, parse_order
from ..tracer import make_graph
from .counting import count_with
from .program import Executor, order_for

__all__ = ["verify_order", "VerifyResult"]


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_order`.

    ``rel_error`` is normwise: max |J - J_ref| / max |J_ref| over all finite entries of all
    blocks. NaN / inf entries must coincide (NaNs compare equal).
    """

    name: str
    order: tuple[int, ...] = field(repr=False)
    cost_exact: int
    cost_alphagrad: int
    multiplications: int
    max_abs_error: float
    rel_error: float
    nonfinite_match: bool
    dtype: str
    tolerance: float
    passed: bool
    graph_fingerprint: str = ""
    notes: tuple[str, ...] = ()

    @property
    def max_rel_error(self) -> float:
        """Alias of ``rel_error`` (the normwise relative error)."""
        return self.rel_error

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["order"] = list(self.order)
        d["notes"] = list(self.notes)
        return d


_TOL = {"float64": 1e-10, "float32": 1e-4}


def _tasks(submodule: str = "") -> Any:
    """The task layer (``crosscountry_gym.tasks`` or one of its submodules), by name."""
    if submodule == "fidelity":
        return importlib.import_module("crosscountry_gym.tasks.fidelity")
    return importlib.import_module("crosscountry_gym.tasks")


def _cast_args(args: tuple, dtype: str) -> tuple:
    """Float arrays cast to ``dtype``; Python floats stay weakly typed (they follow the precision
    mode without changing the traced graph); other leaves unchanged."""

    def cast(x: Any) -> Any:
        if isinstance(x, int | float | bool):
            return x
        a = jnp.asarray(x)
        return a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a

    return jax.tree_util.tree_map(cast, args)


def _compare(got: Any, ref: Any) -> tuple[float, float, bool]:
    """(max abs error, normwise relative error, non-finite entries coincide) of two Jacobians."""
    g_leaves = [np.asarray(x, np.float64) for x in jax.tree_util.tree_leaves(got)]
    r_leaves = [np.asarray(x, np.float64) for x in jax.tree_util.tree_leaves(ref)]
    if len(g_leaves) != len(r_leaves):
        return float("inf"), float("inf"), False
    max_abs, scale, match = 0.0, 0.0, True
    for g, r in zip(g_leaves, r_leaves, strict=True):
        if g.shape != r.shape:
            return float("inf"), float("inf"), False
        fin_g, fin_r = np.isfinite(g), np.isfinite(r)
        if not np.array_equal(fin_g, fin_r):
            match = False
        nonfin = ~fin_r & ~fin_g
        if not np.array_equal(np.isnan(g[nonfin]), np.isnan(r[nonfin])) or not np.array_equal(
            g[nonfin & ~np.isnan(r)], r[nonfin & ~np.isnan(r)]
        ):
            match = False
        both = fin_g & fin_r
        if both.any():
            max_abs = max(max_abs, float(np.max(np.abs(g[both] - r[both]))))
            scale = max(scale, float(np.max(np.abs(r[both]))))
    rel = max_abs / scale if scale > 0 else max_abs
    return max_abs, rel, match


def verify_order(
    task_or_fn: Any,
    order: OrderSpec | dict,
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    dtype: str = "float64",
    tolerance: float | None = None,
) -> VerifyResult:
    """Run ``order`` for real and check it: costs in both models, error vs ``jax.jacrev``.

    Args:
        task_or_fn: a task name (e.g. "RoeFlux_1d"), a ``crosscountry_gym.tasks.Task``, or a
            JAX function (then ``args`` are required).
        order: "fwd" / "rev" / "markowitz" / heuristic name / list of vertex ids of the freshly
            traced graph ``make_graph(fn, *args, argnums=argnums)``; or a dict with an "order"
            key (and optionally "fingerprint", checked against that graph).
        args: inputs (default: the task's example inputs).
        argnums: differentiated arguments (default: all arguments of a task, 0 for a function).
        dtype: "float64" (tolerance 1e-10) or "float32" (1e-4): float inputs are cast to it.
        tolerance: override the relative-error tolerance.

    Returns a :class:`VerifyResult`; ``passed`` means the counted multiplications equal the
    exact cost, non-finite entries coincide and the normwise relative error is within tolerance.
    """
    if dtype not in _TOL:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    name, fn = _resolve_target(task_or_fn)
    if not args:
        if name is None:
            raise ValueError("verify_order on a function needs its example arguments")
        args = _tasks().load(name).args
    if argnums is None:
        argnums = tuple(range(len(args))) if name is not None else 0
    fingerprint = None
    if isinstance(order, dict):
        if "order" not in order:
            raise InvalidOrderError("an order object needs an 'order' key with the vertex ids")
        fingerprint = order.get("fingerprint") or order.get("graph_fingerprint")
        order = order["order"]
    spec = parse_order(order)
    tol = _TOL[dtype] if tolerance is None else float(tolerance)
    notes: list[str] = []
    with jax.enable_x64(dtype == "float64"):
        cast = _cast_args(tuple(args), dtype)
        graph = make_graph(fn, *cast, argnums=argnums)
        if fingerprint is not None and fingerprint != graph.fingerprint:
            spec = _translate_or_refuse(name, fn, args, argnums, graph, fingerprint, spec, notes)
        ordered = order_for(graph, spec)
        c_exact = cost(graph, ordered, "exact")
        c_paper = cost(graph, ordered, "alphagrad")
        ex = Executor(fn, ordered, argnums)  # one trace for the count and the run
        mults = count_with(ex, cast)
        got = jax.jit(ex.transform())(*cast)
        ref = jax.jit(jax.jacrev(fn, argnums=argnums))(*cast)
        max_abs, rel, match = _compare(got, ref)
    if c_exact != c_paper:
        notes.append(
            f"paper-compatible cost {c_paper} differs from the exact cost {c_exact}: the "
            "paper's tables deviate from real arithmetic for this order (docs/cost_model.md "
            "section 8)"
        )
    passed = bool(mults == c_exact and match and rel <= tol)
    return VerifyResult(
        name=name or getattr(fn, "__name__", "function"),
        order=tuple(ordered),
        cost_exact=c_exact,
        cost_alphagrad=c_paper,
        multiplications=mults,
        max_abs_error=max_abs,
        rel_error=rel,
        nonfinite_match=match,
        dtype=dtype,
        tolerance=tol,
        passed=passed,
        graph_fingerprint=graph.fingerprint,
        notes=tuple(notes),
    )


def _translate_or_refuse(name, fn, args, argnums, graph, fingerprint, spec, notes):
    """An order made for another graph: accept the same function traced from the original
    (uncast) arguments, or the task's frozen paper graph through the tracer's vertex map."""
    if make_graph(fn, *args, argnums=argnums).fingerprint == fingerprint:
        return spec  # the cast changed dtypes only; the graph is the same
    if name is not None and not isinstance(spec, str):
        _, frozen = _tasks().resolve_graph(name)
        if frozen.fingerprint == fingerprint:
            try:
                out = _tasks("fidelity").translate_order(name, spec, cost_model="exact")
            except ValueError as err:
                raise InvalidOrderError(
                    f"the order is in {name}'s frozen paper-graph ids, and they cannot be carried "
                    f"over to the traced graph: {err}"
                ) from None
            notes.append(
                "order given in the frozen paper graph's vertex ids; translated to the traced "
                "graph's ids with the tracer's vertex map"
            )
            return out
    raise InvalidOrderError(
        f"the order was made for graph {str(fingerprint)[:16]}..., but "
        f"{name or 'the function'} traces to graph {graph.fingerprint[:16]}...; its vertex ids "
        "do not apply"
    )


def _resolve_target(task_or_fn: Any) -> tuple[str | None, Callable]:
    """(task name or None, function) of a task name, a ``Task`` or a function."""
    if isinstance(task_or_fn, str):
        task = _tasks().load(task_or_fn)
        return task.name, task.fn
    if hasattr(task_or_fn, "graph") and hasattr(task_or_fn, "fn") and hasattr(task_or_fn, "name"):
        return task_or_fn.name, task_or_fn.fn
    if callable(task_or_fn):
        return None, task_or_fn
    raise TypeError(f"expected a task name, a Task or a function, got {type(task_or_fn).__name__}")
