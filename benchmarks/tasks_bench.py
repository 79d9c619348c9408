"""Speed of the task-suite tooling: random-function generation and fidelity checks.

Run: ``.venv/bin/python benchmarks/tasks_bench.py`` (prints Markdown tables).

* Random functions: median time of ``random_program`` for the two presets and for tracing the
  result with ``make_graph``, side by side (the generator evaluates every candidate operation in
  NumPy, so it should cost about as much as one trace).
* Fidelity: median time of ``compare_graphs`` on a paper graph against itself (fingerprint
  path) and against a renumbered copy (vertex-map search with invariant signatures + VF2).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from crosscountry_gym.graph import Graph
from crosscountry_gym.tasks import load
from crosscountry_gym.tasks.fidelity import compare_graphs
from crosscountry_gym.tasks.random_functions import (
    PRESET_F,
    PRESET_G,
    random_program,
)
from crosscountry_gym.tracer import make_graph


def _median_ms(fn, repeat: int = 11) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _renumber(g: Graph, seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    ni = g.num_inputs
    preds = {v: set() for v in range(1, g.num_vertices + 1)}
    for e in g.edges:
        if e.source > ni:
            preds[e.target].add(e.source - ni)
    done: list[int] = []
    left = set(preds)
    while left:
        v = int(rng.choice(sorted(v for v in left if preds[v] <= set(done))))
        done.append(v)
        left.remove(v)
    new = {old: k + 1 for k, old in enumerate(done)}
    row = lambda r: r if r <= ni else ni + new[r - ni]  # noqa: E731
    recs = [[row(e.source), new[e.target], e.type, *e.out_shape, *e.in_shape] for e in g.edges]
    return Graph.from_records(ni, g.num_vertices, recs, [new[o] for o in g.outputs])


def main() -> None:
    print("| preset | ops | `random_program` ms | `make_graph` ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, preset in (("f", PRESET_F), ("g", PRESET_G)):
        seeds = iter(range(10**6))
        gen = _median_ms(lambda p=preset, s=seeds: random_program(next(s), **p))
        prog = random_program(0, **preset)
        # a fresh wrapper per call: jax.make_jaxpr caches traces of the same callable
        tr = _median_ms(lambda q=prog: make_graph(lambda *a: q(*a), *q.example_args))
        print(f"| {name} | {len(prog.ops)} | {gen:.1f} | {tr:.1f} | {gen / tr:.2f} |")
    print()
    print("| task | vertices | identical ms | renumbered (map search) ms | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name in ("RoeFlux_1d", "RoeFlux_3d", "MLP", "Transformer", "RandomFunction_g"):
        paper = load(name).graph
        other = _renumber(paper, 0)
        same = _median_ms(lambda p=paper: compare_graphs(p, p))
        mapped = _median_ms(lambda p=paper, o=other: compare_graphs(p, o), repeat=5)
        print(
            f"| {name} | {paper.num_vertices} | {same:.2f} | {mapped:.1f} | {mapped / same:.0f} |"
        )


if __name__ == "__main__":
    main()
