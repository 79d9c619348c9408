"""Unmasked Stable-Baselines3 algorithms with default hyper-parameters on PropaneCombustion.

Plain SB3 calls on the registered env, nothing else (``docs/rl.md``, *Unmasked algorithms*)::

    env = gym.make("CrossCountry/PropaneCombustion-v0")   # default invalid_action="terminate"
    model = PPO("MultiInputPolicy", env, seed=seed).learn(50_000)       # A2C, DQN alike

``ALGO-legal`` runs the same call on ``LegalActionWrapper(gym.make(...))`` (action k = the k-th
legal vertex), the documented wrapper for algorithms that cannot mask. Every ``--eval-every``
environment steps the model plays ``--episodes`` evaluation episodes on a fresh ``gym.make``
env: one deterministic (``predict(deterministic=True)``) and the rest sampled. Reported per
algorithm and checkpoint: how many episodes ended with ``terminated=True`` (the target: all of
them; none cut by the time limit), how many were complete legal orders, and the deterministic
order's cost against Markowitz (target for PPO: <= Markowitz, 111 on PropaneCombustion).

Usage: ``python benchmarks/sb3_unmasked.py [--steps 50000] [--algos PPO,A2C,DQN,DQN-legal,...]
[--seed 0] [--json OUT.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

TASK = "PropaneCombustion"


def make_env(algo: str) -> Any:
    import gymnasium as gym

    import crosscountry_gym  # noqa: F401  (registers the ids)
    from crosscountry_gym.envs import LegalActionWrapper

    env = gym.make(f"CrossCountry/{TASK}-v0")
    return LegalActionWrapper(env) if algo.endswith("-legal") else env


def evaluate(model: Any, algo: str, episodes: int, seed: int) -> dict[str, Any]:
    from crosscountry_gym.baselines.rl.evaluation import play_episodes

    env = make_env(algo)
    det = play_episodes(lambda o: model.predict(o, deterministic=True)[0], env, 1, seed=seed)
    sto = play_episodes(lambda o: model.predict(o, deterministic=False)[0], env, episodes - 1,
                        seed=seed + 1)
    env.close()
    ep = det.episodes + sto.episodes
    d = det.episodes[0]
    return {
        "episodes": len(ep),
        "terminated": sum(e.terminated for e in ep),
        "truncated": sum(e.truncated for e in ep),
        "complete": sum(e.complete for e in ep),
        "det_complete": d.complete,
        "det_cost": d.cost if d.complete else None,
        "det_steps": d.steps,
        "best_sampled_cost": min((e.cost for e in sto.episodes if e.complete), default=None),
    }


def run(algo: str, steps: int, every: int, episodes: int, seed: int) -> dict[str, Any]:
    import stable_baselines3 as sb3
    from stable_baselines3.common.callbacks import BaseCallback

    cls = getattr(sb3, algo.split("-")[0])
    rows: list[dict[str, Any]] = []
    train_s = [0.0]
    t_mark = [time.perf_counter()]

    class Eval(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % every == 0:
                train_s[0] += time.perf_counter() - t_mark[0]
                rows.append({"env_steps": self.num_timesteps, "train_s": round(train_s[0], 1),
                             **evaluate(self.model, algo, episodes, seed)})
                print(f"  {algo} {rows[-1]}", flush=True)
                t_mark[0] = time.perf_counter()
            return True

    model = cls("MultiInputPolicy", make_env(algo), seed=seed, verbose=0)
    model.learn(steps, callback=Eval())
    return {"algo": algo, "seed": seed, "steps": steps, "checkpoints": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50_000)
    ap.add_argument("--eval-every", type=int, default=10_000)
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--algos", default="PPO,A2C,DQN,DQN-legal")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads (default 1: on a shared 2-core machine more "
                    "threads only spin)")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.torch_threads)
    from crosscountry_gym import tasks
    from crosscountry_gym.orders import reference_costs

    ref = reference_costs(tasks.load(TASK).graph)
    print(f"{TASK}: forward {ref.forward}, reverse {ref.reverse}, Markowitz {ref.markowitz}; "
          f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    for algo in args.algos.split(","):
        t = time.perf_counter()
        res = run(algo, args.steps, args.eval_every, args.episodes, args.seed)
        res["wall_s"] = round(time.perf_counter() - t, 1)
        results.append(res)
        last = res["checkpoints"][-1]
        ok = last["terminated"] == last["episodes"] and last["truncated"] == 0
        print(f"{algo}: {res['wall_s']} s; final: {last['terminated']}/{last['episodes']} "
              f"terminated, {last['complete']} complete, deterministic cost {last['det_cost']} "
              f"(Markowitz {ref.markowitz}); all terminated: {ok}", flush=True)
    out = {"task": TASK, "reference": dict(ref), "results": results}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    print(markdown(out))


def markdown(out: dict[str, Any]) -> str:
    """The results as a markdown table (one row per algorithm and checkpoint)."""
    mark = out["reference"]["markowitz"]
    lines = ["| algorithm | env steps | train s | terminated / episodes | truncated | complete "
             "orders | deterministic order cost | best sampled cost |",
             "|---|---|---|---|---|---|---|---|"]
    for r in out["results"]:
        for c in r["checkpoints"]:
            det = c["det_cost"] if c["det_cost"] is not None else "illegal move"
            if c["det_cost"] is not None and c["det_cost"] <= mark:
                det = f"**{det}**"
            lines.append(f"| {r['algo']} | {c['env_steps']:,} | {c['train_s']} | "
                         f"{c['terminated']}/{c['episodes']} | {c['truncated']} | "
                         f"{c['complete']} | {det} | {c['best_sampled_cost'] or '-'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
