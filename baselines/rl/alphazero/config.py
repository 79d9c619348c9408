"""The hyper-parameters of the AlphaZero baseline (:class:`AZConfig`), checked on construction.

Paper values (``docs/rl.md`` §P2) where a CPU budget allows; the defaults that differ (network
width and depth, batch, updates per iteration, buffer, Q-transform scale) are sized for a shared
2-core CPU and listed with their reasons in ``docs/rl.md``, *Hyper-parameters and where they
differ from the paper*. Plain Python: importing this module needs none of the JAX extras.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["AZConfig", "VALUE_TRANSFORMS"]

VALUE_TRANSFORMS = ("r2d2", "symlog")
"""The value-target transforms (``docs/rl.md`` §P1.1): R2D2's h(x) and symlog."""

_POSITIVE_INTS = (
    "num_envs", "num_simulations", "max_num_considered_actions", "d_model", "num_layers",
    "num_heads", "ff_dim", "decay_steps", "batch_size", "updates_per_iteration",
    "buffer_iterations",
)
_POSITIVE_FLOATS = ("learning_rate", "grad_clip", "value_scale", "maxvisit_init")


@dataclasses.dataclass(frozen=True)
class AZConfig:
    """AlphaZero hyper-parameters (search, network, learner, replay); see the module docstring.

    Hashable, so that a compiled iteration can be cached per configuration.
    """

    # search (mctx.gumbel_muzero_policy)
    num_envs: int = 16
    num_simulations: int = 50
    max_num_considered_actions: int = 5
    gumbel_scale: float = 1.0
    value_scale: float = 0.1
    maxvisit_init: float = 50.0
    # network
    d_model: int = 32
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int = 64
    # learner
    learning_rate: float = 1e-3
    decay_steps: int = 5000
    grad_clip: float = 0.5
    weight_decay: float = 0.0
    value_coef: float = 10.0
    value_transform: str = "r2d2"
    batch_size: int = 512
    updates_per_iteration: int = 16
    # replay
    buffer_iterations: int = 4

    def __post_init__(self) -> None:
        for name in _POSITIVE_INTS:
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"AZConfig.{name} must be a positive int, got {val!r}")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of num_heads "
                             f"({self.num_heads})")
        if self.value_transform not in VALUE_TRANSFORMS:
            raise ValueError(f"value_transform must be 'r2d2' or 'symlog', got "
                             f"{self.value_transform!r}")
        for name in _POSITIVE_FLOATS:
            if not getattr(self, name) > 0:
                raise ValueError(f"AZConfig.{name} must be > 0, got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
