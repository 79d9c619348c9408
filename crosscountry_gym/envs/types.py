"""What every environment of the game shares: the observation layouts, the option checks, the
invalid-action modes and their error. Declared once here and used by the single Gymnasium env,
the native vector env and the functional JAX env (``docs/envs.md``).

Two observation modes (option ``observation_mode``), both dicts of fixed-size, zero-padded
arrays, with ``R = max_inputs + max_vertices`` rows and ``V = max_vertices`` columns. Rows (the
*nodes* of the graph mode) are inputs 0..max_inputs-1, then vertex k at row
``max_inputs + k - 1``; column ``k - 1`` is vertex k.

``"dense"`` (default):

* ``edge_types`` int8 [R, V]: type code of the edge row -> vertex (0 = none; codes -10..11 of
  ``docs/cost_model.md`` section 2);
* ``source_shapes`` int32 [R, 2]: the 2-D shape of every row's value (0 = padding);
* ``vertex_shapes`` int32 [V, 2]: the 2-D shape of every vertex (0 = padding);
* ``vertex_mask`` int8 [V]: 1 = a real vertex not eliminated yet (outputs included);
* ``output_mask`` int8 [V]: 1 = an output vertex.

``"graph"``: an edge list of ``E = max_edges`` slots instead of ``edge_types`` [R, V], plus the
same four node arrays. Slot j stands for one fixed (row, vertex) pair that can hold an edge
(:func:`graph_edge_slots`, :func:`ordered_edge_slots`, in row-major order of the dense layout;
slots beyond those are padding, zero in every array):

* ``senders`` int32 [E]: the slot's source row (node index 0..R-1);
* ``receivers`` int32 [E]: its target as a node index, ``max_inputs + k - 1`` for vertex k;
* ``edge_types`` int8 [E]: the type code of its edge now (0 = no edge now);
* ``edge_shapes`` int32 [E, 4]: the record ``(out d1, out d2, in d1, in d2)`` (target shape,
  source shape) an edge in the slot has;
* ``edge_mask`` int8 [E]: 1 = the slot holds an edge now (``edge_types != 0``).

``senders``, ``receivers`` and ``edge_shapes`` describe the slot, not the state: they stay the
same for the whole episode (for a fixed graph, for ever), and a message-passing network must
weight its messages by ``edge_mask``. ``E`` is the number of (row, vertex) pairs joined by a
path (:func:`crosscountry_gym.engine.max_edge_count`), so it grows with the edges the graph can
ever hold, not with ``R * V``.

Legal actions are ``vertex_mask & ~output_mask``; action ``a`` eliminates vertex ``a + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import cost_upper_bound, reachable_pairs
from ..graph import Graph

__all__ = [
    "INVALID_ACTION_MODES",
    "DEFAULT_INVALID_ACTION",
    "OBSERVATION_MODES",
    "InvalidActionError",
    "OBSERVATION_KEYS",
    "GRAPH_OBSERVATION_KEYS",
    "observation_layout",
    "observation_space",
    "graph_edge_slots",
    "ordered_edge_slots",
    "terminate_penalty",
    "episode_step_limit",
    "check_reward_scale",
    "check_invalid_penalty",
    "check_invalid_action",
    "check_observation_mode",
    "check_max_edges",
    "check_padding",
    "load_graph",
]

INVALID_ACTION_MODES = ("terminate", "mask", "penalty", "raise")
"""How an illegal action is handled (``docs/envs.md``): "terminate" (default: the episode ends
with ``terminated=True`` and a penalty of U + 1 multiplications, U =
:func:`crosscountry_gym.engine.cost_upper_bound`, so its return is below that of every finished
episode), "mask" (state unchanged, a small penalty, the episode goes on), "penalty" (the
graph's forward-mode cost, the episode ends with ``truncated=True``), "raise"
(:class:`InvalidActionError`)."""

DEFAULT_INVALID_ACTION = "terminate"

OBSERVATION_MODES = ("dense", "graph")
"""``observation_mode``: "dense" (default, ``edge_types`` [R, V]) or "graph" (edge list)."""

SHAPE_MAX = int(np.iinfo(np.int32).max)


class InvalidActionError(ValueError):
    """An action that cannot be taken in the current state (``invalid_action="raise"``)."""


# (name, dtype, low, high(r, v, e), shape(r, v, e)) per mode
_NODE_FIELDS: tuple[tuple[str, Any, int, Any, Any], ...] = (
    ("source_shapes", np.int32, 0, lambda r, v, e: SHAPE_MAX, lambda r, v, e: (r, 2)),
    ("vertex_shapes", np.int32, 0, lambda r, v, e: SHAPE_MAX, lambda r, v, e: (v, 2)),
    ("vertex_mask", np.int8, 0, lambda r, v, e: 1, lambda r, v, e: (v,)),
    ("output_mask", np.int8, 0, lambda r, v, e: 1, lambda r, v, e: (v,)),
)
_FIELDS: dict[str, tuple[tuple[str, Any, int, Any, Any], ...]] = {
    "dense": (
        ("edge_types", np.int8, -10, lambda r, v, e: 11, lambda r, v, e: (r, v)),
        *_NODE_FIELDS,
    ),
    "graph": (
        ("senders", np.int32, 0, lambda r, v, e: r - 1, lambda r, v, e: (e,)),
        ("receivers", np.int32, 0, lambda r, v, e: r - 1, lambda r, v, e: (e,)),
        ("edge_types", np.int8, -10, lambda r, v, e: 11, lambda r, v, e: (e,)),
        ("edge_shapes", np.int32, 0, lambda r, v, e: SHAPE_MAX, lambda r, v, e: (e, 4)),
        ("edge_mask", np.int8, 0, lambda r, v, e: 1, lambda r, v, e: (e,)),
        *_NODE_FIELDS,
    ),
}
OBSERVATION_KEYS: tuple[str, ...] = tuple(f[0] for f in _FIELDS["dense"])
GRAPH_OBSERVATION_KEYS: tuple[str, ...] = tuple(f[0] for f in _FIELDS["graph"])


def _sizes(max_inputs: int, max_vertices: int, mode: str, max_edges: int | None):
    check_observation_mode(mode)
    if mode == "graph" and (max_edges is None or max_edges < 1):
        raise ValueError(f"the graph observation needs max_edges >= 1, got {max_edges!r}")
    return max_inputs + max_vertices, max_vertices, (max_edges or 0)


def observation_layout(
    max_inputs: int, max_vertices: int, mode: str = "dense", max_edges: int | None = None
) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{key: (shape, dtype)}`` of the observation padded to ``(max_inputs, max_vertices)``
    (and ``max_edges`` edge slots in ``mode="graph"``)."""
    r, v, e = _sizes(max_inputs, max_vertices, mode, max_edges)
    return {name: (shape(r, v, e), np.dtype(dtype)) for name, dtype, _, _, shape in _FIELDS[mode]}


def observation_space(
    max_inputs: int, max_vertices: int, mode: str = "dense", max_edges: int | None = None
):
    """The ``gymnasium.spaces.Dict`` of :func:`observation_layout` (bounds included)."""
    from gymnasium import spaces

    r, v, e = _sizes(max_inputs, max_vertices, mode, max_edges)
    return spaces.Dict(
        {name: spaces.Box(lo, hi(r, v, e), shape(r, v, e), dtype)
         for name, dtype, lo, hi, shape in _FIELDS[mode]}
    )


# -- edge slots of the graph observation --------------------------------------------------------


def graph_edge_slots(graphs: Graph | Sequence[Graph], max_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Edge slots for fixed graphs padded to ``max_inputs`` input rows: ``(rows, cols)`` int32
    [K], the padded row and the column of every (row, vertex) pair joined by a path in any of
    ``graphs`` (:func:`crosscountry_gym.engine.reachable_pairs`, their union for several graphs),
    in row-major order of the padded layout."""
    graphs = [graphs] if isinstance(graphs, Graph) else list(graphs)
    pairs: set[tuple[int, int]] = set()
    for g in graphs:
        ni = g.num_inputs
        for r, k in reachable_pairs(g):
            pairs.add((r - 1 if r <= ni else max_inputs + r - ni - 1, k - 1))
    rc = np.asarray(sorted(pairs), np.int32).reshape(-1, 2)
    return rc[:, 0].copy(), rc[:, 1].copy()


def ordered_edge_slots(num_inputs: int, max_vertices: int, max_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Edge slots for graphs whose ids are a topological order (the random family of
    :mod:`.random_graphs`): every pair (input row, vertex) and (vertex j, vertex k) with j < k,
    as ``(rows, cols)`` int32 [K] in row-major order of the padded layout, ``K = num_inputs * V
    + V * (V - 1) / 2``."""
    v = max_vertices
    rows = [np.repeat(np.arange(num_inputs), v), np.repeat(max_inputs + np.arange(v), v)]
    cols = [np.tile(np.arange(v), num_inputs), np.tile(np.arange(v), v)]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    keep = (rows < max_inputs) | (cols > rows - max_inputs)
    return rows[keep].astype(np.int32), cols[keep].astype(np.int32)


def check_max_edges(max_edges: Any, needed: int) -> int:
    """``max_edges`` as an int >= ``needed`` (the slots the graph source needs); ``None`` ->
    ``max(needed, 1)``."""
    if max_edges is None:
        return max(int(needed), 1)
    if isinstance(max_edges, bool) or not isinstance(max_edges, int | np.integer) or max_edges < 1:
        raise ValueError(f"max_edges must be a positive int, got {max_edges!r}")
    if max_edges < needed:
        raise ValueError(
            f"max_edges={max_edges} is smaller than the {needed} (row, vertex) pairs the graph "
            "source can hold an edge on"
        )
    return int(max_edges)


# -- penalties and time limits -------------------------------------------------------------------


def terminate_penalty(graph: Graph) -> int:
    """Default penalty (multiplications) of an illegal action in mode "terminate": U + 1 with
    U = :func:`crosscountry_gym.engine.cost_upper_bound`. A finished episode costs at most U, so
    an episode ended by an illegal action (return ``-(cost so far + U + 1)``) is worse than every
    finished one, and from any state the illegal action's return-to-go ``-(U + 1)`` is below
    that of every legal completion."""
    return cost_upper_bound(graph) + 1


def episode_step_limit(max_episode_steps: Any, max_vertices: int) -> int | None:
    """The step limit of an env: an int >= 1 as given, ``None`` (no limit), or ``"auto"`` ->
    ``2 * max_vertices`` (``docs/envs.md``: a finished episode takes fewer than ``max_vertices``
    steps, and only mode "mask" lets an episode go on after an illegal action)."""
    if max_episode_steps is None:
        return None
    if max_episode_steps == "auto":
        return 2 * int(max_vertices)
    if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps, int | np.integer) \
            or max_episode_steps < 1:
        raise ValueError(f"max_episode_steps must be a positive int, 'auto' or None, got "
                         f"{max_episode_steps!r}")
    return int(max_episode_steps)


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


def check_observation_mode(observation_mode: Any) -> str:
    if observation_mode not in OBSERVATION_MODES:
        raise ValueError(
            f"unknown observation_mode {observation_mode!r}; use one of {OBSERVATION_MODES}"
        )
    return observation_mode


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
