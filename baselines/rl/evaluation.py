"""Play evaluation episodes of any policy on any env of this package and summarise them.

Used by the unmasked-algorithm test and benchmark (``docs/rl.md``, *Unmasked algorithms*):
a Stable-Baselines3 model trained with plain SB3 calls on ``gym.make("CrossCountry/<Task>-v0")``
is played through its own ``predict``; this module only counts how the episodes ended.
Light: NumPy only (the policy is any callable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EpisodeResult", "EvaluationSummary", "play_episodes"]


@dataclass(frozen=True)
class EpisodeResult:
    """How one episode ended: ``terminated`` / ``truncated`` as the env reported them,
    ``invalid`` (an illegal action ended it), ``complete`` (every non-output vertex eliminated:
    terminated without an illegal action), ``cost`` (the env's ``info["cost"]``), ``order``
    (vertex ids) and ``steps``."""

    terminated: bool
    truncated: bool
    invalid: bool
    cost: int
    order: tuple[int, ...]
    steps: int

    @property
    def complete(self) -> bool:
        return self.terminated and not self.invalid


@dataclass(frozen=True)
class EvaluationSummary:
    """Episodes of one evaluation and their counts (:func:`play_episodes`)."""

    episodes: list[EpisodeResult] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.episodes)

    @property
    def terminated(self) -> int:
        return sum(e.terminated for e in self.episodes)

    @property
    def truncated(self) -> int:
        return sum(e.truncated for e in self.episodes)

    @property
    def complete(self) -> int:
        return sum(e.complete for e in self.episodes)

    @property
    def all_terminated(self) -> bool:
        """Every episode ended with ``terminated=True`` (none was cut by the time limit)."""
        return self.n > 0 and self.terminated == self.n

    def best_complete_cost(self) -> int | None:
        costs = [e.cost for e in self.episodes if e.complete]
        return min(costs) if costs else None

    def as_dict(self) -> dict[str, Any]:
        costs = [e.cost for e in self.episodes if e.complete]
        return {"episodes": self.n, "terminated": self.terminated, "truncated": self.truncated,
                "complete": self.complete, "invalid": sum(e.invalid for e in self.episodes),
                "best_complete_cost": min(costs) if costs else None,
                "mean_complete_cost": float(np.mean(costs)) if costs else None,
                "mean_steps": float(np.mean([e.steps for e in self.episodes])) if self.n else 0.0}


def play_episodes(predict: Callable[[Any], Any], env: Any, n: int, *, seed: int = 0,
                  max_steps: int = 100_000) -> EvaluationSummary:
    """Play ``n`` episodes of ``env`` (a Gymnasium env, wrappers included) with
    ``predict(obs) -> action`` (e.g. ``lambda o: model.predict(o, deterministic=True)[0]``).

    Episode i is reset with ``seed + i``. An episode runs until the env reports ``terminated``
    or ``truncated``; ``max_steps`` only guards against an env without a time limit (such an
    episode counts as truncated). ``info["invalid_action"]`` of the last step tells whether an
    illegal action ended it; ``info["cost"]`` and ``info["order"]`` are read from the same
    step.
    """
    out: list[EpisodeResult] = []
    for i in range(n):
        obs, info = env.reset(seed=seed + i)
        terminated = truncated = False
        steps = 0
        while not (terminated or truncated):
            action = predict(obs)
            obs, _, terminated, truncated, info = env.step(_scalar(action))
            steps += 1
            if steps >= max_steps and not (terminated or truncated):
                truncated = True
        out.append(EpisodeResult(
            terminated=bool(terminated), truncated=bool(truncated and not terminated),
            invalid=bool(info.get("invalid_action", False)), cost=int(info.get("cost", 0)),
            order=tuple(int(v) for v in info.get("order", ())), steps=steps,
        ))
    return EvaluationSummary(out)


def _scalar(action: Any) -> Any:
    """An SB3 ``predict`` action (a 0-d or 1-element array) as a Python int."""
    arr = np.asarray(action)
    return int(arr.reshape(-1)[0]) if arr.size == 1 else action
