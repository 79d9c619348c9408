"""The reference engine and the single Gymnasium env, side by side with a naive eliminator.

    .venv/bin/python benchmarks/engine_bench.py [--task RoeFlux_1d] [--rounds 15] [--quick]

Rows, measured in interleaved rounds in one process (each round times every row once, so load
changes on a shared machine hit all rows alike; the table reports each row's median):

1. naive pure-Python scalar elimination written here (dict of predecessor/successor sets, the
   textbook Markowitz product |P|*|Q| per step, nothing else): the floor any engine in Python
   should reach;
2. ``crosscountry_gym.cost(graph, order)`` in both cost models (validation included);
3. the bitset fast path ``ScalarBitsetState`` where the graph allows it;
4. one ``gym.make`` env stepping full random orders (wrappers included), and the bare
   ``CrossCountryEnv``.

Ratios are against row 1 (> 1 = faster than the naive eliminator).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import crosscountry_gym  # noqa: F401  (registers the ids)
from crosscountry_gym import tasks
from crosscountry_gym.engine import ScalarBitsetState, cost, is_scalar
from crosscountry_gym.envs.gym_env import CrossCountryEnv
from crosscountry_gym.graph import Graph


def naive_cost(graph: Graph, order: list[int]) -> int:
    """Textbook scalar vertex elimination: sets of neighbours, |P(v)| * |Q(v)| per step."""
    ni = graph.num_inputs
    pred: dict[int, set[int]] = {}
    succ: dict[int, set[int]] = {}
    for e in graph.edges:
        t = ni + e.target
        pred.setdefault(t, set()).add(e.source)
        succ.setdefault(e.source, set()).add(t)
    total = 0
    for v in order:
        row = ni + v
        p = pred.pop(row, set())
        q = succ.pop(row, set())
        total += len(p) * len(q)
        for r in p:
            s = succ[r]
            s.discard(row)
            s |= q
        for t in q:
            s = pred[t]
            s.discard(row)
            s |= p
    return total


def per_call(fn: Callable[[], object], calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="RoeFlux_1d")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="3 rounds (smoke run)")
    args = ap.parse_args()
    rounds = 3 if args.quick else args.rounds
    g = tasks.load(args.task).graph
    rng = np.random.default_rng(0)
    order = [int(v) for v in rng.permutation(g.eliminable)]
    episodes = [[int(v) - 1 for v in rng.permutation(g.eliminable)] for _ in range(10)]
    steps = g.num_intermediates

    made = gym.make(f"CrossCountry/{args.task}-v0")
    bare = CrossCountryEnv(g)

    def play(env) -> Callable[[], None]:
        def run() -> None:
            for acts in episodes:
                env.reset()
                for a in acts:
                    env.step(a)
        return run

    rows: dict[str, tuple[Callable[[], object], int, str]] = {
        "naive scalar elimination (in this file)": (lambda: naive_cost(g, order), 100, "order"),
        "cost(graph, order), exact": (lambda: cost(g, order), 100, "order"),
        "cost(graph, order), alphagrad": (lambda: cost(g, order, "alphagrad"), 100, "order"),
    }
    if is_scalar(g):
        def bitset() -> int:
            st = ScalarBitsetState(g)
            return sum(st.eliminate(v) for v in order)
        rows["ScalarBitsetState, one order"] = (bitset, 100, "order")
    rows["Gymnasium env via gym.make, 10 episodes"] = (play(made), 1, "episodes")
    rows["bare CrossCountryEnv, 10 episodes"] = (play(bare), 1, "episodes")

    for fn, _, _ in rows.values():  # warm-up: caches, first-call checks
        fn()
    times: dict[str, list[float]] = {k: [] for k in rows}
    for _ in range(rounds):
        for name, (fn, calls, _) in rows.items():
            times[name].append(per_call(fn, calls))

    print(f"task {args.task}: {g.num_inputs} inputs, {steps} eliminable vertices, "
          f"{len(g.edges)} edges; {platform.python_implementation()} {platform.python_version()} "
          f"on {platform.machine()}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}; "
          f"{rounds} interleaved rounds, medians")
    base = statistics.median(times["naive scalar elimination (in this file)"])
    w = max(map(len, rows))
    print(f"{'':<{w}}  {'per order':>12}  {'steps/s':>12}  {'vs naive':>9}")
    for name, (_, _, unit) in rows.items():
        t = statistics.median(times[name])
        per_order = t if unit == "order" else t / len(episodes)
        print(f"{name:<{w}}  {per_order * 1e3:>9.3f} ms  {steps / per_order:>12,.0f}  "
              f"{base / per_order:>8.2f}x")


if __name__ == "__main__":
    main()
