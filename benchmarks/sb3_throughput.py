"""MaskablePPO throughput on RoeFlux_1d: the SB3 adapter over the native vector env against
SB3's ``DummyVecEnv`` over ``gym.make`` envs, side by side in one run.

Both paths train the package's PPO (``crosscountry_gym.baselines.rl.sb3_agent``: same policy,
same ``PPOConfig`` apart from ``num_envs``); only ``make_env(..., backend=...)`` differs:

* ``dummy``: ``make_vec_env("CrossCountry/RoeFlux_1d-v0", n)``, the path before the adapter;
* ``native``: ``SB3VecEnv(gym.make_vec("CrossCountry/RoeFlux_1d-v0", n,
  vectorization_mode="vector_entry_point"))``, the path ``train`` uses now.

Two figures per setting, each after one warm-up rollout (JIT compile excluded):

* training: env steps per second of ``learn`` (rollouts plus PPO updates);
* rollout collection alone: policy inference, masks, env steps and SB3's rollout buffer.

Settings run interleaved, ``--repeats`` times, and the best repeat is reported (the machine is
shared; the best is the least disturbed). Usage::

    python benchmarks/sb3_throughput.py [--task RoeFlux_1d] [--settings dummy:8,native:8,native:64]
        [--rollouts 2] [--repeats 2] [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="RoeFlux_1d")
    ap.add_argument("--settings", default="dummy:8,native:8,dummy:64,native:64",
                    help="comma-separated BACKEND:NUM_ENVS")
    ap.add_argument("--rollouts", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads for every setting (default 1)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.torch_threads)
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines.rl import sb3_agent as S

    graph = tasks.load(args.task).graph
    settings = [(b, int(n)) for b, n in (s.split(":") for s in args.settings.split(","))]
    print(f"task {args.task}: {graph.num_vertices} vertices, rollout {graph.num_intermediates} "
          f"steps per env; {os.cpu_count()} CPUs ({platform.machine()}), torch threads "
          f"{torch.get_num_threads()}, load avg {os.getloadavg()[0]:.1f}", flush=True)
    best: dict[tuple[str, int], list[float]] = {s: [0.0, 0.0] for s in settings}
    t0 = time.perf_counter()
    for rep in range(args.repeats):
        for backend, n in settings:
            cfg = S.PPOConfig(num_envs=n)
            train = S.env_steps_per_second(args.task, cfg, rollouts=args.rollouts,
                                           backend=backend)
            roll = S.rollout_steps_per_second(args.task, cfg, rollouts=args.rollouts,
                                              backend=backend)
            b = best[(backend, n)]
            b[0], b[1] = max(b[0], train), max(b[1], roll)
            print(f"  repeat {rep}: {backend:6s} {n:4d} envs: training {train:8.1f} steps/s, "
                  f"rollouts only {roll:9.1f} steps/s (load {os.getloadavg()[0]:.1f})",
                  flush=True)
    ref = best.get(("dummy", 8)) or next(iter(best.values()))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; best of {args.repeats} repeats, ratios "
          "against dummy with 8 envs (the former default)\n")
    print("| env path | envs | training (env steps/s) | x | rollout collection only "
          "(env steps/s) | x |")
    print("|---|---|---|---|---|---|")
    for (backend, n), (train, roll) in best.items():
        name = "SB3VecEnv (native vector env)" if backend == "native" else "DummyVecEnv (gym.make)"
        print(f"| {name} | {n} | {train:,.0f} | {train / ref[0]:.1f} | {roll:,.0f} | "
              f"{roll / ref[1]:.1f} |")


if __name__ == "__main__":
    main()
