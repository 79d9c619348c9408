"""``CrossCountryEnv``: the elimination game as a single ``gymnasium.Env``.

A thin stateful shell over the NumPy reference elimination
(:class:`crosscountry_gym.engine.EliminationState`): one Python step is a few microseconds, where a
jitted JAX call per step would cost tens of microseconds of dispatch. Its observation layouts are
exactly those of the functional JAX env (:func:`crosscountry_gym.envs.jax_env.observation`), and
the tests check the two agree step by step; batched training should use the native vector env.

Game: action ``a`` eliminates vertex id ``a + 1``; reward ``-reward_scale * multiplications``
of that step (``cost_model`` "exact" or "alphagrad"); terminated when every non-output vertex is
eliminated (the return is then ``-reward_scale * cost(graph, info["order"], cost_model)``).

Illegal actions (out of range, padding, output, already eliminated), option ``invalid_action``
(``docs/envs.md``, "Invalid actions"):

* ``"terminate"`` (default): state unchanged, reward ``-reward_scale * invalid_penalty``
  (default U + 1 multiplications, U = :func:`crosscountry_gym.engine.cost_upper_bound`, an
  upper bound on the cost of every order) and the episode ends with ``terminated=True``: a true
  terminal state, so bootstrapping algorithms learn that an illegal move is worse than any
  finished episode;
* ``"mask"``: state unchanged, reward ``-reward_scale * invalid_penalty`` (default 1
  multiplication), the episode continues;
* ``"penalty"``: the graph's forward-mode cost as the penalty and the episode ends with
  ``truncated=True`` (a time-limit-like cut: bootstrapping algorithms treat it as a
  continuation);
* ``"raise"``: :class:`InvalidActionError` (a ``ValueError``) naming the action and the reason.

All modes set ``info["invalid_action"]``; an illegal action is never a step of the order.
``max_episode_steps`` (default ``"auto"`` = 2 * max_vertices; ``None`` = no limit) truncates an
episode after that many steps, legal or not, which only "mask" mode can reach.
A *malformed* action (not one integer: a float, a bool, an array of another shape) raises
:class:`InvalidActionError` in every mode, and once an episode has terminated or been truncated
``step`` raises ``gymnasium.error.ResetNeeded`` until ``reset``: nothing is silently penalised.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .. import core
from ..engine import EliminationState
from ..graph import Graph
from ..orders import reference_costs
from ..sparsity import DEFAULT_MODEL, cost_model_arg
from . import viewer
from .random_graphs import RandomGraphSpec, random_graph
from .types import (
    DEFAULT_INVALID_ACTION,
    INVALID_ACTION_MODES,
    InvalidActionError,
    check_invalid_action,
    check_invalid_penalty,
    check_max_edges,
    check_observation_mode,
    check_padding,
    check_reward_scale,
    episode_step_limit,
    graph_edge_slots,
    load_graph,
    observation_space,
    ordered_edge_slots,
    terminate_penalty,
)

__all__ = ["CrossCountryEnv", "RandomCrossCountryEnv", "InvalidActionError", "observation_space",
           "INVALID_ACTION_MODES"]


class CrossCountryEnv(gym.Env):
    """Cross-country elimination on one graph (a :class:`Graph` or a task name).

    Args:
        graph: the graph, or a name from ``crosscountry_gym.tasks.names()``.
        cost_model: "exact" (consistent rule) or "alphagrad" (the paper's tables).
        reward_scale: positive multiplier of ``-multiplications``.
        max_vertices, max_inputs: observation padding (default: the graph's own sizes), so
            graphs of different sizes share one space.
        invalid_action: "terminate" (default), "mask", "penalty" or "raise" (module docstring).
        invalid_penalty: multiplications charged for an illegal action (before scaling);
            default per mode: U + 1, 1, the forward-mode cost.
        observation_mode: "dense" (default) or "graph" (``docs/envs.md``).
        max_edges: edge slots of the graph observation (default: the pairs of rows and vertices
            joined by a path, :func:`crosscountry_gym.engine.max_edge_count`); a larger value
            lets graphs share one space.
        max_episode_steps: steps after which an episode is truncated; ``"auto"`` (default)
            = 2 * max_vertices, ``None`` = never.
        render_mode: None, "ansi" or "rgb_array".

    Observation (``spaces.Dict``, zero-padded; declared in :mod:`.types`), dense mode:
    ``edge_types`` int8 [R, V] (type code of the edge row -> vertex; rows are inputs
    0..max_inputs-1 then vertices), ``source_shapes`` int32 [R, 2], ``vertex_shapes`` int32
    [V, 2], ``vertex_mask`` int8 [V] (1 = real vertex not yet eliminated), ``output_mask`` int8
    [V], with ``R = max_inputs + max_vertices``, ``V = max_vertices``. Graph mode replaces
    ``edge_types`` [R, V] by ``senders``, ``receivers`` int32 [E], ``edge_types`` int8 [E],
    ``edge_shapes`` int32 [E, 4] and ``edge_mask`` int8 [E], ``E = max_edges``.

    Info: ``action_mask`` int8 [V], ``order`` (tuple of vertex ids eliminated so far), ``cost``
    (int, multiplications so far), ``step_cost``, ``invalid_action`` (bool).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        graph: Graph | str,
        *,
        cost_model: str = DEFAULT_MODEL,
        reward_scale: float = 1.0,
        max_vertices: int | None = None,
        max_inputs: int | None = None,
        invalid_action: str = DEFAULT_INVALID_ACTION,
        invalid_penalty: float | None = None,
        observation_mode: str = "dense",
        max_edges: int | None = None,
        max_episode_steps: int | str | None = "auto",
        render_mode: str | None = None,
    ) -> None:
        g = load_graph(graph)
        mi = g.num_inputs if max_inputs is None else max_inputs
        self._configure(
            cost_model, reward_scale, mi, g.num_vertices if max_vertices is None else max_vertices,
            invalid_action, invalid_penalty, render_mode, max_episode_steps,
        )
        self.observation_mode = check_observation_mode(observation_mode)
        self._slots = None
        if self.observation_mode == "graph":
            self._slots = graph_edge_slots(g, self.max_inputs)
        self._set_space(max_edges)
        self._fixed_graph = g
        self._set_graph(g)  # validates sizes and shape records now, not at the first reset

    # -- configuration ------------------------------------------------------------------------

    def _configure(self, cost_model, reward_scale, max_inputs, max_vertices, invalid_action,
                   invalid_penalty, render_mode, max_episode_steps) -> None:
        self.cost_model = cost_model_arg(cost_model)
        self.reward_scale = check_reward_scale(reward_scale)
        self.invalid_action = check_invalid_action(invalid_action)
        self.invalid_penalty = check_invalid_penalty(invalid_penalty)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; use 'ansi' or 'rgb_array'")
        self.render_mode = render_mode
        self.max_inputs, self.max_vertices = check_padding(max_inputs, max_vertices)
        self.max_episode_steps = episode_step_limit(max_episode_steps, self.max_vertices)
        self.action_space = spaces.Discrete(self.max_vertices)
        self._padded: tuple[Graph, tuple] | None = None

    def _set_space(self, max_edges: int | None) -> None:
        """The observation space; in graph mode after ``self._slots`` (rows, cols) is set."""
        self.max_edges = None
        if self.observation_mode == "graph":
            self.max_edges = check_max_edges(max_edges, len(self._slots[0]))
        elif max_edges is not None:
            raise ValueError("max_edges is an option of observation_mode='graph'")
        self.observation_space = observation_space(
            self.max_inputs, self.max_vertices, self.observation_mode, self.max_edges
        )

    def _initial_arrays(self, g: Graph) -> tuple:
        """Padded initial arrays of ``g``, its illegal-action penalty and, in graph mode, its
        slot constants (kept for the last graph: a fixed-graph env resets by copying them
        instead of rebuilding them)."""
        if self._padded is not None and self._padded[0] is g:
            return self._padded[1]
        types, src, tgt, outs = core.padded_arrays(g, self.max_vertices, self.max_inputs)
        mi, ni, nv = self.max_inputs, g.num_inputs, g.num_vertices
        src[ni:mi] = 0
        src[mi + nv:] = 0
        tgt[nv:] = 0
        vmask = np.zeros(self.max_vertices, np.int8)
        vmask[:nv] = 1
        legal = np.zeros(self.max_vertices, bool)
        legal[:nv] = ~outs[:nv]
        row_index = np.r_[np.arange(ni), mi + np.arange(nv)]  # graph row - 1 -> padded row
        arrays = [types, src, tgt, vmask, outs.astype(np.int8), legal, row_index]
        if self.observation_mode == "graph":
            rows, cols = self._slots
            e, k = self.max_edges, len(rows)
            senders = np.zeros(e, np.int32)
            senders[:k] = rows
            receivers = np.zeros(e, np.int32)
            receivers[:k] = mi + cols
            shapes = np.zeros((e, 4), np.int32)
            shapes[:k] = np.concatenate([tgt[cols], src[rows]], axis=1)
            arrays += [senders, receivers, shapes]
        for arr in arrays:
            arr.setflags(write=False)
        if self.invalid_penalty is not None:
            penalty = self.invalid_penalty
        elif self.invalid_action == "terminate":
            penalty = float(terminate_penalty(g))
        elif self.invalid_action == "penalty":
            penalty = float(reference_costs(g, self.cost_model).forward)
        else:
            penalty = 1.0
        self._padded = (g, (tuple(arrays), penalty))
        return self._padded[1]

    def _set_graph(self, g: Graph) -> None:
        arrays, self._penalty = self._initial_arrays(g)
        types, src, tgt, vmask, omask, legal, row_index = arrays[:7]
        self._slot_consts = arrays[7:]
        self.graph = g
        self._types, self._vmask, self._legal = types.copy(), vmask.copy(), legal.copy()
        self._src, self._tgt, self._omask, self._row_index = src, tgt, omask, row_index
        self._remaining = g.num_intermediates
        self._over = False  # set when the episode terminates or is truncated
        self._steps = 0
        self._ref = EliminationState(g, self.cost_model)
        self._order: list[int] = []
        self._cost = 0

    def _next_graph(self) -> Graph:
        return self._fixed_graph

    # -- Gymnasium API ------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        self._set_graph(self._next_graph())
        return self._obs(), self._info(0, False)

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._over:
            raise gym.error.ResetNeeded(
                "the episode has ended (terminated or truncated); call reset() before step()"
            )
        a = action if type(action) is int else self._as_action(action)
        if a is None:
            raise InvalidActionError(
                f"malformed action {action!r}: an action is one integer (vertex id - 1), "
                f"0..{self.max_vertices - 1}"
            )
        self._steps += 1
        limit = self.max_episode_steps
        if not 0 <= a < self.max_vertices or not self._legal[a]:
            mode = self.invalid_action
            if mode == "raise":
                self._steps -= 1  # nothing happened
                raise InvalidActionError(f"action {action!r} is illegal: {self._illegal_reason(a)}")
            reward = -self.reward_scale * self._penalty
            terminated = mode == "terminate"
            truncated = mode == "penalty" or (limit is not None and self._steps >= limit)
            self._over = terminated or truncated
            return self._obs(), reward, terminated, truncated, self._info(0, True)
        v = a + 1
        ref = self._ref
        ni = ref.ni
        row = ni + v
        ins = ref.pred.get(row)
        outs = ref.succ.get(row)
        if ins and outs:
            ins, outs = list(ins), list(outs)
        step_cost = ref._eliminate(v)  # legality was checked above
        types, ri = self._types, self._row_index
        if ins and outs:
            succ = ref.succ
            for r in ins:
                succ_r = succ[r]
                pr = ri[r - 1]
                for t in outs:
                    types[pr, t - ni - 1] = succ_r[t][0]
        types[:, a] = 0
        types[ri[row - 1], :] = 0
        self._vmask[a] = 0
        self._legal[a] = False
        self._remaining -= 1
        self._order.append(v)
        self._cost += step_cost
        reward = -self.reward_scale * step_cost
        terminated = self._remaining == 0
        truncated = limit is not None and self._steps >= limit
        self._over = terminated or truncated
        return self._obs(), reward, terminated, truncated, self._info(step_cost, False)

    def action_masks(self) -> np.ndarray:
        """bool [V]: legal actions now (for sb3-contrib's MaskablePPO)."""
        return self._legal.copy()

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _as_action(action) -> int | None:
        """An integer scalar action as an int; None for anything else (bools, floats, arrays of
        another shape)."""
        if isinstance(action, bool | np.bool_):
            return None
        if isinstance(action, int | np.integer):
            return int(action)
        try:
            arr = np.asarray(action)
        except Exception:  # noqa: BLE001 - anything unconvertible is simply not an action
            return None
        if arr.shape != () or not np.issubdtype(arr.dtype, np.integer):
            return None
        return int(arr)

    def _illegal_reason(self, a: int | None) -> str:
        if a is None:
            return "an action must be an integer scalar (vertex id - 1)"
        if not 0 <= a < self.max_vertices:
            return f"out of range 0..{self.max_vertices - 1}"
        v = a + 1
        if v > self.graph.num_vertices:
            return f"vertex {v} is padding (the graph has {self.graph.num_vertices} vertices)"
        if self._omask[a]:
            return f"vertex {v} is an output; outputs are never eliminated"
        return f"vertex {v} is already eliminated"

    def _obs(self) -> dict[str, np.ndarray]:
        nodes = {
            "source_shapes": self._src.copy(),
            "vertex_shapes": self._tgt.copy(),
            "vertex_mask": self._vmask.copy(),
            "output_mask": self._omask.copy(),
        }
        if self.observation_mode == "dense":
            return {"edge_types": self._types.copy(), **nodes}
        rows, cols = self._slots
        senders, receivers, shapes = self._slot_consts
        types = np.zeros(self.max_edges, np.int8)
        types[: len(rows)] = self._types[rows, cols]
        return {
            "senders": senders.copy(),
            "receivers": receivers.copy(),
            "edge_types": types,
            "edge_shapes": shapes.copy(),
            "edge_mask": (types != 0).view(np.int8),
            **nodes,
        }

    def _info(self, step_cost: int, invalid: bool) -> dict[str, Any]:
        return {
            "action_mask": self._legal.astype(np.int8),
            "order": tuple(self._order),
            "cost": self._cost,
            "step_cost": step_cost,
            "invalid_action": invalid,
        }

    # -- rendering ----------------------------------------------------------------------------

    def current_graph(self) -> Graph:
        """The remaining graph (eliminated vertices have no edges)."""
        return self._ref.to_graph()

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return viewer.render_text(self._ref, self._order, self._cost)
        if self.render_mode == "rgb_array":
            return viewer.render_rgb(self._ref, self._order, self._cost)
        return None


class RandomCrossCountryEnv(CrossCountryEnv):
    """A fresh random DAG (:mod:`.random_graphs`) at every reset, drawn from the env's seeded RNG.

    Size options (``num_inputs``, ``num_vertices`` (int or (low, high)), ``num_outputs``,
    ``tensor``, ``max_in_degree``, ``degree_probs``, ``locality``, ``dims``) build a
    :class:`RandomGraphSpec` (or pass ``random_spec=``); the other options are those of
    :class:`CrossCountryEnv`. The observation is padded to the spec's largest graph unless
    ``max_vertices``/``max_inputs`` say more. In graph mode the edge slots are every pair
    (input, vertex) and (vertex j, vertex k > j) (:func:`.types.ordered_edge_slots`: the ids of a
    random graph are a topological order), the same for every graph of the spec. The default
    "terminate" penalty is U + 1 of the graph drawn.
    """

    def __init__(
        self,
        *,
        random_spec: RandomGraphSpec | None = None,
        cost_model: str = DEFAULT_MODEL,
        reward_scale: float = 1.0,
        max_vertices: int | None = None,
        max_inputs: int | None = None,
        invalid_action: str = DEFAULT_INVALID_ACTION,
        invalid_penalty: float | None = None,
        observation_mode: str = "dense",
        max_edges: int | None = None,
        max_episode_steps: int | str | None = "auto",
        render_mode: str | None = None,
        **spec_kwargs: Any,
    ) -> None:
        if random_spec is None:
            try:
                random_spec = RandomGraphSpec(**spec_kwargs)
            except TypeError as err:
                raise ValueError(f"bad random-graph option: {err}") from None
        elif spec_kwargs:
            raise ValueError("give either random_spec= or size options, not both")
        self.random_spec = spec = random_spec
        self._configure(
            cost_model, reward_scale,
            spec.num_inputs if max_inputs is None else max_inputs,
            spec.max_vertices if max_vertices is None else max_vertices,
            invalid_action, invalid_penalty, render_mode, max_episode_steps,
        )
        if self.max_vertices < spec.max_vertices or self.max_inputs < spec.num_inputs:
            raise ValueError(
                f"padding (max_inputs={self.max_inputs}, max_vertices={self.max_vertices}) is "
                f"smaller than the random spec ({spec.num_inputs}, {spec.max_vertices})"
            )
        self.observation_mode = check_observation_mode(observation_mode)
        self._slots = None
        if self.observation_mode == "graph":
            self._slots = ordered_edge_slots(spec.num_inputs, self.max_vertices, self.max_inputs)
        self._set_space(max_edges)
        self._set_graph(random_graph(0, spec))

    def _next_graph(self) -> Graph:
        seed = int(self.np_random.integers(0, 2**31 - 1))
        return random_graph(seed, self.random_spec)
