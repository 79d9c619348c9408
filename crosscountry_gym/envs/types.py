"""What every environment of the game shares: the observation layout, the option checks, the
invalid-action modes and their error. Declared once here and used by the single Gymnasium env,
the native vector env and the functional JAX env (``docs/envs.md``).

Observation (a dict, zero-padded to ``R = max_inputs + max_vertices`` rows and
``V = max_vertices`` columns):

* ``edge_types`` int8 [R, V]: type code of the edge row -> vertex (0 = none; codes -10..11 of
  ``docs/cost_model.md`` section 2); rows are inputs 0..max_inputs-1, then vertices;
* ``source_shapes`` int32 [R, 2]: the 2-D shape of every row's value (0 = padding);
* ``vertex_shapes`` int32 [V, 2]: the 2-D shape of every vertex (0 = padding);
* ``vertex_mask`` int8 [V]: 1 = a real vertex not eliminated yet (outputs included);
* ``output_mask`` int8 [V]: 1 = an output vertex.

Legal actions are ``vertex_mask & ~output_mask``; action ``a`` eliminates vertex ``a + 1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Graph

__all__ = [
    "INVALID_ACTION_MODES",
    "InvalidActionError",
    "OBSERVATION_KEYS",
    "observation_layout",
    "observation_space",
    "check_reward_scale",
    "check_invalid_penalty",
    "check_invalid_action",
    "check_padding",
    "load_graph",
]

INVALID_ACTION_MODES = ("mask", "penalty", "raise")
"""How an illegal action is handled (``docs/envs.md``): "mask" (state unchanged, a small
penalty, the episode goes on), "penalty" (a penalty no finished episode beats, the episode
ends), "raise" (:class:`InvalidActionError`)."""

SHAPE_MAX = int(np.iinfo(np.int32).max)


class InvalidActionError(ValueError):
    """An action that cannot be taken in the current state (``invalid_action="raise"``)."""


# (name, dtype, low, high, shape of (R, V))
_FIELDS: tuple[tuple[str, Any, int, int, Any], ...] = (
    ("edge_types", np.int8, -10, 11, lambda r, v: (r, v)),
    ("source_shapes", np.int32, 0, SHAPE_MAX, lambda r, v: (r, 2)),
    ("vertex_shapes", np.int32, 0, SHAPE_MAX, lambda r, v: (v, 2)),
    ("vertex_mask", np.int8, 0, 1, lambda r, v: (v,)),
    ("output_mask", np.int8, 0, 1, lambda r, v: (v,)),
)
OBSERVATION_KEYS: tuple[str, ...] = tuple(f[0] for f in _FIELDS)


def observation_layout(max_inputs: int, max_vertices: int) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{key: (shape, dtype)}`` of the observation padded to ``(max_inputs, max_vertices)``."""
    r, v = max_inputs + max_vertices, max_vertices
    return {name: (shape(r, v), np.dtype(dtype)) for name, dtype, _, _, shape in _FIELDS}


def observation_space(max_inputs: int, max_vertices: int):
    """The ``gymnasium.spaces.Dict`` of :func:`observation_layout` (bounds included)."""
    from gymnasium import spaces

    r, v = max_inputs + max_vertices, max_vertices
    return spaces.Dict(
        {name: spaces.Box(lo, hi, shape(r, v), dtype) for name, dtype, lo, hi, shape in _FIELDS}
    )


# -- option checks shared by every env ----------------------------------------------------------


def check_reward_scale(reward_scale: Any) -> float:
    if isinstance(reward_scale, bool) or not isinstance(reward_scale, int | float | np.floating) or not (
        np.isfinite(reward_scale) and reward_scale > 0
    ):
        raise ValueError(f"reward_scale must be a positive finite number, got {reward_scale!r}")
    return float(reward_scale)


def check_invalid_penalty(invalid_penalty: Any) -> float | None:
    if invalid_penalty is None:
        return None
    if isinstance(invalid_penalty, bool) or not isinstance(
        invalid_penalty, int | float | np.integer | np.floating
    ) or not (np.isfinite(invalid_penalty) and invalid_penalty >= 0):
        raise ValueError(f"invalid_penalty must be a finite number >= 0, got {invalid_penalty!r}")
    return float(invalid_penalty)


def check_invalid_action(invalid_action: Any, modes: tuple[str, ...] = INVALID_ACTION_MODES) -> str:
    if invalid_action not in modes:
        raise ValueError(f"unknown invalid_action {invalid_action!r}; use one of {modes}")
    return invalid_action


def check_padding(max_inputs: Any, max_vertices: Any) -> tuple[int, int]:
    for name, val, least in (("max_inputs", max_inputs, 0), ("max_vertices", max_vertices, 1)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < least:
            raise ValueError(f"{name} must be an int >= {least}, got {val!r}")
    return int(max_inputs), int(max_vertices)


def load_graph(graph: Graph | str) -> Graph:
    """A :class:`Graph` from a graph or a task name (``crosscountry_gym.tasks.resolve_graph``);
    ``ValueError`` otherwise."""
    from crosscountry_gym import tasks

    try:
        return tasks.resolve_graph(graph)[1]
    except TypeError as err:
        raise ValueError(str(err)) from None
