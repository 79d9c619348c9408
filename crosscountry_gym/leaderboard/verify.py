"""Verification of a submission: a score counts only if it is recomputed from the order.

Checks, in this order (the first failure raises :class:`SubmissionError` with a message naming
the problem):

1. the task (aliases resolved with :func:`crosscountry_gym.tasks.canonical_name`);
2. the fingerprint equals the frozen task graph's (the order refers to *that* graph);
3. the order is a permutation of the eliminable vertices (:func:`crosscountry_gym.validate_order`);
4. the cost recomputed by the NumPy reference :func:`crosscountry_gym.cost` in *both* models;
   the claim must equal the recomputed cost in the claimed model;
5. the executor check: :func:`crosscountry_gym.verify_order` runs the order as a real Jacobian
   program and compares it with ``jax.jacrev``. Where it cannot run (no runnable JAX function,
   a task function that traces to a graph other than the frozen one, a task the executor does
   not support) the check is recorded as ``skipped`` with the reason, never as passed.

The result is an :class:`Entry`, the record the store keeps.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from crosscountry_gym.engine import InvalidOrderError, cost, validate_order

from .schema import LEADERBOARD_MODELS, Submission, SubmissionError, order_key, parse_submission

__all__ = [
    "Entry",
    "ExecutorCheck",
    "verify_submission",
    "executor_check",
    "entry_from_dict",
]

ExecutorCheck = dict[str, Any]
"""``{"status": "passed"|"skipped", "detail": str}`` plus, when it ran, ``max_abs_error`` and
``max_rel_error`` (floats)."""


@dataclass(frozen=True)
class Entry:
    """A verified leaderboard entry: the submission (task canonicalised) plus what was verified.

    ``costs`` maps each cost model to the recomputed multiplications of the order.
    ``entry_sha256`` is a checksum over everything else, so ``leaderboard check`` notices
    hand edits. ``seq`` is the position in which the entry entered the store, assigned by the
    store under its lock and kept in the store's manifest, not in the entry (``None`` for an
    entry not read from a store); it breaks ties between equal costs.
    """

    submission: Submission
    entry_id: str
    costs: dict[str, int]
    executor: ExecutorCheck
    verifier_version: str
    seq: int | None = None

    @property
    def task(self) -> str:
        return self.submission.task

    @property
    def cost_model(self) -> str:
        return self.submission.cost_model

    @property
    def cost(self) -> int:
        """The verified cost in the entry's own model (what it is ranked by)."""
        return self.costs[self.submission.cost_model]

    @property
    def key(self) -> str:
        """Duplicate key: same task, model and order."""
        s = self.submission
        return order_key(s.task, s.cost_model, s.order)

    def body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.entry_id, **self.submission.to_dict()}
        d["verified"] = {
            "costs": {m: self.costs[m] for m in LEADERBOARD_MODELS},
            "executor": dict(self.executor),
            "verifier_version": self.verifier_version,
        }
        return d

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON data, checksum last."""
        d = self.body()
        d["entry_sha256"] = _checksum(d)
        return d

    @property
    def entry_sha256(self) -> str:
        """The checksum of the stored data (what the store's manifest records)."""
        return _checksum(self.body())


def _checksum(body: Mapping[str, Any]) -> str:
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:40].strip("-") or "entry"


def make_entry_id(sub: Submission) -> str:
    """``<model>-<method slug>-<12 hex of the duplicate key>``; also the file name stem."""
    return f"{sub.cost_model}-{_slug(sub.method)}-{order_key(sub.task, sub.cost_model, sub.order)[:12]}"


def _load_task(name: str):
    from crosscountry_gym import tasks

    try:
        canon = tasks.canonical_name(name)
    except ValueError as err:
        raise SubmissionError(f"field 'task': {err}") from None
    return tasks.load(canon)


