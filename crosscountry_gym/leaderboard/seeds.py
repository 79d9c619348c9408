"""Seed entries: the reference orders every leaderboard starts with, and order files from the
search and RL baselines.

* For each of the ten tasks: forward, reverse, the paper's minimal Markowitz order (orders and
  costs from :func:`crosscountry_gym.orders.reference_costs` on the frozen graph) and the paper's
  published AlphaGrad order (from the task data), in model ``alphagrad``, and also in model
  ``exact`` where the order's cost differs between the models (f's published order: 6374 vs
  6566).
* Order files under ``leaderboard/orders/<Task>/*.json`` (written by ``crosscountry-gym solve`` /
  ``train``): either complete submissions, or order records with at least ``order`` (and
  optionally ``task``, ``cost_model``/``model``, ``claimed_cost``/``cost``, ``method``, ``track``,
  ``seed``/``seeds``, ``seconds``/``compute_budget``, ``hardware``, ``authors``, ``code``,
  ``date``, ``command``, ``lower_bound``, ``proven_optimal``), as ``crosscountry-gym solve --out``
  writes them. A claimed cost in the file is submitted as the claim, so a wrong one
  is rejected like any other submission.

Every seed goes through the same :func:`~crosscountry_gym.leaderboard.submit_submission` as a
user's submission. Seeding is idempotent: an order already on the board is reported as present.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosscountry_gym.engine import cost
from crosscountry_gym.orders import forward_order, reference_costs, reverse_order

from .schema import (
    LEADERBOARD_MODELS,
    Submission,
    SubmissionError,
    parse_submission,
    read_json_file,
)

__all__ = ["SeedResult", "paper_seeds", "order_file_seeds", "seed_store", "refresh_executor"]

PAPER_AUTHORS = ("Jamie Lohoff", "Emre Neftci")
PAPER_CODE = "https://github.com/jamielohoff/alphagrad"
PAPER_DATE = "2024-05-22"  # alphagrad commit 0c7de8a, whose eval notebooks hold the orders
BASELINE_CODE = "baselines/heuristics.py (crosscountry-gym)"
BASELINE_AUTHORS = ("crosscountry-gym baselines",)
SEARCH_METHOD_NAMES = {  # short names of `crosscountry-gym solve --method` -> table names
    "sa": "simulated annealing",
    "beam": "beam search",
    "dp": "dynamic programming",
    "bnb": "branch and bound",
    "markowitz": "minimal Markowitz (paper)",
}


def _version() -> str:
    from crosscountry_gym import __version__

    return __version__


def _costs(graph, order) -> dict[str, int]:
    return {m: cost(graph, order, m) for m in LEADERBOARD_MODELS}


def _models_for(costs: Mapping[str, int]) -> list[tuple[str, int]]:
    """``(model, cost)`` to seed an order in: the paper's model (``alphagrad``), plus every other
    model where the order's cost differs from it."""
    first, *others = LEADERBOARD_MODELS
    return [(first, costs[first])] + [(m, costs[m]) for m in others if costs[m] != costs[first]]


def paper_seeds(date: str | None = None, task_names: Iterable[str] | None = None) -> list[Submission]:
    """Forward, reverse, Markowitz and published-order submissions for the tasks (default all)."""
    from crosscountry_gym import tasks

    date = date or _dt.date.today().isoformat()
    subs: list[Submission] = []
    for name in task_names or tasks.names():
        task = tasks.load(name)
        g = task.graph
        common = dict(task=task.name, fingerprint=g.fingerprint, package_version=_version())
        refs = {m: reference_costs(g, m) for m in LEADERBOARD_MODELS}
        baselines = [
            ("forward mode", "forward", forward_order(g),
             "eliminable vertices in ascending id order"),
            ("reverse mode", "reverse", reverse_order(g),
             "eliminable vertices in descending id order"),
            ("minimal Markowitz (paper)", "markowitz", refs["alphagrad"].markowitz_order,
             "the paper's greedy weighted Markowitz degree, lowest id breaks ties"),
        ]
        for method, key, order, note in baselines:
            for model, c in _models_for({m: ref[key] for m, ref in refs.items()}):
                subs.append(
                    Submission(
                        **common, cost_model=model, order=tuple(order), claimed_cost=c,
                        method=method, track="heuristic/search", authors=BASELINE_AUTHORS,
                        code=BASELINE_CODE, seeds=(), compute_budget="deterministic; < 1 s",
                        hardware="any CPU", date=date, notes=note,
                    )
                )
        for model, c in _models_for(_costs(g, task.paper.best_order)):
            subs.append(
                Submission(
                    **common, cost_model=model, order=tuple(task.paper.best_order), claimed_cost=c,
                    method="AlphaGrad (published order)", track="learned", authors=PAPER_AUTHORS,
                    code=PAPER_CODE, seeds=(), compute_budget="not reported with the order",
                    hardware="not reported with the order", date=PAPER_DATE,
                    notes=f"published order, {task.paper.source}",
                )
            )
    return subs


