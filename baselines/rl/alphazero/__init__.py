"""AlphaZero for the elimination game: Gumbel MuZero search (mctx) over the true JAX dynamics.

The setup follows the paper's AlphaZero (``docs/rl.md`` §P2) with its training-code bugs fixed
(``docs/rl.md`` §P8). One module per part, in the order data flows:

* :mod:`.config`: :class:`AZConfig`, the hyper-parameters (plain Python);
* :mod:`.features`: observation -> network inputs (:func:`vertex_features`, pure JAX);
* :mod:`.network`: :class:`AZNet`, the equinox vertex-token graph transformer, and
  :func:`init_params`;
* :mod:`.learner`: value transforms, the replay buffer, the loss and the optax update;
* :mod:`.loop`: search, self-play, one compiled and data-parallel iteration, the
  :class:`AlphaZero` learner with its checkpoints, and :func:`train`.

Imports jax, mctx, equinox and optax, which only this package imports; never imported by
``crosscountry_gym`` or ``crosscountry_gym.baselines``.
"""

from .config import AZConfig
from .features import NUM_FEATURES, vertex_features
from .learner import Buffer, inverse_value_transform, value_transform
from .loop import AlphaZero, TrainState, moves_per_second, train
from .network import AZNet, init_params

__all__ = [
    "AZConfig",
    "AZNet",
    "AlphaZero",
    "train",
    "value_transform",
    "inverse_value_transform",
    "vertex_features",
    "NUM_FEATURES",
    "init_params",
    "moves_per_second",
    "Buffer",
    "TrainState",
]