def recompute(sub: Submission) -> tuple[Submission, dict[str, int]]:
    """Checks 1-4: returns the submission with the canonical task name and the costs in both
    models. Raises :class:`SubmissionError`."""
    task = _load_task(sub.task)
    graph = task.graph
    if sub.fingerprint != graph.fingerprint:
        raise SubmissionError(
            f"field 'fingerprint' {sub.fingerprint[:16]}... does not match task {task.name}'s graph "
            f"(expected {graph.fingerprint}); orders must refer to the frozen benchmark graph"
        )
    try:
        validate_order(graph, sub.order)
    except InvalidOrderError as err:
        raise SubmissionError(f"field 'order' is not a valid order for {task.name}: {err}") from None
    costs = {m: cost(graph, sub.order, m) for m in LEADERBOARD_MODELS}
    if sub.claimed_cost != costs[sub.cost_model]:
        other = [f"model '{m}': {c}" for m, c in costs.items() if m != sub.cost_model]
        raise SubmissionError(
            f"claimed_cost {sub.claimed_cost} disagrees with the verified cost {costs[sub.cost_model]} "
            f"of this order on {task.name} in model '{sub.cost_model}' ({'; '.join(other)})"
        )
    canon = replace(sub, task=task.name)
    return canon, costs


def _get(result: Any, *names: str) -> Any:
    for n in names:
        if isinstance(result, Mapping) and n in result:
            return result[n]
        if hasattr(result, n):
            return getattr(result, n)
    return None


def _traced_fingerprint(task) -> str:
    """Structure fingerprint of the task's JAX function as the tracer sees it (all arguments
    differentiated, as the executor does for a task)."""
    trace = importlib.import_module("crosscountry_gym.tracer")
    args = task.args
    # Structure only: the frozen graphs carry the paper extractor's typing; the tracer's
    # corrected rules change types and shape records but not vertices or edges, so an order of
    # the frozen graph runs unchanged whenever the structures agree (the executor checks the
    # same through the tracer's vertex map).
    graph = trace.make_graph(task.fn, *args, argnums=tuple(range(len(args))))
    return graph.structure_fingerprint


def _run_executor(task_name: str, order: tuple[int, ...]) -> ExecutorCheck:
    """Run :func:`crosscountry_gym.verify_order` and read its report (duck-typed: a mapping or
    an object with ``passed``/``ok`` and ``max_abs_error``/``max_rel_error``)."""
    # looked up at call time (tests replace these modules in sys.modules)
    executor = importlib.import_module("crosscountry_gym.executor")
    functions = importlib.import_module("crosscountry_gym.tasks.functions")
    from crosscountry_gym import tasks

    task = tasks.load(task_name)
    try:
        functions.function(task.name)
    except (NotImplementedError, KeyError, LookupError) as err:
        return {"status": "skipped", "detail": f"no runnable JAX function for {task.name}: {err}"}
    traced = _traced_fingerprint(task)
    if traced != task.graph.structure_fingerprint:
        return {
            "status": "skipped",
            "detail": (
                f"{task.name}'s JAX function traces to a graph whose structure ({traced[:12]}) "
                f"differs from the frozen benchmark graph's "
                f"({task.graph.structure_fingerprint[:12]}), so the order's vertex ids cannot be run"
            ),
        }
    try:
        # the fingerprint makes the executor refuse to run the ids on any other graph
        result = executor.verify_order(
            task, {"order": list(order), "fingerprint": task.graph.fingerprint}
        )
    except NotImplementedError as err:
        return {"status": "skipped", "detail": f"executor cannot run {task.name}: {err}"}
    except Exception as err:  # noqa: BLE001 - any executor failure rejects the entry, with its message
        raise SubmissionError(
            f"executor check failed on {task.name}: {type(err).__name__}: {err}"
        ) from None
    passed = result if isinstance(result, bool) else _get(result, "passed", "ok", "success")
    abs_err = _get(result, "max_abs_error", "max_abs_err", "abs_error")
    rel_err = _get(result, "max_rel_error", "max_rel_err", "rel_error")
    if passed is None:
        raise SubmissionError(f"executor check on {task.name} returned no pass/fail: {result!r}")
    mults = _get(result, "multiplications")
    exact = _get(result, "cost_exact")
    if not passed:
        why = f"max abs error {abs_err}, max rel error {rel_err}"
        if mults is not None and exact is not None and mults != exact:
            why += f"; it counted {mults} multiplications, the exact cost is {exact}"
        raise SubmissionError(
            f"executor check failed on {task.name}: the Jacobian of this order differs from "
            f"jax.jacrev or its count from the cost model ({why})"
        )
    detail = "Jacobian equals jax.jacrev"
    if mults is not None:
        detail += f"; {mults} multiplications counted"
    check: ExecutorCheck = {"status": "passed", "detail": detail}
    for key, val in (("max_abs_error", abs_err), ("max_rel_error", rel_err)):
        if val is not None:
            val = float(val)
            check[key] = float(f"{val:.3g}") if math.isfinite(val) else str(val)
    return check


