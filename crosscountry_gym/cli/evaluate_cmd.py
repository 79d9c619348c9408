"""``crosscountry-gym evaluate CHECKPOINT --task T``: play a trained policy on any task.

CHECKPOINT is a run directory of ``crosscountry-gym train`` (or its ``checkpoint/`` folder, or
a ``ppo.zip``). The policy plays its greedy order on every ``--task`` (repeatable), also on
tasks it was not trained on (``docs/rl.md``, *Portable policies*): PPO takes the arg-max over
the legal vertices at every step; AlphaZero runs its search with ``--simulations N`` per move
(default: the run's own setting) and plays the most visited move. The cost of that order is
printed next to forward, reverse and Markowitz (:func:`crosscountry_gym.orders.reference_costs`),
one line per task, or as one JSON list with ``--json``. ``--submit`` turns every order into a
leaderboard entry (track "learned"), verified and stored like ``crosscountry-gym submit``
(``docs/leaderboard.md``). Exit status 2 for usage errors (no checkpoint, unknown task), 1 when a
submission is rejected.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from crosscountry_gym.cli import CLIError, positive_int
from crosscountry_gym.sparsity import DEFAULT_MODEL, MODELS


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="play a trained PPO or AlphaZero policy on any task and compare its cost",
        description="Play the greedy order of a trained policy (a `crosscountry-gym train` run "
        "directory, its checkpoint/ folder or a ppo.zip) on each --task, print its cost next "
        "to forward, reverse and Markowitz, and optionally submit it to the leaderboard.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="run directory, checkpoint directory or ppo.zip")
    p.add_argument("--task", action="append", required=True,
                   help="task to play (repeatable); any task, not only the training one")
    p.add_argument("--cost-model", choices=MODELS, default=DEFAULT_MODEL,
                   help=f"cost model of the reported costs (default {DEFAULT_MODEL})")
    p.add_argument("--simulations", type=positive_int, default=None,
                   help="alphazero: search simulations per move (default: the run's setting)")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    p.add_argument("--submit", action="store_true",
                   help="submit every order to the leaderboard (track 'learned')")
    p.add_argument("--leaderboard", metavar="DIR", default="leaderboard",
                   help="leaderboard folder for --submit (default: ./leaderboard)")
    p.add_argument("--skip-executor", action="store_true",
                   help="--submit: do not run the executor check")
    p.set_defaults(func=run)


def find_checkpoint(path: str) -> tuple[str, Path]:
    """``(agent, directory or file)`` of a checkpoint: ``("ppo", .../ppo.zip)`` or
    ``("alphazero", directory holding alphazero.npz)``. ``CLIError`` when there is none."""
    p = Path(path)
    if p.is_file() and p.suffix == ".zip":
        return "ppo", p
    for d in (p / "checkpoint", p):
        if (d / "ppo.zip").is_file():
            return "ppo", d / "ppo.zip"
        if (d / "alphazero.npz").is_file():
            return "alphazero", d
    raise CLIError(f"{path}: no checkpoint found (expected a run directory, its checkpoint/ "
                   "folder or a ppo.zip)")


def _recorder(ckpt: Path) -> dict[str, Any]:
    """The run's ``recorder.json`` next to the checkpoint (empty if absent)."""
    d = ckpt.parent if ckpt.is_file() else ckpt
    f = d / "recorder.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def run(args: argparse.Namespace) -> int:
    from crosscountry_gym import tasks
    from crosscountry_gym.orders import reference_costs

    agent, ckpt = find_checkpoint(args.checkpoint)
    if args.simulations is not None and agent != "alphazero":
        raise ValueError("--simulations applies to alphazero checkpoints only")
    names = [tasks.resolve_graph(t)[0] for t in args.task]  # unknown tasks raise
    rec = _recorder(ckpt)
    play = _player(agent, ckpt, args.simulations, args.cost_model)
    rows: list[dict[str, Any]] = []
    for name in names:
        graph = tasks.load(name).graph
        order, cost = play(name)
        ref = reference_costs(graph, args.cost_model)
        rows.append({"task": name, "agent": agent, "cost_model": args.cost_model,
                     "cost": cost, "forward": ref.forward, "reverse": ref.reverse,
                     "markowitz": ref.markowitz, "trained_on": rec.get("task"),
                     **({"simulations": play.simulations} if agent == "alphazero" else {}),
                     "order": order})
    if args.submit:
        for row in rows:
            row["submitted"] = _submit(row, rec, args)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            sims = f", {r['simulations']} simulations" if agent == "alphazero" else ""
            print(f"{r['task']}: {agent}{sims} {r['cost']} (forward {r['forward']}, reverse "
                  f"{r['reverse']}, Markowitz {r['markowitz']}; {args.cost_model})")
            if args.submit:
                print(f"  {r['submitted']}")
    return 0


