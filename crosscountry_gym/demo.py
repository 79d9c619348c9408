"""``make demo`` / ``python -m crosscountry_gym.demo``: the package end to end in a few minutes.

1. **Baselines**: every heuristic of :mod:`crosscountry_gym.orders` and the paper's published
   order on all ten tasks, costed by the reference engine (forward / reverse / Markowitz via
   :func:`crosscountry_gym.orders.reference_costs`).
2. **Search**: a short simulated-annealing run per task
   (:func:`crosscountry_gym.baselines.search.anneal`), started from the best heuristic order.
3. **Verify and submit**: the best order per task goes through the real ``submit`` pipeline
   (recomputed costs, executor check against ``jax.jacrev``) into a *temporary copy* of the
   committed leaderboard, so the repository is never modified.
4. **Leaderboard**: the ranked tables are printed.

Options: ``--seconds`` (search budget per task), ``--tasks``, ``--cost-model`` (default
``alphagrad``: the demo shows the paper's leaderboard view), ``--skip-executor``, ``--keep DIR``
(write the demo leaderboard there instead of a temporary folder).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from crosscountry_gym.engine import cost
from crosscountry_gym.orders import HEURISTICS, reference_costs
from crosscountry_gym.sparsity import CostModel

DEFAULT_SECONDS = 4.0


@dataclass
class TaskResult:
    task: str
    baselines: dict[str, int] = field(default_factory=dict)  # method -> cost (demo's model)
    reference: int = 0  # best of forward / reverse / Markowitz
    best_method: str = ""
    best_order: tuple[int, ...] = ()
    best_cost: int = 0
    search_note: str = ""
    outcome: str = ""


def run_baselines(task_names: Sequence[str], cost_model: CostModel) -> list[TaskResult]:
    """Step 1: every heuristic plus the published order, costed in ``cost_model``."""
    from crosscountry_gym import tasks

    results = []
    for name in tqdm(task_names, desc="1/3 baselines", unit="task", file=sys.stdout):
        task = tasks.load(name)
        g = task.graph
        ref = reference_costs(g, cost_model)
        res = TaskResult(name, reference=ref.best)
        for h, fn in HEURISTICS.items():
            order = fn(g)
            c = ref[h] if h in ref else cost(g, order, cost_model)
            res.baselines[h] = c
            if not res.best_order or c < res.best_cost:
                res.best_method, res.best_order, res.best_cost = h, tuple(order), c
        res.baselines["paper published"] = cost(g, task.paper.best_order, cost_model)
        results.append(res)
    return results


def run_search(results: list[TaskResult], seconds: float, cost_model: CostModel, seed: int) -> str:
    """Step 2: anneal from the best heuristic order; keeps the better of start and result."""
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import anneal

    if seconds <= 0:
        for r in results:
            r.search_note = "no search"
        return "search disabled (--seconds 0)"
    bar = tqdm(results, desc=f"2/3 search ({seconds:g} s/task)", unit="task", file=sys.stdout)
    for r in bar:
        g = tasks.load(r.task).graph
        t0 = time.perf_counter()

        def show(best: int, frac: float, task: str = r.task) -> None:
            bar.set_postfix_str(f"{task}: best {best}", refresh=False)

        res = anneal(g, cost_model, seconds=seconds, seed=seed, init=r.best_order, progress=show)
        order = tuple(int(v) for v in res.order)
        c = cost(g, order, cost_model)  # never trust the searcher's own number
        r.search_note = f"{time.perf_counter() - t0:.1f} s"
        if c < r.best_cost:
            r.best_method, r.best_order, r.best_cost = "simulated annealing", order, c
        bar.set_postfix_str(f"{r.task}: {r.best_cost}")
    return "simulated annealing (crosscountry_gym.baselines.search.anneal)"


def submit_results(results: list[TaskResult], root: Path, cost_model: CostModel, seconds: float,
                   seed: int, skip_executor: bool) -> None:
    """Step 3: the real submit pipeline (recompute, executor check, locked store)."""
    import datetime as dt

    from crosscountry_gym import __version__, tasks
    from crosscountry_gym.leaderboard import StoreError, SubmissionError, submit_submission
    from crosscountry_gym.leaderboard.schema import Submission

    bar = tqdm(results, desc="3/3 verify + submit", unit="task", file=sys.stdout)
    for r in bar:
        g = tasks.load(r.task).graph
        searched = r.best_method == "simulated annealing"
        sub = Submission(
            task=r.task, fingerprint=g.fingerprint, cost_model=cost_model, order=r.best_order,
            claimed_cost=r.best_cost,
            method=f"demo: {r.best_method}" + (f" ({seconds:g} s)" if searched else ""),
            track="heuristic/search", authors=("make demo",), code="crosscountry_gym/demo.py",
            package_version=__version__, seeds=(seed,) if searched else (),
            compute_budget=f"{seconds:g} s search on a shared CPU" if searched else "< 1 s",
            hardware="this machine", date=dt.date.today().isoformat(),
        )
        bar.set_postfix_str(f"{r.task}: verifying")
        try:
            entry, _ = submit_submission(sub, root, skip_executor=skip_executor, render=False)
            ex = entry.executor
            detail = ex["detail"] if len(ex["detail"]) <= 70 else ex["detail"][:69] + "…"
            r.outcome = f"added; executor {ex['status']}" + (
                "" if ex["status"] == "passed" else f" ({detail})"
            )
        except StoreError as err:
            if not str(err).startswith("duplicate"):
                raise
            r.outcome = "order already on the board"
        except SubmissionError as err:
            r.outcome = f"REJECTED: {err}"


def _prepare_store(keep: str | None, source: Path) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    tmp = None
    if keep:
        root = Path(keep)
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="crosscountry-demo-")
        root = Path(tmp.name)
    if (source / "submissions").is_dir() and not (root / "submissions").exists():
        shutil.copytree(source / "submissions", root / "submissions")
    return root, tmp


def main(argv: Sequence[str] | None = None) -> int:
    from crosscountry_gym import tasks
    from crosscountry_gym.cli import add_cost_model_option
    from crosscountry_gym.leaderboard import Store, render_text
    from crosscountry_gym.leaderboard.seeds import seed_store

    p = argparse.ArgumentParser(prog="python -m crosscountry_gym.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="search seconds per task")
    p.add_argument("--tasks", nargs="+", default=None, help="task names (default: all ten)")
    add_cost_model_option(p, default="alphagrad",
                          help="cost model of the search and the submissions (default alphagrad: "
                          "the demo shows the paper's leaderboard view)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-executor", action="store_true", help="do not run the executor check")
    p.add_argument("--leaderboard", default="leaderboard", help="committed leaderboard to start from")
    p.add_argument("--keep", metavar="DIR", help="write the demo leaderboard to DIR (default: temporary)")
    args = p.parse_args(argv)

    t_start = time.perf_counter()
    names = [tasks.canonical_name(t) for t in args.tasks] if args.tasks else tasks.names()
    print(f"crosscountry-gym demo: {len(names)} tasks, model '{args.cost_model}', "
          f"search {args.seconds:g} s per task\n")
    results = run_baselines(names, args.cost_model)
    note = run_search(results, args.seconds, args.cost_model, args.seed)
    print(f"search: {note}")

    root, tmp = _prepare_store(args.keep, Path(args.leaderboard))
    try:
        if not any((root / "submissions").glob("*/*.json")):
            print("no committed leaderboard found: seeding the reference entries first")
            seed_store(root, skip_executor=True, progress=True)
        submit_results(results, root, args.cost_model, args.seconds, args.seed,
                       args.skip_executor)
        store = Store(root)
        store.render()
        entries = store.entries()

        print(f"\nBest order per task (cost in model '{args.cost_model}'):")
        width = max(len(n) for n in names)
        for r in results:
            ratio = r.best_cost / r.reference
            print(f"  {r.task:<{width}}  best {r.best_cost:>7}  ({ratio:.3f} x best of "
                  f"fwd/rev/Markowitz; paper {r.baselines['paper published']})  "
                  f"{r.best_method}; {r.outcome}")
        print("\nLeaderboard (verified entries, committed ones plus this run):\n")
        for name in names:
            print(render_text(entries, task=name, cost_model=args.cost_model), end="")
        where = f"kept in {root}" if args.keep else "temporary; use --keep DIR to keep it"
        print(f"demo leaderboard: {len(entries)} entries ({where}); "
              f"total {time.perf_counter() - t_start:.0f} s")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
