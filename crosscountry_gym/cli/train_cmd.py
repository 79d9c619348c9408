"""``crosscountry-gym train {ppo,alphazero}``: train an RL baseline on a task within a budget.

Writes into ``--out`` (default ``runs/<agent>_<task>_s<seed>``): ``metrics.csv``,
``learning_curve.png``, ``best_order.json`` (leaderboard-ready, track "learned") and
``checkpoint/``; ``--resume`` continues that checkpoint until the total run time reaches
``--budget`` (counted from the start of the command, imports included; never overshot).
PPO trains a portable policy on several graphs with ``--task`` given several times (each
episode draws one of them) or with ``--random SPEC`` (a fresh random graph per episode, e.g.
``--random num_vertices=10-30,num_inputs=4``); such a run writes no ``best_order.json``:
``crosscountry-gym evaluate RUN --task T`` plays its policy on any task (``docs/rl.md``).
A checkpoint (with ``best_order.json``) is written after the first iteration and then every
``--checkpoint-every`` minutes. Ctrl-C or SIGTERM stops the run with a final checkpoint and
``best_order.json``, prints the summary and one line on stderr, and exits with 128 + the signal
number; ``--resume`` continues it. Heavy imports (torch, JAX agents) happen only when the
command runs, so ``crosscountry-gym --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from crosscountry_gym.cli import CLIError
from crosscountry_gym.cli import positive_float as _positive_float
from crosscountry_gym.cli import positive_int as _positive_int
from crosscountry_gym.sparsity import DEFAULT_MODEL, MODELS

AGENTS = ("ppo", "alphazero")


def _seed(text: str) -> int:
    try:
        val = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= val < 2**31:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2^31), got {text}")
    return val


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an RL baseline (MaskablePPO or AlphaZero) on a task",
        description="Train MaskablePPO (sb3-contrib) or AlphaZero (mctx) on a task for a "
        "wall-time budget; writes metrics.csv, learning_curve.png, best_order.json and a "
        "resumable checkpoint.",
    )
    p.add_argument("agent", choices=AGENTS, help="which agent to train")
    p.add_argument("--task", action="append", default=None,
                   help="task name or alias (see `crosscountry-gym tasks`); ppo: repeat it to "
                   "train one policy on several tasks")
    p.add_argument("--random", default=None, metavar="SPEC",
                   help="ppo: train on random graphs, SPEC = comma-separated RandomGraphSpec "
                   "fields, e.g. num_vertices=10-30,num_inputs=4,tensor=true ('default' for the "
                   "defaults)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    p.add_argument("--budget", type=_positive_float, required=True, metavar="MINUTES",
                   help="total wall-time budget of the run in minutes, from the start of the "
                   "command, resumed sessions included (a finite number > 0; not overshot)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="run directory (default runs/<agent>_<task>_s<seed>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the checkpoint in --out until the budget is used")
    p.add_argument("--cost-model", choices=MODELS, default=DEFAULT_MODEL,
                   help=f"cost model of the rewards and the reported cost (default "
                   f"{DEFAULT_MODEL})")
    p.add_argument("--num-envs", type=_positive_int, default=None,
                   help="parallel episodes per iteration (default: ppo 8, alphazero 16)")
    p.add_argument("--simulations", type=_positive_int, default=None,
                   help="alphazero: MCTS simulations per move (default 50)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override one field of the agent's config (AZConfig / PPOConfig), e.g. "
                   "--set updates_per_iteration=8; repeatable")
    p.add_argument("--checkpoint-every", type=_positive_float, default=2.0, metavar="MINUTES",
                   help="checkpoint interval (default 2 minutes; the first checkpoint comes "
                   "after the first iteration, the last on Ctrl-C / SIGTERM or at the end)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()  # the budget counts from here (imports, set-up, compile)
    from crosscountry_gym import tasks

    if args.simulations is not None and args.agent != "alphazero":
        raise ValueError("--simulations applies to alphazero only")
    names = [tasks.resolve_graph(t)[0] for t in args.task or []]  # canonical; unknown raise
    if args.random is not None and names:
        raise ValueError("give either --task or --random, not both")
    if args.random is None and not names:
        raise ValueError("give --task (or, for ppo, --random SPEC)")
    if args.agent == "alphazero" and (args.random is not None or len(names) > 1):
        raise ValueError("alphazero trains on one task: give one --task")
    task: Any
    if args.random is not None:
        task, label = parse_random_spec(args.random), "random"
    elif len(names) > 1:
        task, label = names, "+".join(names)
    else:
        task = label = names[0]
    out = args.out or f"runs/{args.agent}_{label}_s{args.seed}"
    if Path(out).exists() and not Path(out).is_dir():
        raise CLIError(f"--out {out}: exists and is not a directory")
    budget_s = args.budget * 60.0
    overrides: dict[str, Any] = {}
    if args.num_envs is not None:
        overrides["num_envs"] = args.num_envs
    if args.agent == "alphazero":
        from crosscountry_gym.baselines.rl import alphazero as agent

        if args.simulations is not None:
            overrides["num_simulations"] = args.simulations
        config_cls = agent.AZConfig
    else:
        from crosscountry_gym.baselines.rl import sb3_agent as agent

        config_cls = agent.PPOConfig
    overrides |= parse_overrides(config_cls, args.overrides)
    config = config_cls(**overrides)

    bar = None if args.no_progress else _progress_bar(budget_s, args.agent, label)

    def on_log(rec, row) -> None:
        if bar is None:
            return
        bar.n = min(rec.elapsed_s, budget_s)
        bar.set_postfix(best=rec.best_cost, eps=f"{row['episodes_per_s']:.2f}/s",
                        steps=rec.env_steps, refresh=False)
        bar.refresh()

    from crosscountry_gym.baselines.rl.training import RunInterrupted

    interrupted = None
    try:
        try:
            result = agent.train(
                task, seed=args.seed, budget_s=budget_s, out_dir=out, resume=args.resume,
                config=config, cost_model=args.cost_model,
                checkpoint_every_s=args.checkpoint_every * 60.0, on_log=on_log,
                clock_start=started,
            )
        except RunInterrupted as stop:
            result, interrupted = stop.result, stop.signal
        if bar is not None:  # final state, also when the budget ended before the first log
            bar.n = min(result.wall_s, budget_s)
            bar.set_postfix(best=result.best_cost, episodes=result.episodes,
                            steps=result.env_steps, refresh=False)
    finally:
        if bar is not None:
            bar.close()
    summary = {k: v for k, v in result.as_dict().items() if k != "best_order"}
    print(json.dumps(summary, indent=1), file=sys.stdout)
    if interrupted is not None:
        best = ("no episode had finished, so there is no best_order.json"
                if result.best_cost is None else
                f"best_order.json (best cost {result.best_cost})")
        print(f"crosscountry-gym train: interrupted by {interrupted}: saved the checkpoint and "
              f"{best} in {out}; continue with --resume", file=sys.stderr)
        return 128 + int(getattr(signal, interrupted))
    return 0


def parse_random_spec(text: str) -> Any:
    """``--random`` text -> a :class:`RandomGraphSpec`: ``default``, or comma-separated
    ``KEY=VALUE`` fields (``num_vertices=20`` or a range ``num_vertices=10-30``,
    ``tensor=true``, ``degree_probs=0.3/0.7``, ``dims=2/3``). Raises ValueError naming the bad
    item."""
    import dataclasses

    from crosscountry_gym.envs.random_graphs import RandomGraphSpec

    text = text.strip()
    if text in ("", "default"):
        return RandomGraphSpec()
    fields = {f.name for f in dataclasses.fields(RandomGraphSpec)}
    default = RandomGraphSpec()
    kw: dict[str, Any] = {}
    for item in text.split(","):
        key, sep, val = item.partition("=")
        key, val = key.strip().replace("-", "_"), val.strip()
        if not sep:
            raise ValueError(f"--random {item!r}: expected KEY=VALUE")
        if key not in fields:
            raise ValueError(f"--random {item!r}: RandomGraphSpec has no field {key!r}; "
                             f"fields: {', '.join(sorted(fields))}")
        try:
            if key == "num_vertices" and "-" in val:
                lo, hi = val.split("-", 1)
                kw[key] = (int(lo), int(hi))
            elif key == "tensor":
                if val.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                kw[key] = val.lower() in ("true", "1")
            elif key in ("degree_probs", "dims"):
                kind = float if key == "degree_probs" else int
                kw[key] = tuple(kind(x) for x in val.split("/"))
            else:
                kw[key] = type(getattr(default, key))(val)
        except ValueError:
            raise ValueError(f"--random {item!r}: not a valid value for {key}") from None
    return RandomGraphSpec(**kw)


def parse_overrides(config_cls: Any, items: list[str]) -> dict[str, Any]:
    """``["key=value", ...]`` -> typed fields of the dataclass ``config_cls``.

    Raises ValueError naming the bad item: no ``=``, an unknown field (the known ones are
    listed) or a value that does not parse as the field's type.
    """
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        if key not in fields:
            raise ValueError(f"--set {item!r}: {config_cls.__name__} has no field {key!r}; "
                             f"fields: {', '.join(sorted(fields))}")
        kind = type(getattr(config_cls(), key))
        try:
            if kind is bool:
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                value: Any = text.lower() in ("true", "1")
            else:
                value = kind(text)
        except ValueError:
            raise ValueError(f"--set {item!r}: {key} expects a value of type {kind.__name__}") from None
        out[key] = value
    return out


def _progress_bar(total_s: float, agent: str, task: str):
    from tqdm import tqdm

    return tqdm(total=round(total_s), desc=f"{agent} {task}", unit="s",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s "
                "[{elapsed}<{remaining}{postfix}]")