class _Player:
    """``player(task) -> (order, cost)`` for a checkpoint; ``simulations`` for AlphaZero."""

    def __init__(self, agent: str, ckpt: Path, simulations: int | None, cost_model: str):
        self.agent, self.ckpt, self.cost_model = agent, ckpt, cost_model
        self.simulations = simulations
        if agent == "alphazero":
            from crosscountry_gym.baselines.rl.alphazero import evaluate as az_eval

            self._az = az_eval.load_network(ckpt)
            if self.simulations is None:
                self.simulations = self._az.config.num_simulations

    def __call__(self, task: str) -> tuple[list[int], int]:
        if self.agent == "ppo":
            from crosscountry_gym.baselines.rl import sb3_agent as S

            policy = S.load_policy(self.ckpt, S.observation_space_of(task))
            return S.greedy_order(policy, task, self.cost_model)
        from crosscountry_gym.baselines.rl.alphazero import evaluate as az_eval

        return az_eval.search_order(self._az, task, simulations=self.simulations,
                                    cost_model=self.cost_model)


def _player(agent: str, ckpt: Path, simulations: int | None, cost_model: str) -> _Player:
    try:
        return _Player(agent, ckpt, simulations, cost_model)
    except (KeyError, ValueError) as err:
        raise CLIError(f"{ckpt}: not a readable {agent} checkpoint ({err})") from None


def _submit(row: dict[str, Any], rec: dict[str, Any], args: argparse.Namespace) -> str:
    """Verify and store one evaluated order; returns the one-line outcome."""
    from crosscountry_gym.baselines.rl.training import CODE_URL, policy_submission
    from crosscountry_gym.leaderboard import (
        StoreError,
        SubmissionError,
        parse_submission,
        submit_submission,
    )

    agent = row["agent"]
    method = ("MaskablePPO (sb3-contrib), greedy policy" if agent == "ppo" else
              f"AlphaZero (mctx Gumbel MuZero), {row['simulations']} simulations per move")
    steps = rec.get("env_steps")
    budget = (f"{rec['elapsed_s'] / 60:.1f} min training, {steps} env steps"
              if "elapsed_s" in rec else "unknown")
    sub = policy_submission(
        row["task"], row["order"], cost_model=row["cost_model"], method=method,
        code=f"{CODE_URL}/{'sb3_agent.py' if agent == 'ppo' else 'alphazero/'}",
        seeds=[rec["seed"]] if "seed" in rec else [], compute_budget=budget,
        notes=f"crosscountry-gym evaluate: the policy's order on {row['task']}; trained on "
        f"{row['trained_on'] or 'unknown'}",
    )
    try:
        entry, path = submit_submission(parse_submission(sub), args.leaderboard,
                                        skip_executor=args.skip_executor)
    except (SubmissionError, StoreError) as err:
        raise CLIError(f"{row['task']}: rejected: {' '.join(str(err).split())}", 1) from None
    return (f"accepted: {entry.task}, model {entry.cost_model}, verified cost {entry.cost}; "
            f"executor {entry.executor['status']}; stored as {Path(path).name}")
