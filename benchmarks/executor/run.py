"""Executor runtime benchmark: our elimination orders vs what a JAX user would write.

One command, every variant measured side by side in one run (``python
benchmarks/executor/run.py``). Everything is ``jax.jit``-compiled; each timing is the median of
>= ``--calls`` calls after ``--warmup`` calls (``block_until_ready`` inside the timed region).

* Per-sample tasks (RoeFlux_1d/3d, RobotArm_6DOF, HumanHeartDipole, PropaneCombustion,
  BlackScholes_Jacobian, RandomFunction_f/g): batch ``--batch`` (512) of per-sample Jacobians.
  Ours: ``jax.vmap(jacobian(f, order))`` for order = fwd / rev / Markowitz / best known.
  Fair baselines: ``jax.vmap(jax.jacfwd(f))`` and ``jax.vmap(jax.jacrev(f))``. Reported
  separately (the paper's protocol): ``jax.jacrev(jax.vmap(f))``, the Jacobian of the batched
  function (batch x batch blocks, mostly zeros).
* MLP (scale ``--scale`` = 16: x (64,), W1 (128, 64), W2 (64, 128), batch 512): per-sample
  Jacobians of the loss w.r.t. every argument, ``vmap`` with ``in_axes`` on x and y only.
* Transformer (scale 16: 64 x 64 matrices, batch 1): the Jacobian w.r.t. every argument.

"best known" = the cheapest order in the exact cost model among the paper's published order
(when its vertex ids apply to the traced per-sample graph), the orders of the leaderboard's
entries (same condition) and the heuristic baselines.
Fast variants are timed in 25 interleaved rounds of 8 consecutive calls (after 2 warm-up calls in
each round), so that load changes on a shared machine affect them alike; variants whose single
call takes more than 5 ms are timed alone for at most ``--budget`` seconds (>= 3 calls). The
table says how many calls each median used where that is below the target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path


def _pin_before_jax(argv: list[str]) -> str:
    """Apply ``--threads`` before JAX starts its thread pools (threads inherit the affinity).

    ``pinned`` (default, the paper's protocol): one core, synchronous dispatch, so that every
    variant runs on the calling thread. ``all``: JAX's defaults (every core, async dispatch);
    on a small shared VM the thread hand-offs then cost more than these programs' arithmetic.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", choices=("pinned", "all"), default="pinned")
    mode = pre.parse_known_args(argv)[0].threads
    if mode == "pinned" and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return mode


THREADS = _pin_before_jax(sys.argv[1:]) if __name__ == "__main__" else "all"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

if THREADS == "pinned":
    jax.config.update("jax_cpu_enable_async_dispatch", False)

from crosscountry_gym import tasks  # noqa: E402
from crosscountry_gym.engine import cost  # noqa: E402
from crosscountry_gym.executor import jacobian  # noqa: E402
from crosscountry_gym.orders import HEURISTICS, heuristic_order  # noqa: E402
from crosscountry_gym.tasks import functions as F  # noqa: E402
from crosscountry_gym.tracer import make_graph  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OURS = ("fwd", "rev", "markowitz", "best")
FAIR = ("jax.vmap(jacfwd)", "jax.vmap(jacrev)")
PAPER = "jacrev(vmap(f))"


def _per_sample(name, batch, scale):
    """(per-sample f, one sample's args, batched args, vmap in_axes)."""
    spec = F.spec(name)
    if name == "MLP":
        _, args = F.scaled(name, scale=scale)
        one = (args[0][0], args[1][0], *args[2:])
        in_axes = (0, 0) + (None,) * (len(args) - 2)
        return spec.per_sample, one, args, in_axes
    if name == "Transformer":
        _, args = F.scaled(name, scale=scale)
        return spec.per_sample, args, args, None
    _, args = F.scaled(name, batch_size=batch)
    one = tuple(a[0] for a in args)
    return spec.per_sample, one, args, (0,) * len(args)


def _best_order(name, graph):
    """Cheapest exact-cost order among the published one, the leaderboard's entries (both as
    given when the traced graph is the frozen one, else mapped onto the traced graph) and the
    heuristics."""
    from crosscountry_gym.engine import validate_order
    from crosscountry_gym.tasks.fidelity import translate_order

    task = tasks.load(name)
    same_graph = graph.structure_fingerprint == task.graph.structure_fingerprint

    def usable(order):
        if same_graph:
            return tuple(order)
        try:
            o = translate_order(name, order, rules="exact")
            validate_order(graph, o)
        except ValueError:
            return None
        return tuple(o) if len(graph.eliminable) == len(o) else None

    suffix = "" if same_graph else " (mapped)"
    found = {"published" + suffix: usable(task.paper.best_order)}
    for path in sorted((ROOT / "leaderboard/submissions" / name).glob("*.json")):
        try:
            entry = json.loads(path.read_text())
            found[f"leaderboard {entry['id']}{suffix}"] = usable(entry["order"])
        except (ValueError, KeyError):
            continue
    cands = {label: o for label, o in found.items() if o is not None}
    for h in HEURISTICS:
        try:
            cands[h] = tuple(heuristic_order(graph, h))
        except Exception:  # noqa: BLE001 - a heuristic that does not apply is skipped
            continue
    scored = []
    for label, o in cands.items():
        try:
            scored.append((cost(graph, o, "exact"), label, o))
        except ValueError:
            continue
    c, label, o = min(scored, key=lambda t: t[0])
    return o, label, c


def _time_all(variants, args, warmup, calls, budget):
    """Median ms per variant. Fast variants (a call < 5 ms after compiling) are timed in 25
    interleaved rounds of 8 consecutive calls (2 warm-up calls before each), so that the
    load phases of a shared machine (tens of milliseconds to seconds) hit them alike; slow
    ones are timed alone for at most ``budget`` seconds (and >= 3 calls)."""
    compile_s, fast, slow = {}, [], []
    for k, fn in variants.items():
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        compile_s[k] = time.perf_counter() - t0
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        (fast if time.perf_counter() - t0 < 0.005 else slow).append(k)
    times = {k: [] for k in variants}
    per_round = 8
    rounds = -(-calls // per_round)
    warmup_round = min(warmup, 2)
    for k in fast:  # the full warm-up once
        for _ in range(warmup):
            jax.block_until_ready(variants[k](*args))
    start = time.perf_counter()
    for _ in range(rounds):
        for k in fast:
            fn = variants[k]
            for _ in range(warmup_round):
                jax.block_until_ready(fn(*args))
            for _ in range(per_round):
                t = time.perf_counter()
                jax.block_until_ready(fn(*args))
                times[k].append(time.perf_counter() - t)
        if time.perf_counter() - start > budget * max(1, len(fast)):
            break
    for k in slow:
        start = time.perf_counter()
        while len(times[k]) < calls:
            t = time.perf_counter()
            jax.block_until_ready(variants[k](*args))
            times[k].append(time.perf_counter() - t)
            if time.perf_counter() - start > budget and len(times[k]) >= 3:
                break
    return {k: (statistics.median(v) * 1e3, len(v), compile_s[k]) for k, v in times.items()}


def bench_task(name, args_ns):
    f, one, batched, in_axes = _per_sample(name, args_ns.batch, args_ns.scale)
    argnums = tuple(range(len(one)))
    graph = make_graph(f, *one, argnums=argnums)
    best, best_label, best_cost = _best_order(name, graph)
    orders = {"fwd": "fwd", "rev": "rev", "markowitz": "markowitz", "best": best}
    costs = {}
    for k, o in orders.items():
        ids = o if not isinstance(o, str) else None
        if ids is None:
            from crosscountry_gym.executor import resolve_order

            ids = resolve_order(graph, o)
        costs[k] = cost(graph, ids, "exact")

    def wrap(jac):
        return jax.jit(jac if in_axes is None else jax.vmap(jac, in_axes=in_axes))

    variants = {k: wrap(jacobian(f, o, argnums)) for k, o in orders.items()}
    variants["jax.vmap(jacfwd)"] = wrap(jax.jacfwd(f, argnums=argnums))
    variants["jax.vmap(jacrev)"] = wrap(jax.jacrev(f, argnums=argnums))
    if in_axes is not None and name != "MLP":
        variants[PAPER] = jax.jit(jax.jacrev(jax.vmap(f), argnums=argnums))
    row = {"task": name, "costs": costs, "best_label": best_label, "times": {}, "calls": {},
           "compile_s": {}}
    skip = set(args_ns.skip.split(",")) if args_ns.skip else set()
    variants = {k: fn for k, fn in variants.items() if k not in skip and f"{name}:{k}" not in skip}
    results = _time_all(variants, batched, args_ns.warmup, args_ns.calls, args_ns.budget)
    for k, (ms, n, comp) in results.items():
        row["times"][k], row["calls"][k], row["compile_s"][k] = ms, n, comp
        print(f"  {name:22s} {k:18s} {ms:10.3f} ms  ({n} calls, compile {comp:.1f} s)",
              flush=True)
    return row


def markdown(rows, meta):
    lines = [
        "# Executor runtime benchmark",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}; jax {meta['jax']}; {meta['devices']}.  ",
        f"Load average (1 min) at start / end: {meta['load_start']:.2f} / {meta['load_end']:.2f} "
        f"on {meta['cpus']} CPUs (the machine is shared; figures are noisy).  ",
        f"Batch {meta['batch']} for the per-sample tasks, scale {meta['scale']} for MLP and "
        "Transformer; medians over the number of calls shown (target 200) after "
        f"{meta['warmup']} warm-up calls, all `jax.jit`-compiled. "
        + ("Threads: one pinned core, synchronous dispatch (the paper's protocol; "
           "`--threads all` for JAX's defaults)."
           if meta.get("threads", "all") == "pinned" else "Threads: JAX's defaults."),
        "",
        "Times in ms (median per call). Ours = `jax.vmap(jacobian(f, order))`; multiplications "
        "= exact cost of the order on the traced per-sample graph.",
        "",
        "| task | fwd | rev | Markowitz | best known (order) | vmap(jacfwd) | vmap(jacrev) "
        "| best / faster fair | mults fwd / rev / Mkw / best |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(row, k):
        t = row["times"].get(k)
        if t is None:
            return "not run"
        n = row["calls"][k]
        return f"{t:.3f}" + ("" if n >= 200 else f" ({n} calls)")

    for r in rows:
        fair = [r["times"][k] for k in FAIR if k in r["times"]]
        ratio = ""
        if fair and "best" in r["times"]:
            ratio = f"{min(fair) / r['times']['best']:.2f}x"
        c = r["costs"]
        lines.append(
            f"| {r['task']} | {cell(r, 'fwd')} | {cell(r, 'rev')} | {cell(r, 'markowitz')} | "
            f"{cell(r, 'best')} ({r['best_label']}) | {cell(r, FAIR[0])} | {cell(r, FAIR[1])} | "
            f"{ratio} | {c['fwd']} / {c['rev']} / {c['markowitz']} / {c['best']} |"
        )
    lines += ["", "## Targets", ""]
    slower, fast_enough = [], []
    for r in rows:
        fair = [r["times"][k] for k in FAIR if k in r["times"]]
        if not fair or "best" not in r["times"]:
            continue
        ratio = min(fair) / r["times"]["best"]
        if ratio < 1.0:
            tie = " (a tie: within the 3% that repeated runs move)" if ratio >= 0.97 else ""
            slower.append(f"{r['task']} ({ratio:.3f}x{tie})")
        if r["task"] in ("RoeFlux_1d", "RobotArm_6DOF", "RandomFunction_g"):
            fast_enough.append(f"{r['task']} {ratio:.2f}x" + (" (target met)" if ratio >= 1.5
                                                              else " (target 1.5x NOT met)"))
    lines.append("* Best-known order never slower than the faster fair baseline: "
                 + ("met on every task measured." if not slower
                    else "NOT met on " + ", ".join(slower) + "."))
    lines.append("* At least 1.5x faster on RoeFlux_1d, RobotArm_6DOF, RandomFunction_g: "
                 + ("; ".join(fast_enough) or "not measured") + ".")
    lines += ["", "## Fewer multiplications that did not give less time", ""]
    found = False
    for r in rows:
        ks = [k for k in OURS if k in r["times"]]
        for a in ks:
            for b in ks:
                ca, cb = r["costs"][a], r["costs"][b]
                ta, tb = r["times"][a], r["times"][b]
                if ca < cb and ta > 1.05 * tb and a != b:
                    found = True
                    lines.append(f"* {r['task']}: {a} ({ca} mults) took {ta:.3f} ms, "
                                 f"{b} ({cb} mults) {tb:.3f} ms")
    if not found:
        lines.append("* none (within 5 %)")
    lines += [
        "",
        "Why fewer multiplications often do not mean less time here (details in "
        "docs/executor.md, *Speed*): at batch 512 a per-sample scalar task is a few hundred "
        "elementwise operations on 512-vectors. XLA:CPU fuses them into a few dozen loop kernels; "
        "it starts a kernel for every output leaf and for every expensive value (div, sqrt, exp, "
        "...) with several consumers, and recomputes the cheap values (mul, add) inside every "
        "kernel that needs them. The call time therefore follows the kernel count (about a "
        "microsecond each, plus about one per output leaf) and the recomputed cheap work, not the "
        "multiplications the cost model counts: on RoeFlux_1d all four orders (295 to 620 "
        "multiplications per sample) run in the same time. What the executor gains on the scalar "
        "tasks comes from sharing one reciprocal / rsqrt per value (RoeFlux_1d: 35 kernels "
        "against 49 in jax.jacfwd/jacrev) and from the compact partials; what it gains on "
        "RandomFunction_g and RoeFlux_3d also from the orders. For MLP and Transformer both "
        "sides spend the time writing the same large per-sample Jacobian blocks (ties).",
    ]
    lines += ["", "Paper protocol, reported separately: `jax.jit(jax.jacrev(jax.vmap(f)))` "
              "(Jacobian of the batched function; batch x batch blocks).", "",
              "| task | jacrev(vmap(f)) ms | best known order ms |", "|---|---|---|"]
    for r in rows:
        if PAPER in r["times"]:
            lines.append(f"| {r['task']} | {cell(r, PAPER)} | {cell(r, 'best')} |")
    return "\n".join(lines) + "\n"


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["fwd", "rev", "markowitz", "best", *FAIR]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(keys)
    x = np.arange(len(rows))
    for i, k in enumerate(keys):
        vals = []
        for r in rows:
            fair = [r["times"][f] for f in FAIR if f in r["times"]]
            base = min(fair) if fair else np.nan
            vals.append(base / r["times"][k] if k in r["times"] else np.nan)
        ax.bar(x + i * width, vals, width, label=k)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x + 0.4 - width / 2)
    ax.set_xticklabels([r["task"] for r in rows], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("speed-up vs the faster of vmap(jacfwd)/vmap(jacrev)")
    ax.set_title("Executor runtime (higher is faster; 1 = faster fair JAX baseline)")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(tasks.names()))
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--scale", type=int, default=16)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--budget", type=float, default=30.0,
                    help="max seconds of timed calls per variant (then >= 3 calls)")
    ap.add_argument("--threads", choices=("pinned", "all"), default="pinned",
                    help="pinned (default): one core, synchronous dispatch, as in the paper's "
                    "measurement; all: JAX defaults")
    ap.add_argument("--skip", default="", help="comma list of variants (or TASK:variant) to skip")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/executor.md"))
    ap.add_argument("--json", default=str(ROOT / "benchmarks/results/executor.json"))
    ap.add_argument("--plot", default=str(ROOT / "benchmarks/results/executor.png"))
    ap.add_argument("--from-json", default="",
                    help="re-render the Markdown and plot from a saved JSON run (no timing)")
    a = ap.parse_args(argv)
    if a.from_json:
        data = json.loads(Path(a.from_json).read_text())
        text = markdown(data["rows"], data["meta"])
        print(text)
        if a.out:
            Path(a.out).write_text(text)
        if a.plot:
            plot(data["rows"], a.plot)
        return 0
    load_start = os.getloadavg()[0]
    rows = []
    for name in a.tasks.split(","):
        rows.append(bench_task(tasks.canonical_name(name), a))
    meta = {
        "command": "python benchmarks/executor/run.py " + " ".join(argv or sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}",
        "cpus": os.cpu_count(),
        "jax": jax.__version__,
        "devices": ", ".join(str(d) for d in jax.devices()),
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "threads": THREADS,
        "batch": a.batch,
        "scale": a.scale,
        "warmup": a.warmup,
    }
    text = markdown(rows, meta)
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    if a.json:
        Path(a.json).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    if a.plot:
        plot(rows, a.plot)
    return 0


if __name__ == "__main__":
    jnp.zeros(())  # initialise the backend before timing
    sys.exit(main())
