"""Gymnasium environments of the elimination game (layer 4 of the design card).

* :mod:`.gym_env`: ``CrossCountryEnv`` (one graph or task) and ``RandomCrossCountryEnv``;
* :mod:`.vector_env`: ``CrossCountryVectorEnv``, the native ``gymnasium.vector.VectorEnv``;
* :mod:`.sb3`: ``SB3VecEnv``, the native vector env as a Stable-Baselines3 ``VecEnv`` (imports
  stable-baselines3, so only on use);
* :mod:`.wrappers`: ``LegalActionWrapper`` (action k = the k-th legal vertex, for DQN & co.);
* :mod:`.jax_env`: the pure functional JAX env (``reset``, ``step``, ``step_env``,
  ``observation_space``, ``action_space``);
* :mod:`.types`: the observation layouts and the invalid-action modes, declared once;
* :mod:`.random_graphs`: the seeded random-DAG family (``RandomGraphSpec``, ``random_graph``);
* :mod:`.registration`: the ``CrossCountry/<Task>-v0`` and ``CrossCountry/Random-v0`` ids.

Names are re-exported lazily, so ``import crosscountry_gym`` (which registers the ids) imports
neither JAX nor stable-baselines3.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CrossCountryEnv": "gym_env",
    "RandomCrossCountryEnv": "gym_env",
    "InvalidActionError": "gym_env",
    "CrossCountryVectorEnv": "vector_env",
    "SB3VecEnv": "sb3",
    "LegalActionWrapper": "wrappers",
    "RandomGraphSpec": "random_graphs",
    "random_graph": "random_graphs",
    "jax_env": None,
    "env_ids": "registration",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'crosscountry_gym.envs' has no attribute {name!r}")
    module = _EXPORTS[name]
    if module is None:
        return importlib.import_module(f"{__name__}.{name}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
