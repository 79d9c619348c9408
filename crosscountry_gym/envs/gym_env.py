"""``CrossCountryEnv``: the elimination game as a single ``gymnasium.Env``.

A thin stateful shell over the NumPy reference elimination
(:class:`crosscountry_gym.engine.EliminationState`): one Python step is a few microseconds, where a
jitted JAX call per step would cost tens of microseconds of dispatch. Its observation layout is
exactly that of the functional JAX env (:func:`crosscountry_gym.envs.jax_env.observation`), and
the tests check the two agree step by step; batched training should use the native vector env.

Game: action ``a`` eliminates vertex id ``a + 1``; reward ``-reward_scale * multiplications``
of that step (``cost_model`` "exact" or "alphagrad"); terminated when every non-output vertex is
eliminated (the return is then ``-reward_scale * cost(graph, info["order"], cost_model)``);
never truncated except by an illegal action in ``"penalty"`` mode.

Illegal actions (out of range, padding, output, already eliminated), option ``invalid_action``:

* ``"mask"`` (default): state unchanged, nothing recorded, reward ``-reward_scale *
  invalid_penalty`` (default 1 multiplication), the episode continues;
* ``"penalty"``: the same fixed penalty (default: the graph's forward-mode cost, so an illegal
  move never beats finishing in forward mode) and the episode ends with ``truncated=True``;
* ``"raise"``: :class:`InvalidActionError` (a ``ValueError``) naming the action and the reason.

All modes set ``info["invalid_action"]``; an illegal action is never a step of the order.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .. import core
from ..engine import EliminationState, cost
from ..graph import Graph
from .random_graphs import RandomGraphSpec, random_graph

__all__ = ["CrossCountryEnv", "RandomCrossCountryEnv", "InvalidActionError", "observation_space",
           "INVALID_ACTION_MODES"]

INVALID_ACTION_MODES = ("mask", "penalty", "raise")
_SHAPE_MAX = np.iinfo(np.int32).max


class InvalidActionError(ValueError):
    """An action that cannot be taken in the current state (``invalid_action="raise"``)."""


def observation_space(max_inputs: int, max_vertices: int) -> spaces.Dict:
    """The Dict observation space shared by every env padded to ``(max_inputs, max_vertices)``."""
    r, v = max_inputs + max_vertices, max_vertices
    return spaces.Dict(
        {
            "edge_types": spaces.Box(-10, 11, (r, v), np.int8),
            "source_shapes": spaces.Box(0, _SHAPE_MAX, (r, 2), np.int32),
            "vertex_shapes": spaces.Box(0, _SHAPE_MAX, (v, 2), np.int32),
            "vertex_mask": spaces.Box(0, 1, (v,), np.int8),
            "output_mask": spaces.Box(0, 1, (v,), np.int8),
        }
    )


def _load_graph(graph: Graph | str) -> Graph:
    from .. import tasks

    try:
        return tasks.resolve_graph(graph)[1]
    except TypeError as err:
        raise ValueError(str(err)) from None


class CrossCountryEnv(gym.Env):
    """Cross-country elimination on one graph (a :class:`Graph` or a task name).

    Args:
        graph: the graph, or a name from ``crosscountry_gym.tasks.names()``.
        cost_model: "exact" (consistent rule) or "alphagrad" (the paper's tables).
        reward_scale: positive multiplier of ``-multiplications``.
        max_vertices, max_inputs: observation padding (default: the graph's own sizes), so
            graphs of different sizes share one space.
        invalid_action: "mask" (default), "penalty" or "raise" (module docstring).
        invalid_penalty: multiplications charged for an illegal action (before scaling).
        render_mode: None, "ansi" or "rgb_array".

    Observation (``spaces.Dict``, zero-padded): ``edge_types`` int8 [R, V] (type code of the
    edge row -> vertex; rows are inputs 0..max_inputs-1 then vertices), ``source_shapes`` int32
    [R, 2], ``vertex_shapes`` int32 [V, 2], ``vertex_mask`` int8 [V] (1 = real vertex not yet
    eliminated), ``output_mask`` int8 [V]. ``R = max_inputs + max_vertices``, ``V =
    max_vertices``.

    Info: ``action_mask`` int8 [V], ``order`` (tuple of vertex ids eliminated so far), ``cost``
    (int, multiplications so far), ``step_cost``, ``invalid_action`` (bool).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        graph: Graph | str,
        *,
        cost_model: str = "exact",
        reward_scale: float = 1.0,
        max_vertices: int | None = None,
        max_inputs: int | None = None,
        invalid_action: str = "mask",
        invalid_penalty: float | None = None,
        render_mode: str | None = None,
    ) -> None:
        g = _load_graph(graph)
        self._configure(
            cost_model, reward_scale, g.num_inputs if max_inputs is None else max_inputs,
            g.num_vertices if max_vertices is None else max_vertices, invalid_action,
            invalid_penalty, render_mode,
        )
        self._fixed_graph = g
        self._set_graph(g)  # validates sizes and shape records now, not at the first reset

    # -- configuration ------------------------------------------------------------------------

    def _configure(self, cost_model, reward_scale, max_inputs, max_vertices, invalid_action,
                   invalid_penalty, render_mode) -> None:
        if cost_model not in core.MODELS:
            raise ValueError(f"unknown cost_model {cost_model!r}; use 'exact' or 'alphagrad'")
        if isinstance(reward_scale, bool) or not isinstance(reward_scale, int | float) or not (
            np.isfinite(reward_scale) and reward_scale > 0
        ):
            raise ValueError(f"reward_scale must be a positive finite number, got {reward_scale!r}")
        if invalid_action not in INVALID_ACTION_MODES:
            raise ValueError(
                f"unknown invalid_action {invalid_action!r}; use one of {INVALID_ACTION_MODES}"
            )
        if invalid_penalty is not None and not (
            isinstance(invalid_penalty, int | float) and np.isfinite(invalid_penalty)
            and invalid_penalty >= 0
        ):
            raise ValueError(f"invalid_penalty must be a finite number >= 0, got {invalid_penalty!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; use 'ansi' or 'rgb_array'")
        for name, val in (("max_inputs", max_inputs), ("max_vertices", max_vertices)):
            if not isinstance(val, int | np.integer) or val < (1 if name == "max_vertices" else 0):
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        self.cost_model = cost_model
        self.reward_scale = float(reward_scale)
        self.invalid_action = invalid_action
        self.invalid_penalty = invalid_penalty
        self.render_mode = render_mode
        self.max_inputs, self.max_vertices = int(max_inputs), int(max_vertices)
        self.observation_space = observation_space(self.max_inputs, self.max_vertices)
        self.action_space = spaces.Discrete(self.max_vertices)

    def _set_graph(self, g: Graph) -> None:
        types, src, tgt, outs = core.padded_arrays(g, self.max_vertices, self.max_inputs)
        self.graph = g
        mi, ni, nv = self.max_inputs, g.num_inputs, g.num_vertices
        self._row_index = np.r_[np.arange(ni), mi + np.arange(nv)]  # graph row -> padded row
        self._types = types
        src[ni:mi] = 0
        src[mi + nv:] = 0
        tgt[nv:] = 0
        self._src, self._tgt = src, tgt
        self._vmask = np.zeros(self.max_vertices, np.int8)
        self._vmask[:nv] = 1
        self._omask = outs.astype(np.int8)
        self._legal = np.zeros(self.max_vertices, bool)
        self._legal[:nv] = ~outs[:nv]
        self._ref = EliminationState(g, self.cost_model)
        self._order: list[int] = []
        self._cost = 0
        if self.invalid_penalty is not None:
            self._penalty = float(self.invalid_penalty)
        elif self.invalid_action == "penalty":
            self._penalty = float(cost(g, g.eliminable, self.cost_model))
        else:
            self._penalty = 1.0

    def _next_graph(self) -> Graph:
        return self._fixed_graph

    # -- Gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._set_graph(self._next_graph())
        return self._obs(), self._info(0, False)

    def step(self, action):
        a = self._as_action(action)
        reason = self._illegal_reason(a)
        if reason is not None:
            if self.invalid_action == "raise":
                raise InvalidActionError(f"action {action!r} is illegal: {reason}")
            reward = -self.reward_scale * self._penalty
            truncated = self.invalid_action == "penalty"
            return self._obs(), reward, False, truncated, self._info(0, True)
        v = a + 1
        ref = self._ref
        ni = ref.ni
        row = ni + v
        ins = list(ref.pred.get(row, ()))
        outs = list(ref.succ.get(row, ()))
        step_cost = ref._eliminate(v)  # legality was checked above
        types, ri = self._types, self._row_index
        for r in ins if outs else ():
            succ_r = ref.succ[r]
            pr = ri[r - 1]
            for t in outs:
                types[pr, t - ni - 1] = succ_r[t][0]
        types[:, a] = 0
        types[ri[row - 1], :] = 0
        self._vmask[a] = 0
        self._legal[a] = False
        self._order.append(v)
        self._cost += step_cost
        terminated = not self._legal.any()
        reward = -self.reward_scale * step_cost
        return self._obs(), float(reward), terminated, False, self._info(step_cost, False)

    def action_masks(self) -> np.ndarray:
        """bool [V]: legal actions now (for sb3-contrib's MaskablePPO)."""
        return self._legal.copy()

    # -- helpers ------------------------------------------------------------------------------

    def _as_action(self, action) -> int | None:
        if isinstance(action, bool | np.bool_):
            return None
        try:
            arr = np.asarray(action)
        except Exception:  # noqa: BLE001 - anything unconvertible is simply not an action
            return None
        if arr.shape != () or not np.issubdtype(arr.dtype, np.integer):
            return None
        return int(arr)

    def _illegal_reason(self, a: int | None) -> str | None:
        if a is None:
            return "an action must be an integer scalar (vertex id - 1)"
        if not 0 <= a < self.max_vertices:
            return f"out of range 0..{self.max_vertices - 1}"
        v = a + 1
        if v > self.graph.num_vertices:
            return f"vertex {v} is padding (the graph has {self.graph.num_vertices} vertices)"
        if self._omask[a]:
            return f"vertex {v} is an output; outputs are never eliminated"
        if not self._legal[a]:
            return f"vertex {v} is already eliminated"
        return None

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "edge_types": self._types.copy(),
            "source_shapes": self._src.copy(),
            "vertex_shapes": self._tgt.copy(),
            "vertex_mask": self._vmask.copy(),
            "output_mask": self._omask.copy(),
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

    def render(self):
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        return None

    def _render_text(self) -> str:
        g, ref = self.graph, self._ref
        ni = g.num_inputs
        outs = set(g.outputs)

        def name(row: int) -> str:
            return f"x{row}" if row <= ni else f"v{row - ni}"

        lines = [
            f"{g.name or 'graph'} [{self.cost_model}]: {len(self._order)}/{g.num_intermediates} "
            f"eliminated, cost {self._cost}",
            f"order: {list(self._order)}",
        ]
        for k in range(1, g.num_vertices + 1):
            if not self._vmask[k - 1]:
                continue
            ins = ", ".join(name(r) for r in sorted(ref.pred.get(ni + k, ())))
            succ = ", ".join(f"v{t - ni}" for t in sorted(ref.succ.get(ni + k, ())))
            tag = " (output)" if k in outs else ""
            lines.append(f"v{k}{tag}: <- [{ins}] -> [{succ}]")
        return "\n".join(lines) + "\n"

    def _render_rgb(self) -> np.ndarray:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        import networkx as nx

        nxg = self.current_graph().to_networkx()
        gone = [("v", k) for k in self._order]
        nxg.remove_nodes_from(gone)
        nxg.remove_nodes_from([n for n in list(nxg) if n[0] == "in" and nxg.out_degree(n) == 0])
        for layer, nodes in enumerate(nx.topological_generations(nxg)):
            for n in nodes:
                nxg.nodes[n]["layer"] = layer
        pos = nx.multipartite_layout(nxg, subset_key="layer") if len(nxg) else {}
        colours = {"input": "#9ecae1", "intermediate": "#fdd0a2", "output": "#a1d99b"}
        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
        try:
            nx.draw_networkx(
                nxg, pos, ax=ax, node_size=160, font_size=6, arrowsize=6,
                node_color=[colours[nxg.nodes[n]["kind"]] for n in nxg],
                labels={n: (f"x{n[1]}" if n[0] == "in" else str(n[1])) for n in nxg},
            )
            ax.set_title(f"{self.graph.name or 'graph'}: cost {self._cost}, "
                         f"{len(self._order)}/{self.graph.num_intermediates} eliminated", fontsize=8)
            ax.set_axis_off()
            fig.canvas.draw()
            img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        finally:
            plt.close(fig)
        return img


class RandomCrossCountryEnv(CrossCountryEnv):
    """A fresh random DAG (:mod:`.random_graphs`) at every reset, drawn from the env's seeded RNG.

    Size options (``num_inputs``, ``num_vertices`` (int or (low, high)), ``num_outputs``,
    ``tensor``, ``max_in_degree``, ``degree_probs``, ``locality``, ``dims``) build a
    :class:`RandomGraphSpec` (or pass ``random_spec=``); the other options are those of
    :class:`CrossCountryEnv`. The
    observation is padded to the spec's largest graph unless ``max_vertices``/``max_inputs``
    say more.
    """

    def __init__(
        self,
        *,
        random_spec: RandomGraphSpec | None = None,
        cost_model: str = "exact",
        reward_scale: float = 1.0,
        max_vertices: int | None = None,
        max_inputs: int | None = None,
        invalid_action: str = "mask",
        invalid_penalty: float | None = None,
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
            invalid_action, invalid_penalty, render_mode,
        )
        if self.max_vertices < spec.max_vertices or self.max_inputs < spec.num_inputs:
            raise ValueError(
                f"padding (max_inputs={self.max_inputs}, max_vertices={self.max_vertices}) is "
                f"smaller than the random spec ({spec.num_inputs}, {spec.max_vertices})"
            )
        self._set_graph(random_graph(0, spec))

    def _next_graph(self) -> Graph:
        seed = int(self.np_random.integers(0, 2**31 - 1))
        return random_graph(seed, self.random_spec)
