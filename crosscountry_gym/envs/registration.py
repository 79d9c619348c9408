"""Gymnasium ids: ``CrossCountry/<Task>-v0`` for every task and ``CrossCountry/Random-v0``.

Called by ``import crosscountry_gym``. Entry points are strings, so registering imports
neither the envs nor JAX. Every id has a ``vector_entry_point``, the native
:class:`~crosscountry_gym.envs.vector_env.CrossCountryVectorEnv` (autoreset
``AutoresetMode.SAME_STEP``), which ``gym.make_vec(id, n)`` picks by default;
``vectorization_mode="sync"`` gives ``SyncVectorEnv`` over ``gym.make`` envs (autoreset
``NEXT_STEP``)::

    gym.make("CrossCountry/RoeFlux_1d-v0", cost_model="alphagrad")
    gym.make_vec("CrossCountry/RoeFlux_1d-v0", num_envs=1024,
                 vectorization_mode="vector_entry_point")
    gym.make("CrossCountry/Random-v0", num_vertices=50, tensor=True)

Time limits (``docs/envs.md``): a task id registers ``max_episode_steps = 2 * num_vertices``.
An episode without illegal moves takes ``num_intermediates < num_vertices`` steps, and in the
"terminate", "penalty" and "raise" modes the first illegal move ends it, so the limit only
cuts off a "mask"-mode agent that keeps repeating illegal moves, after at least as many illegal
moves as there are legal ones. ``Random-v0`` registers none: its size comes from the options, so
the env applies the same rule itself (``max_episode_steps="auto"`` = 2 * max_vertices).
"""

from __future__ import annotations

import gymnasium as gym

__all__ = ["register_all", "env_ids", "max_episode_steps", "NAMESPACE"]

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


def max_episode_steps(num_vertices: int) -> int:
    """The registered time limit of a task with ``num_vertices`` vertices (module docstring)."""
    return 2 * num_vertices


def register_all() -> None:
    """Register every id (idempotent: ids already registered are left alone)."""
    from .. import tasks

    for name in _task_names():
        env_id = f"{NAMESPACE}/{name}-v0"
        if env_id not in gym.registry:
            limit = max_episode_steps(tasks.load(name).graph.num_vertices)
            _register(env_id, _ENTRY, {"graph": name}, limit)
    _register(f"{NAMESPACE}/Random-v0", _RANDOM_ENTRY, {}, None)


def _register(env_id: str, entry: str, kwargs: dict, limit: int | None) -> None:
    if env_id in gym.registry:
        return
    gym.register(
        id=env_id,
        entry_point=entry,
        vector_entry_point=_VECTOR_ENTRY,
        kwargs=kwargs,
        max_episode_steps=limit,
        disable_env_checker=False,
    )
