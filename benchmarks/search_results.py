"""Reproduce the search results table: best orders per task and cost model, with proven bounds.

    .venv/bin/python benchmarks/search_results.py --seconds 60 --seeds 0 1
    .venv/bin/python benchmarks/search_results.py --table-only     # rebuild the table from files

For every task, in the paper-compatible model ``alphagrad`` and, on the tensor tasks (where the
two models differ), also in ``exact``:

1. run ``crosscountry-gym solve TASK --method sa --seconds S --seed K --cost-model M`` for each seed
   (the same :func:`~crosscountry_gym.baselines.search.solve` call, in-process);
2. if the best cost is above the min-cut lower bound, try to close the gap with
   ``crosscountry-gym solve TASK --method bnb --seconds B`` (SA for a third of B, then
   branch-and-bound; ``--bnb-seconds``);
3. keep the best order in ``leaderboard/orders/<Task>/<method>-<model>.json``: an existing file
   is replaced only by a strictly cheaper order, so reruns never lose a result and every file
   records the exact command that produced it;
4. rebuild ``benchmarks/results/search.md`` from the order files, replaying every order with
   :func:`crosscountry_gym.engine.cost` (nothing in the table is taken on trust from a file).

Timings depend on the machine and its load; SA is time-budgeted, so reruns on another machine
may land on different (usually equally good) orders.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ROOT / "leaderboard" / "orders"
TABLE = ROOT / "benchmarks" / "results" / "search.md"


def _models(graph) -> list[str]:
    from crosscountry_gym.baselines.search import is_scalar

    return ["alphagrad"] if is_scalar(graph) else ["alphagrad", "exact"]


def _order_files(task: str, model: str) -> list[Path]:
    return sorted((ORDERS / task).glob(f"*-{model}.json"))


def _best_file(task, model: str):
    """(cost, path, record) of the cheapest order file for (task, model), replayed."""
    from crosscountry_gym.engine import cost

    best = None
    for path in _order_files(task.name, model):
        rec = json.loads(path.read_text())
        if rec.get("fingerprint") != task.graph.fingerprint:
            print(f"skip {path}: fingerprint mismatch", file=sys.stderr)
            continue
        c = cost(task.graph, rec["order"], model)
        if c != rec.get("cost"):
            print(f"warning: {path} claims {rec.get('cost')}, replays to {c}", file=sys.stderr)
        if best is None or c < best[0]:
            best = (c, path, rec)
    return best


def _save(task, model: str, result, seed: int, seconds: float, command: str) -> bool:
    """Write the order file unless an existing one is at least as cheap. True if written."""
    from crosscountry_gym.cli.solve_cmd import order_record

    current = _best_file(task, model)
    if current is not None and current[0] <= result.cost:
        # a certificate found now still upgrades the file that holds the same cost
        if result.optimal and current[0] == result.cost and not current[2].get("proven_optimal"):
            rec = current[2]
            rec["lower_bound"], rec["proven_optimal"] = result.lower_bound, True
            rec["certificate"] = f"{result.method}: {command}"
            current[1].write_text(json.dumps(rec, indent=1) + "\n")
        return False
    rec = order_record(task, result, seed, seconds, command)
    rec["date"] = _dt.date.today().isoformat()
    path = ORDERS / task.name / f"{result.method}-{model}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=1) + "\n")
    return True


def run_searches(names: list[str], seconds: float, seeds: list[int], bnb_seconds: float) -> None:
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import lower_bound, solve

    for name in names:
        task = tasks.load(name)
        for model in _models(task.graph):
            lb = lower_bound(task.graph, model)
            best = None
            for seed in seeds:
                t0 = time.perf_counter()
                res = solve(task.graph, "sa", model, seconds=seconds, seed=seed)
                cmd = (f"crosscountry-gym solve {name} --method sa --seconds {seconds:g} "
                       f"--seed {seed} --cost-model {model}")
                wrote = _save(task, model, res, seed, seconds, cmd)
                print(f"{name:22s} {model:9s} sa seed {seed}: {res.cost} (lb {lb}) "
                      f"{time.perf_counter() - t0:.0f}s{' *saved*' if wrote else ''}", flush=True)
                if best is None or res.cost < best.cost:
                    best = res
            if best.cost > lb and bnb_seconds > 0:
                res = solve(task.graph, "bnb", model, seconds=bnb_seconds, seed=0)
                cmd = (f"crosscountry-gym solve {name} --method bnb --seconds {bnb_seconds:g} "
                       f"--seed 0 --cost-model {model}")
                wrote = _save(task, model, res, 0, bnb_seconds, cmd)
                print(f"{name:22s} {model:9s} bnb: {res.cost} optimal={res.optimal} "
                      f"nodes={res.stats.get('nodes')}{' *saved*' if wrote else ''}", flush=True)


SPEED = ROOT / "benchmarks" / "results" / "search_speed.json"


def measure_speed(names: list[str], seconds: float = 1.0) -> list[dict]:
    """Per task: reference full replay vs one incremental move (same random moves), both timed
    for about ``seconds`` in this run, and their ratio."""
    import random

    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import IncrementalOrder
    from crosscountry_gym.baselines.search.annealing import _propose
    from crosscountry_gym.engine import cost

    rows = []
    for name in names:
        g = tasks.load(name).graph
        rng = random.Random(0)
        inc = IncrementalOrder(g, g.eliminable[::-1], "alphagrad")
        moves = [_propose(inc.order, rng, 6.0) for _ in range(2000)]
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            lo, block = moves[k % len(moves)]
            cost(g, inc.order[:lo] + block + inc.order[lo + len(block):], "alphagrad")
            k += 1
        full = (time.perf_counter() - t0) / k
        t0, k = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            lo, block = moves[k % len(moves)]
            inc.block_cost(lo, block)
            k += 1
        incr = (time.perf_counter() - t0) / k
        rows.append({"task": name, "state": type(inc.states[0]).__name__,
                     "full_us": round(full * 1e6, 1), "move_us": round(incr * 1e6, 1),
                     "speedup": round(full / incr, 1)})
        print(rows[-1], flush=True)
    return rows


VERIFY = ROOT / "benchmarks" / "results" / "search_verify.json"
COMPARE = ROOT / "benchmarks" / "results" / "search_compare.json"


def compare_methods(names: list[str], seconds: float) -> dict:
    """Every method of ``solve`` at the same budget, seed 0, model alphagrad (side by side)."""
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import METHODS, solve

    out: dict = {"seconds": seconds, "rows": {}}
    for name in names:
        g = tasks.load(name).graph
        row = {}
        for method in METHODS:
            res = solve(g, method, "alphagrad", seconds=seconds, seed=0)
            row[method] = {"cost": res.cost, "seconds": round(res.seconds, 1),
                           "optimal": res.optimal}
        out["rows"][name] = row
        print(name, {m: r["cost"] for m, r in row.items()}, flush=True)
    return out


def verify_best(names: list[str]) -> dict:
    """Run :func:`crosscountry_gym.verify_order` (the real Jacobian of the order against
    ``jax.jacrev``) on the best order file of every (task, model); returns
    ``{"Task/model": "passed" | reason}``."""
    from crosscountry_gym import tasks
    from crosscountry_gym.executor import verify_order

    out = json.loads(VERIFY.read_text()) if VERIFY.exists() else {}
    for name in names:
        task = tasks.load(name)
        for model in _models(task.graph):
            found = _best_file(task, model)
            if found is None:
                continue
            key = f"{name}/{model}"
            try:
                r = verify_order(name, found[2])
                out[key] = ("passed" if r.passed else f"FAILED (rel error {r.rel_error:.1e})")
                out[key] += f" [{found[1].name}, cost {found[0]}]"
            except Exception as err:  # report, do not hide: the table shows the reason
                out[key] = f"not verified: {type(err).__name__}: {err}"[:200]
            print(key, out[key], flush=True)
    return out


def build_table() -> str:
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.search import lower_bound
    from crosscountry_gym.engine import cost
    from crosscountry_gym.orders import reference_costs

    lines = [
        "# Search baselines: results",
        "",
        "Generated by `.venv/bin/python benchmarks/search_results.py` from the order files in",
        "`leaderboard/orders/<Task>/<method>-<model>.json`; every cost below is replayed with",
        "`crosscountry_gym.engine.cost` in the stated model. *Lower bound* is the min-cut bound of",
        "`docs/search.md` (or the optimum certified by branch-and-bound, marked †); *gap* = our",
        "best - lower bound; **bold** = proven optimal. *vs paper* = our best - the cost of the",
        "paper's published AlphaGrad order replayed in the same model.",
        "",
        f"Machine: {platform.machine()} CPU, Python {platform.python_version()}, shared by several "
        "jobs (2 cores, ~7 users), so time budgets are wall-clock under contention.",
        "",
        "| task | model | fwd | rev | Markowitz | paper best | our best | vs paper | lower bound "
        "| gap | method | command | budget |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    stats = {"alphagrad": [0, 0, 0, 0]}  # <=, <, proven, total
    for name in tasks.names():
        task = tasks.load(name)
        g = task.graph
        for model in _models(g):
            ref = reference_costs(g, model)
            fwd, rev, mk = ref.forward, ref.reverse, ref.markowitz
            paper = cost(g, task.paper.best_order, model)
            lb = lower_bound(g, model)
            found = _best_file(task, model)
            if found is None:
                lines.append(f"| {name} | {model} | {fwd} | {rev} | {mk} | {paper} | - | - | {lb} "
                             "| - | - | not run | - |")
                continue
            c, path, rec = found
            proven = c == lb
            lb_txt = str(lb)
            if not proven and rec.get("proven_optimal") and rec.get("lower_bound") == c:
                proven, lb_txt = True, f"{c}†"
            elif proven:
                lb_txt = str(lb)
            best_txt = f"**{c}**" if proven else str(c)
            gap = 0 if proven else c - lb
            cmd = rec.get("certificate") or rec.get("command", "")
            lines.append(
                f"| {name} | {model} | {fwd} | {rev} | {mk} | {paper} | {best_txt} | "
                f"{c - paper:+d} ({(c - paper) / paper:+.1%}) | {lb_txt} | {gap} "
                f"| {rec.get('method')} | `{cmd}` | {rec.get('seconds')} s |"
            )
            s = stats.setdefault(model, [0, 0, 0, 0])
            s[0] += c <= paper
            s[1] += c < paper
            s[2] += proven
            s[3] += 1
    lines += ["", "Summary (targets of issue 8 apply to the alphagrad model):", ""]
    for model, (le, lt, pr, tot) in stats.items():
        lines.append(f"* {model}: our best <= paper on {le}/{tot} tasks, strictly lower on "
                     f"{lt}/{tot}, proven optimal on {pr}/{tot}.")
    lines += ["", "On the scalar tasks (types 1 and -1 only) both models give identical costs, so "
              "only alphagrad is listed; the order files hold the model they were searched in."]
    if VERIFY.exists():
        checks = json.loads(VERIFY.read_text())
        lines += [
            "",
            "## Executor check of the best orders",
            "",
            "`.venv/bin/python benchmarks/search_results.py --verify --table-only` runs "
            "`crosscountry_gym.verify_order` (the order executed as a real Jacobian "
            "accumulation, compared with `jax.jacrev`, and its counted multiplications with "
            "the cost) on the best order file of each row:",
            "",
        ]
        lines += [f"* {k}: {v}" for k, v in sorted(checks.items())]
    if COMPARE.exists():
        from crosscountry_gym.baselines.search import METHODS

        comp = json.loads(COMPARE.read_text())
        lines += [
            "",
            f"## Methods side by side ({comp['seconds']:g} s each, seed 0, alphagrad)",
            "",
            f"`.venv/bin/python benchmarks/search_results.py --compare {comp['seconds']:g} "
            "--table-only`: `crosscountry-gym solve TASK --method M` for every method at the "
            "same budget in one run (dp = exact subset DP where it fits, else window-DP polish "
            "of the best greedy order; bnb = SA for a third, then branch-and-bound). "
            "Cost (wall seconds); * = proven optimal.",
            "",
            "| task | " + " | ".join(METHODS) + " |",
            "|---|" + "---|" * len(METHODS),
        ]
        for name, row in comp["rows"].items():
            cells = [f"{row[m]['cost']}{'*' if row[m]['optimal'] else ''} ({row[m]['seconds']})"
                     for m in METHODS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if SPEED.exists():
        rows = json.loads(SPEED.read_text())
        lines += [
            "",
            "## Incremental evaluation speed",
            "",
            "`.venv/bin/python benchmarks/search_results.py --speed --table-only`: per task, the "
            "time to price one annealing move (mean block length ~7) by a full reference replay "
            "(`crosscountry_gym.engine.cost`) and by `IncrementalOrder.block_cost`, on the same "
            "moves, measured side by side in one run (shared machine, noisy).",
            "",
            "| task | state | full replay (us) | incremental move (us) | speed-up |",
            "|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(f"| {r['task']} | {r['state']} | {r['full_us']} | {r['move_us']} "
                         f"| {r['speedup']}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from crosscountry_gym import tasks

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="SA budget per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--bnb-seconds", type=float, default=20.0)
    p.add_argument("--tasks", nargs="+", default=None)
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--speed", action="store_true", help="also time incremental vs full replay")
    p.add_argument("--compare", type=float, default=0.0, metavar="SECONDS",
                   help="also run every method at this budget side by side")
    p.add_argument("--verify", action="store_true",
                   help="also check the best orders with the executor (needs JAX)")
    args = p.parse_args(argv)
    names = [tasks.canonical_name(n) for n in (args.tasks or tasks.names())]
    if not args.table_only:
        run_searches(names, args.seconds, args.seeds, args.bnb_seconds)
    if args.verify:
        VERIFY.parent.mkdir(parents=True, exist_ok=True)
        VERIFY.write_text(json.dumps(verify_best(names), indent=1) + "\n")
    if args.compare:
        COMPARE.parent.mkdir(parents=True, exist_ok=True)
        COMPARE.write_text(json.dumps(compare_methods(names, args.compare), indent=1) + "\n")
    if args.speed:
        SPEED.parent.mkdir(parents=True, exist_ok=True)
        SPEED.write_text(json.dumps(measure_speed(names), indent=1) + "\n")
    table = build_table()
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
