"""Tracing speed: ``make_graph`` on the benchmark task functions vs plain ``jax.make_jaxpr``.

Usage::

    .venv/bin/python benchmarks/trace_bench.py [--repeats 21] [--tasks RoeFlux_1d MLP ...]

For each task it reports the median wall time (over ``--repeats`` runs, after one warm-up) of

* ``jax.make_jaxpr(f)(*args)``: JAX's own tracing, the floor;
* ``make_graph(f, *args)``: tracing + flattening (a second trace) + the primitive rules;

and their ratio, measured side by side in one run. The target is "well under a second" for
RoeFlux_1d (issue 3).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import jax

from crosscountry_gym.tasks.functions import example_args, function
from crosscountry_gym.tracer import make_graph


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument(
        "--tasks",
        nargs="*",
        default=["RoeFlux_1d", "RoeFlux_3d", "MLP", "Transformer", "RandomFunction_f"],
    )
    args = p.parse_args(argv)
    print(f"jax {jax.__version__}, python {platform.python_version()}, {platform.machine()}")
    print(f"median of {args.repeats} runs after one warm-up\n")
    print(
        f"{'task':20s} {'vertices':>8s} {'make_jaxpr ms':>14s} {'make_graph ms':>14s} {'ratio':>6s}"
    )
    for name in args.tasks:
        f, xs = function(name), example_args(name)
        n = make_graph(f, *xs).num_vertices
        # a fresh wrapper per call: jax.make_jaxpr caches traces of the same callable
        t_jaxpr = _median_time(
            lambda f=f, xs=xs: jax.make_jaxpr(lambda *a: f(*a))(*xs), args.repeats
        )
        t_graph = _median_time(lambda f=f, xs=xs: make_graph(f, *xs), args.repeats)
        print(
            f"{name:20s} {n:8d} {1e3 * t_jaxpr:14.1f} {1e3 * t_graph:14.1f} "
            f"{t_graph / t_jaxpr:6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