def executor_check(task_name: str, order: tuple[int, ...], *, skip: bool = False) -> ExecutorCheck:
    """Step 5 of the verification; ``skip=True`` records a requested skip."""
    if skip:
        return {"status": "skipped", "detail": "skipped on request (--skip-executor)"}
    return _run_executor(task_name, order)


def verify_submission(
    sub: Submission,
    *,
    skip_executor: bool = False,
    executor: Callable[[str, tuple[int, ...]], ExecutorCheck] | None = None,
) -> Entry:
    """Run checks 1-5 on a well-formed submission and return the entry to store.

    ``executor`` replaces the executor check (tests use it to exercise a failing executor).
    """
    from crosscountry_gym import __version__

    sub = parse_submission(sub.to_dict())  # the same cleaning and limits for code-built ones
    canon, costs = recompute(sub)
    if executor is not None and not skip_executor:
        check = executor(canon.task, canon.order)
    else:
        check = executor_check(canon.task, canon.order, skip=skip_executor)
    return Entry(canon, make_entry_id(canon), costs, check, __version__)


_MISSING = object()


def entry_from_dict(data: Any) -> Entry:
    """Parse stored entry data *without* recomputation (the store's check does that).

    Raises :class:`SubmissionError` for a missing or malformed ``id``, ``verified`` or
    ``entry_sha256`` field, or a checksum that does not match the content (a hand edit).
    """
    if not isinstance(data, dict):
        raise SubmissionError(f"an entry must be a JSON object, got {type(data).__name__}")
    d = dict(data)
    for key in ("id", "verified", "entry_sha256"):
        if key not in d:
            raise SubmissionError(f"stored entry lacks field '{key}' (was it added by hand? use `submit`)")
    entry_id, verified, sha = d.pop("id"), d.pop("verified"), d.pop("entry_sha256")
    sub = parse_submission(d)
    normal = sub.to_dict()
    for key in [*normal, *(k for k in d if k not in normal)]:
        if normal.get(key, _MISSING) != d.get(key, _MISSING):
            raise SubmissionError(
                f"stored field '{key}' is not in the form `submit` writes (control, bidi or "
                "surrounding space characters, or another spelling); re-submit the entry"
            )
    if not isinstance(verified, dict) or not isinstance(verified.get("costs"), dict):
        raise SubmissionError("stored entry field 'verified' must hold 'costs' per model")
    costs = verified["costs"]
    if sorted(costs) != sorted(LEADERBOARD_MODELS) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in costs.values()
    ):
        raise SubmissionError(
            f"stored entry 'verified.costs' must give an integer per model {LEADERBOARD_MODELS}"
        )
    ex = verified.get("executor")
    if not isinstance(ex, dict) or ex.get("status") not in ("passed", "skipped"):
        raise SubmissionError("stored entry 'verified.executor.status' must be 'passed' or 'skipped'")
    entry = Entry(sub, str(entry_id), dict(costs), dict(ex), str(verified.get("verifier_version", "")))
    if entry.to_dict()["entry_sha256"] != sha:
        raise SubmissionError(
            "entry_sha256 does not match the content: the entry was edited by hand after "
            "verification; re-submit it instead"
        )
    return entry
