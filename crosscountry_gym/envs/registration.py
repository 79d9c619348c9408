"""Gymnasium ids: ``CrossCountry/<Task>-v0`` for every task and ``CrossCountry/Random-v0``.

Called by ``import crosscountry_gym``. Entry points are strings, so registering imports
neither the envs nor JAX. Every id has a ``vector_entry_point``::

    gym.make("CrossCountry/RoeFlux_1d-v0", cost_model="alphagrad")
    gym.make_vec("CrossCountry/RoeFlux_1d-v0", num_envs=1024,
                 vectorization_mode="vector_entry_point")
    gym.make("CrossCountry/Random-v0", num_vertices=50, tensor=True)
"""

from __future__ import annotations

import gymnasium as gym

__all__ = ["register_all", "env_ids", "NAMESPACE"]

NAMESPACE = "CrossCountry"
_ENTRY = "crosscountry_gym.envs.gym_env:CrossCountryEnv"
_RANDOM_ENTRY = "crosscountry_gym.envs.gym_env:RandomCrossCountryEnv"
_VECTOR_ENTRY = "crosscountry_gym.envs.vector_env:CrossCountryVectorEnv"


def _task_names() -> list[str]:
    from .. import tasks

    return list(tasks.names())


def env_ids() -> list[str]:
    """All registered ids: one per task, then ``CrossCountry/Random-v0``."""
    return [f"{NAMESPACE}/{n}-v0" for n in _task_names()] + [f"{NAMESPACE}/Random-v0"]


def register_all() -> None:
    """Register every id (idempotent: ids already registered are left alone)."""
    for name in _task_names():
        _register(f"{NAMESPACE}/{name}-v0", _ENTRY, {"graph": name})
    _register(f"{NAMESPACE}/Random-v0", _RANDOM_ENTRY, {})


def _register(env_id: str, entry: str, kwargs: dict) -> None:
    if env_id in gym.registry:
        return
    gym.register(
        id=env_id,
        entry_point=entry,
        vector_entry_point=_VECTOR_ENTRY,
        kwargs=kwargs,
        disable_env_checker=False,
    )