def _from_record(data: dict[str, Any], folder_task: str, path: Path, date: str) -> list[Submission]:
    from crosscountry_gym import tasks

    if all(k in data for k in ("fingerprint", "claimed_cost", "authors", "track")):
        return [parse_submission(data)]  # already a complete submission
    if "order" not in data:
        raise SubmissionError(f"{path}: no 'order' field")
    task = tasks.load(data.get("task", folder_task))
    g = task.graph
    order = data["order"]
    model = data.get("cost_model", data.get("model"))
    claimed = data.get("claimed_cost", data.get("cost"))
    if model is None:
        models = [(m, None) for m, _ in _models_for(_costs(g, order))]
    else:
        models = [(model, claimed)]
    seeds = data.get("seeds", [data["seed"]] if "seed" in data else [])
    budget = data.get("compute_budget")
    if budget is None and "seconds" in data:
        budget = f"{data['seconds']} s"
    notes_parts = [data["notes"]] if data.get("notes") else []
    if data.get("proven_optimal"):
        notes_parts.append("proven optimal by the search")
    elif data.get("lower_bound") is not None:
        notes_parts.append(f"proven lower bound {data['lower_bound']}")
    if "command" in data:
        notes_parts.append(f"command: {data['command']}")
    notes = "; ".join(notes_parts)
    method = str(data.get("method", path.stem))
    method = SEARCH_METHOD_NAMES.get(method, method)
    out = []
    for m, c in models:
        rec = {
            "task": task.name,
            "fingerprint": data.get("fingerprint", g.fingerprint),
            "cost_model": m,
            "order": order,
            "claimed_cost": c if c is not None else cost(g, order, m),
            "method": method,
            "track": data.get("track", "heuristic/search"),
            "authors": data.get("authors", list(BASELINE_AUTHORS)),
            "code": data.get("code", "baselines/ (crosscountry-gym)"),
            "package_version": data.get("package_version", _version()),
            "seeds": seeds,
            "compute_budget": budget or "not recorded in the order file",
            "hardware": data.get("hardware", "not recorded in the order file"),
            "date": data.get("date", date),
        }
        if notes:
            rec["notes"] = notes
        out.append(parse_submission(rec))
    return out


def order_file_seeds(orders_dir: str | Path, date: str | None = None) -> list[tuple[Path, list[Submission]]]:
    """Submissions built from ``orders_dir/<Task>/*.json``; malformed files raise with the path."""
    orders_dir = Path(orders_dir)
    date = date or _dt.date.today().isoformat()
    out = []
    if not orders_dir.is_dir():
        return out
    for path in sorted(orders_dir.glob("*/*.json")):
        data = read_json_file(path, "order file")
        if not isinstance(data, dict):
            raise SubmissionError(f"{path}: expected a JSON object")
        try:
            out.append((path, _from_record(data, path.parent.name, path, date)))
        except (SubmissionError, ValueError) as err:
            raise SubmissionError(f"{path}: {err}") from None
    return out


@dataclass
class SeedResult:
    added: list[str]
    present: list[str]
    rejected: list[str]


def seed_store(
    root: str | Path,
    *,
    orders_dir: str | Path | None = None,
    date: str | None = None,
    skip_executor: bool = False,
    paper: bool = True,
    progress: bool = False,
) -> SeedResult:
    """Submit the seed entries to the leaderboard folder ``root`` (idempotent).

    Duplicates are reported as ``present``; a rejected order file is reported in ``rejected``
    with its message (and the caller should exit non-zero).
    """
    from . import StoreError, submit_submission

    todo: list[tuple[str, Submission]] = []
    if paper:
        todo += [("paper/baselines", s) for s in paper_seeds(date)]
    if orders_dir is not None:
        for path, subs in order_file_seeds(orders_dir, date):
            todo += [(str(path), s) for s in subs]
    result = SeedResult([], [], [])
    iterator: Iterable[tuple[str, Submission]] = todo
    if progress:
        from tqdm import tqdm

        iterator = tqdm(todo, desc="seeding", unit="entry")
    for origin, sub in iterator:
        label = f"{sub.task} {sub.cost_model} {sub.method} ({origin})"
        try:
            entry, _ = submit_submission(sub, root, skip_executor=skip_executor, render=False)
            result.added.append(f"{label}: {entry.cost}")
        except StoreError as err:
            if str(err).startswith("duplicate"):
                result.present.append(label)
            else:
                raise
        except SubmissionError as err:
            result.rejected.append(f"{label}: {err}")
    from .store import Store

    Store(root).render()
    return result


def refresh_executor(root: str | Path, *, progress: bool = False) -> SeedResult:
    """Re-run the executor check on every entry recorded as ``skipped``, and record the passes
    (e.g. after the executor learned to run a task) and changed skip reasons (e.g. a module that
    was missing is now present but the task still cannot run). ``added`` lists entries updated
    to passed, ``present`` those still skipped (with the reason; updated if it changed),
    ``rejected`` those whose order now fails the check (left unchanged; the caller should exit
    non-zero so a person looks at them)."""
    from .store import Store
    from .verify import executor_check

    store = Store(root)
    todo = [e for e in store.entries() if e.executor.get("status") == "skipped"]
    result = SeedResult([], [], [])
    iterator: Iterable = todo
    if progress:
        from tqdm import tqdm

        iterator = tqdm(todo, desc="executor", unit="entry")
    for e in iterator:
        label = f"{e.task} {e.cost_model} {e.submission.method} ({e.entry_id})"
        try:
            check = executor_check(e.task, e.submission.order)
        except SubmissionError as err:
            result.rejected.append(f"{label}: {err}")
            continue
        if check["status"] == "passed":
            store.update_executor(e, check)
            result.added.append(f"{label}: executor passed")
        else:
            if check.get("detail") != e.executor.get("detail"):
                store.update_executor(e, check)
            result.present.append(f"{label}: {check['detail']}")
    return result
