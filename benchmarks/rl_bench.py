"""RL throughput on RoeFlux_1d, side by side in one run.

* AlphaZero self-play: moves per second at 50 simulations (one jitted iteration = ``num_envs``
  complete episodes searched with Gumbel MuZero, plus its gradient steps; compile excluded);
* MaskablePPO: environment steps per second of ``learn`` (rollouts through the SB3 adapter over
  the native vector env, ``sb3_agent.make_env``, plus the PPO updates; warm-up rollout
  excluded). ``benchmarks/sb3_throughput.py`` compares that path with SB3's DummyVecEnv.

Usage: ``python benchmarks/rl_bench.py [--task RoeFlux_1d] [--az-envs 16] [--ppo-envs 8]``

``python benchmarks/rl_bench.py --table RUNS_DIR`` instead summarises the training runs under
RUNS_DIR (every ``*/checkpoint/recorder.json``) as the markdown results table: per task and
agent, best cost per seed, mean and best over seeds, and the issue's target.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="RoeFlux_1d")
    ap.add_argument("--az-envs", type=int, default=16)
    ap.add_argument("--simulations", type=int, default=50)
    ap.add_argument("--az-repeats", type=int, default=1)
    ap.add_argument("--ppo-envs", type=int, default=8)
    ap.add_argument("--ppo-rollouts", type=int, default=2)
    ap.add_argument("--table", metavar="RUNS_DIR", help="summarise training runs instead")
    args = ap.parse_args()
    if args.table:
        print(results_table(args.table))
        return

    import jax

    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.rl import alphazero as az
    from crosscountry_gym.baselines.rl import sb3_agent as S

    graph = tasks.load(args.task).graph
    print(f"task {args.task}: {graph.num_vertices} vertices, {graph.num_intermediates} moves per "
          f"episode; {os.cpu_count()} CPUs ({platform.machine()}), JAX devices "
          f"{[d.device_kind for d in jax.devices()]}, load avg {os.getloadavg()[0]:.1f}")
    cfg = az.AZConfig(num_envs=args.az_envs, num_simulations=args.simulations)
    t = time.perf_counter()
    mps = az.moves_per_second(graph, cfg, repeats=args.az_repeats)
    print(f"AlphaZero self-play ({args.simulations} simulations, {args.az_envs} envs, "
          f"d_model {cfg.d_model}, {cfg.num_layers} layers): {mps:,.1f} moves/s "
          f"(= {mps * (args.simulations + 1):,.0f} network evaluations/s; "
          f"total incl. compile {time.perf_counter() - t:.0f} s)")
    pcfg = S.PPOConfig(num_envs=args.ppo_envs)
    sps = S.env_steps_per_second(args.task, pcfg, rollouts=args.ppo_rollouts)
    print(f"MaskablePPO ({args.ppo_envs} envs, rollout {graph.num_intermediates}): "
          f"{sps:,.1f} env steps/s (rollouts + updates)")
    print(f"ratio PPO env steps / AlphaZero moves: {sps / mps:.1f}x")


def results_table(runs_dir: str) -> str:
    """Markdown table of the runs under ``runs_dir`` (see the module docstring)."""
    import json
    from collections import defaultdict
    from pathlib import Path

    from crosscountry_gym.orders import reference_costs
    from crosscountry_gym.tasks import resolve_graph

    runs = defaultdict(list)
    for f in sorted(Path(runs_dir).glob("*/checkpoint/recorder.json")):
        st = json.loads(f.read_text())
        st["_metrics"] = f.parent.parent / "metrics.csv"
        runs[(st["task"], st["method"], st["cost_model"])].append(st)
    lines = ["| task | agent | seeds | budget used per run (min) | env steps per run | best per "
             "seed | mean | best | fwd / rev / Markowitz | target | met by | minutes to target |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (task, method, cost_model), sts in sorted(runs.items()):
        b = reference_costs(resolve_graph(task)[1], cost_model)
        target = b.best if method == "alphazero" else b.markowitz
        best = [s["best_cost"] for s in sts]
        met = sum(c is not None and c <= target for c in best)
        used = ", ".join("%.1f" % (s["elapsed_s"] / 60) for s in sts)
        reach = ", ".join(_minutes_to(s["_metrics"], target) for s in sts)
        lines.append(
            f"| {task} | {method} | {', '.join(str(s['seed']) for s in sts)} | "
            f"{used} | "
            f"{', '.join(str(s['env_steps']) for s in sts)} | {', '.join(map(str, best))} | "
            f"{np.mean(best):.1f} | {min(best)} | {b.forward} / {b.reverse} / {b.markowitz} | "
            f"<= {target} | {met}/{len(sts)} | {reach} |"
        )
    return "\n".join(lines)


def _minutes_to(metrics_csv, target: int) -> str:
    """Wall minutes (compile included) at the first logged row whose best cost <= target."""
    import csv

    try:
        with open(metrics_csv, newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("best_cost") not in (None, "") and float(row["best_cost"]) <= target:
                    return f"{float(row['wall_s']) / 60:.1f}"
    except OSError:
        return "?"
    return "-"


if __name__ == "__main__":
    main()
