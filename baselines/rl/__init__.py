"""Reinforcement-learning baselines (installed as ``crosscountry_gym.baselines.rl``).

* :mod:`.training` — what both agents share: run bookkeeping (running best cost *and* its
  order, replayed through the reference cost model), resumable checkpoints, the metrics CSV, the
  learning-curve PNG and the leaderboard-ready best-order JSON. Light: NumPy and matplotlib only.
* :mod:`.sb3_agent` — sb3-contrib ``MaskablePPO`` on ``gym.make("CrossCountry/<Task>-v0")`` with a
  graph encoder in torch (imports torch / stable-baselines3).
* :mod:`.alphazero` — Gumbel-MuZero AlphaZero in JAX with ``mctx``, ``equinox`` and ``optax``;
  the environment's pure-JAX dynamics are the search model. A package: ``config``,
  ``features`` (observation -> inputs), ``network``, ``learner`` (loss, update, replay) and
  ``loop`` (self-play, training loop, checkpoints).

The heavy modules are never imported from here: ``import crosscountry_gym.baselines.rl`` stays
cheap and works without the optional extras.
"""

from .training import RunRecorder, TrainResult, baseline_costs, random_order_costs

__all__ = ["RunRecorder", "TrainResult", "baseline_costs", "random_order_costs"]
