"""Pure functional JAX environment of the elimination game (jit/vmap-able, auto-reset).

The single source the native vector env (:mod:`.vector_env`) and the AlphaZero agent build on.
Modelled on the gymnax / Gymnasium functional-env pattern: all state is an explicit pytree,
every function is pure, randomness comes from explicit keys.

Game (``docs/envs.md``; the paper's game with its invalid-action defect fixed):

* action ``a`` in ``0 .. V-1`` eliminates vertex id ``a + 1`` (``V = max_vertices``);
* reward = ``-reward_scale * step multiplications`` (discount 1, so the return is
  ``-reward_scale * cost(graph, order)``);
* terminated when every non-output vertex is eliminated;
* an illegal action (padding, output, eliminated, out of range) leaves the game state unchanged,
  is not recorded in the order and gets reward ``-reward_scale * penalty`` with
  ``info["invalid_action"] = True``. ``invalid_action="terminate"`` (default): the episode ends
  with ``terminated=True``, penalty default U + 1 (U an upper bound on the cost of every order:
  :func:`crosscountry_gym.engine.cost_upper_bound` for pool graphs; for sampled random graphs
  the same sum with "rows before / vertices after in id order" for "joined by a path", computed
  in JAX); ``"mask"``: the episode goes on (penalty default 1 multiplication); ``"penalty"``: the
  episode ends with ``truncated=True`` (penalty default: the graph's forward-mode cost). The
  Gymnasium shells add the "raise" mode host-side;
* truncated after ``max_episode_steps`` steps, legal or not (default ``"auto"`` = 2 * V; only
  "mask" mode can get there).

Graph sources (``EnvParams``): a *pool* of fixed graphs padded to one size (one task, or
several; ``reset`` draws one uniformly), or a :class:`RandomGraphSpec` (``reset`` samples a
fresh random DAG with the key).

Functions::

    params = make_params(graph_or_graphs | random=RandomGraphSpec(...), cost_model="exact", ...)
    obs, state = reset(key, params)
    obs, state, reward, terminated, truncated, info = step(key, state, action, params)  # auto-reset
    state, reward, terminated, truncated, info = step_env(state, action, params)  # no reset (MCTS)
    obs = observation(state, params); mask = action_mask(state)
    observation_space(params); action_space(params)  # gymnasium spaces, gymnax style

With auto-reset, when ``terminated | truncated`` the returned ``obs``/``state`` are those of a new
episode drawn with ``key``, while ``reward``, ``terminated``, ``truncated`` and ``info`` describe
the finished transition (``info["cost"]``, ``info["episode_length"]`` are the finished episode's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import core
from ..graph import Graph
from ..orders import reference_costs
from ..sparsity import DEFAULT_MODEL, MODELS, CostModel, cost_model_arg
from .random_graphs import RandomGraphSpec, sample_state
from .types import (
    DEFAULT_INVALID_ACTION,
    check_invalid_penalty,
    check_max_edges,
    check_observation_mode,
    check_reward_scale,
    episode_step_limit,
    graph_edge_slots,
    observation_layout,
    ordered_edge_slots,
    terminate_penalty,
)
from .types import observation_space as _observation_space

__all__ = [
    "EnvParams",
    "EnvState",
    "make_params",
    "reset",
    "step",
    "step_env",
    "observation",
    "graph_observation",
    "graph_constants",
    "slot_values",
    "action_mask",
    "observation_shapes",
    "observation_space",
    "action_space",
    "DEFAULT_INVALID_PENALTY",
    "INVALID_MODES",
]

DEFAULT_INVALID_PENALTY = 1.0
INVALID_MODES = ("terminate", "mask", "penalty")


@dataclasses.dataclass(frozen=True)
class EnvParams:
    """Environment parameters (a pytree; ``random``, the modes, the padding and the step limit
    are static).

    Attributes:
        pool: batched :class:`core.State` [G, ...] of initial states, or ``None`` when graphs
            are sampled from ``random``.
        pool_penalty: float32 [G] default illegal-action penalty of each pool graph in this
            ``invalid_mode`` (U + 1 for "terminate", the forward-mode cost for "penalty", 1 for
            "mask"), or ``None``.
        model: int32 [] cost-model index (:data:`core.MODELS`).
        reward_scale: float32 [] multiplier of ``-multiplications``.
        invalid_penalty: float32 [] multiplications charged for an illegal action; negative
            means "the default of the mode" (``pool_penalty``, or computed for random graphs).
        slot_rows, slot_cols: int32 [K] padded row and column of each edge slot of the graph
            observation (``observation_mode="graph"``), or ``None``.
        slot_shapes: int32 [K, 4] record shapes of the slots when they are constants (graph
            mode with one pool graph), else ``None``.
        random: static :class:`RandomGraphSpec` or ``None``.
        invalid_mode: static "terminate" (episode terminated), "mask" (episode continues) or
            "penalty" (episode truncated).
        max_inputs, max_vertices: static padding of the observation.
        observation_mode: static "dense" or "graph"; ``max_edges``: static edge slots ``E >= K``
            of the graph observation (0 in dense mode).
        max_episode_steps: static step limit (``None``: none).
    """

    pool: core.State | None
    pool_penalty: jax.Array | None
    model: jax.Array
    reward_scale: jax.Array
    invalid_penalty: jax.Array
    slot_rows: jax.Array | None = None
    slot_cols: jax.Array | None = None
    slot_shapes: jax.Array | None = None
    random: RandomGraphSpec | None = None
    invalid_mode: str = DEFAULT_INVALID_ACTION
    max_inputs: int = 0
    max_vertices: int = 0
    observation_mode: str = "dense"
    max_edges: int = 0
    max_episode_steps: int | None = None

    @property
    def kind(self) -> str:
        return self.pool.kind if self.pool is not None else self.random.kind

    @property
    def num_actions(self) -> int:
        return self.max_vertices


jax.tree_util.register_dataclass(
    EnvParams,
    data_fields=["pool", "pool_penalty", "model", "reward_scale", "invalid_penalty",
                 "slot_rows", "slot_cols", "slot_shapes"],
    meta_fields=["random", "invalid_mode", "max_inputs", "max_vertices", "observation_mode",
                 "max_edges", "max_episode_steps"],
)


@dataclasses.dataclass(frozen=True)
class EnvState:
    """Episode state: the core state plus bookkeeping.

    ``core``: :class:`core.State`; ``cost`` int32 [] multiplications so far; ``length`` int32 []
    vertices eliminated so far; ``order`` int32 [V] vertex ids eliminated so far (0-padded);
    ``invalid`` int32 [] illegal actions taken this episode; ``penalty`` float32 []
    multiplications charged for an illegal action in this episode.
    """

    core: core.State
    cost: jax.Array
    length: jax.Array
    order: jax.Array
    invalid: jax.Array
    penalty: jax.Array

    def replace(self, **kw) -> EnvState:
        return dataclasses.replace(self, **kw)


jax.tree_util.register_dataclass(
    EnvState, data_fields=["core", "cost", "length", "order", "invalid", "penalty"],
    meta_fields=[],
)


def _f32_up(x: float) -> np.float32:
    """The smallest float32 >= ``x`` (a penalty must not round below the bound)."""
    f = np.float32(x)
    return f if float(f) >= x else np.nextafter(f, np.float32(np.inf))


def make_params(
    graphs: Graph | Sequence[Graph] | None = None,
    *,
    random: RandomGraphSpec | None = None,
    cost_model: CostModel = DEFAULT_MODEL,
    reward_scale: float = 1.0,
    invalid_action: str = DEFAULT_INVALID_ACTION,
    invalid_penalty: float | None = None,
    max_vertices: int | None = None,
    max_inputs: int | None = None,
    observation_mode: str = "dense",
    max_edges: int | None = None,
    max_episode_steps: int | str | None = "auto",
    kind: str = "auto",
    model: CostModel | None = None,
) -> EnvParams:
    """Parameters for a pool of fixed ``graphs`` or for ``random`` graphs (exactly one).

    Pool graphs are padded to the largest (or the given) ``max_inputs`` / ``max_vertices``;
    with ``kind="auto"`` the bitset kernel is used when every graph allows it.
    ``invalid_penalty`` (multiplications, before ``reward_scale``) defaults to U + 1 for
    ``invalid_action="terminate"``, 1 for ``"mask"`` and the graph's forward-mode cost for
    ``"penalty"``. ``observation_mode="graph"`` gives the edge-list observation with
    ``max_edges`` slots (default: the pairs that can hold an edge, :mod:`.types`).
    ``max_episode_steps``: an int, ``None`` (no limit) or ``"auto"`` (2 * max_vertices).
    """
    if (graphs is None) == (random is None):
        raise ValueError("give exactly one of `graphs` (a Graph or list) and `random` (a spec)")
    model = cost_model_arg(cost_model, model)
    if invalid_action not in INVALID_MODES:
        raise ValueError(
            f"unknown invalid_action {invalid_action!r} for the JAX env; use one of "
            f"{INVALID_MODES} ('raise' is handled by the Gymnasium shells)"
        )
    reward_scale = check_reward_scale(reward_scale)
    invalid_penalty = check_invalid_penalty(invalid_penalty)
    observation_mode = check_observation_mode(observation_mode)
    if invalid_penalty is None:
        invalid_penalty = DEFAULT_INVALID_PENALTY if invalid_action == "mask" else -1.0
    m = MODELS.index(model)
    pool_penalty = None
    if graphs is not None:
        graphs = [graphs] if isinstance(graphs, Graph) else list(graphs)
        if not graphs or not all(isinstance(g, Graph) for g in graphs):
            raise ValueError("`graphs` must be a Graph or a non-empty list of Graphs")
        mv = max(g.num_vertices for g in graphs) if max_vertices is None else int(max_vertices)
        mi = max(g.num_inputs for g in graphs) if max_inputs is None else int(max_inputs)
        if kind == "auto":
            kind = "dense" if all(core.kind_of(g) == "dense" for g in graphs) else "typed"
        pool = core.stack_states(
            [core.init_state(g, model, max_vertices=mv, max_inputs=mi, kind=kind) for g in graphs]
        )
        if invalid_action == "terminate":
            defaults = [_f32_up(terminate_penalty(g)) for g in graphs]
        elif invalid_action == "penalty":
            defaults = [_f32_up(reference_costs(g, model).forward) for g in graphs]
        else:
            defaults = [DEFAULT_INVALID_PENALTY] * len(graphs)
        pool_penalty = jnp.asarray(np.asarray(defaults, np.float32))
        spec = None
        slots = graph_edge_slots(graphs, mi) if observation_mode == "graph" else None
    else:
        if not isinstance(random, RandomGraphSpec):
            raise ValueError(f"`random` must be a RandomGraphSpec, got {type(random).__name__}")
        mv = random.max_vertices if max_vertices is None else int(max_vertices)
        mi = random.num_inputs if max_inputs is None else int(max_inputs)
        if mv < random.max_vertices or mi < random.num_inputs:
            raise ValueError(
                f"padding (max_inputs={mi}, max_vertices={mv}) is smaller than the random spec "
                f"({random.num_inputs} inputs, up to {random.max_vertices} vertices)"
            )
        pool, spec = None, random
        slots = ordered_edge_slots(random.num_inputs, mv, mi) if observation_mode == "graph" else None
    e = 0
    slot_rows = slot_cols = slot_shapes = None
    if slots is not None:
        e = check_max_edges(max_edges, len(slots[0]))
        slot_rows, slot_cols = jnp.asarray(slots[0]), jnp.asarray(slots[1])
        if pool is not None and len(graphs) == 1:
            src, tgt = np.asarray(pool.src_shape[0]), np.asarray(pool.tgt_shape[0])
            slot_shapes = jnp.asarray(np.concatenate([tgt[slots[1]], src[slots[0]]], axis=1))
    elif max_edges is not None:
        raise ValueError("max_edges is an option of observation_mode='graph'")
    return EnvParams(
        pool=pool,
        pool_penalty=pool_penalty,
        model=jnp.int32(m),
        reward_scale=jnp.float32(reward_scale),
        invalid_penalty=jnp.float32(invalid_penalty),
        slot_rows=slot_rows,
        slot_cols=slot_cols,
        slot_shapes=slot_shapes,
        random=spec,
        invalid_mode=invalid_action,
        max_inputs=mi,
        max_vertices=mv,
        observation_mode=observation_mode,
        max_edges=e,
        max_episode_steps=episode_step_limit(max_episode_steps, mv),
    )


def _ordered_cost_bound(s: core.State) -> jax.Array:
    """float32 []: U + 1 of a graph whose ids are a topological order (the random family),
    rounded up: :func:`crosscountry_gym.engine.vertex_cost_bounds` with "every row before v" for
    the rows that reach v and "every vertex after v" for the vertices v reaches."""
    f32 = jnp.float32
    v, mi = s.max_vertices, s.max_inputs
    rows = jnp.arange(s.num_rows)
    real_row = (rows < s.num_inputs) | ((rows >= mi) & (rows - mi < s.num_vertices))
    src = jnp.where(real_row, s.src_shape[:, 0] * s.src_shape[:, 1], 0).astype(f32)  # [R]
    cols = jnp.arange(v)
    tgt = jnp.where(cols < s.num_vertices, s.tgt_shape[:, 0] * s.tgt_shape[:, 1], 0).astype(f32)
    vrow = src[mi:]  # [V] size of each vertex as a source
    before = jnp.sum(src[:mi]) + jnp.cumsum(vrow) - vrow  # rows (inputs, vertices) before k
    after = jnp.sum(tgt) - jnp.cumsum(tgt)  # vertices after k
    elim = (cols < s.num_vertices) & ~s.is_output
    u = jnp.sum(jnp.where(elim, vrow * before * after, 0.0))
    # float32 sums and products of n positive terms err by less than n * 2**-24 relative
    slack = f32(1 + 4 * (s.num_rows + v + 4) * 2.0**-24)
    return u * slack + f32(1)


def _initial_core(key: jax.Array, params: EnvParams) -> tuple[core.State, jax.Array]:
    """A fresh core state and its illegal-action penalty (multiplications)."""
    if params.pool is not None:
        g = params.pool.model.shape[0]
        # one graph: a static slice (no random draw, no gather; the fresh state is a constant)
        i = 0 if g == 1 else jax.random.randint(key, (), 0, g)
        s = jax.tree.map(lambda x: x[i], params.pool).replace(model=params.model)
        default = params.pool_penalty[i]
    else:
        s = sample_state(
            key, params.random, model=params.model, max_inputs=params.max_inputs,
            max_vertices=params.max_vertices,
        )
        if params.invalid_mode == "penalty":  # forward-mode cost of the sampled graph
            ids = jnp.arange(1, params.max_vertices + 1)
            _, costs = core.eliminate_order(s, jnp.where(core.action_mask(s), ids, 0))
            default = jnp.sum(costs).astype(jnp.float32)
        elif params.invalid_mode == "terminate":
            default = _ordered_cost_bound(s)
        else:
            default = jnp.float32(DEFAULT_INVALID_PENALTY)
    penalty = jnp.where(params.invalid_penalty < 0, default, params.invalid_penalty)
    return s, penalty


def observation_shapes(params: EnvParams) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shapes and dtypes of the observation dict (:func:`.types.observation_layout`)."""
    return observation_layout(params.max_inputs, params.max_vertices, params.observation_mode,
                              params.max_edges or None)


def observation_space(params: EnvParams) -> Any:
    """The ``gymnasium.spaces.Dict`` of one observation under ``params`` (gymnax style; the
    layout of :mod:`.types`)."""
    return _observation_space(params.max_inputs, params.max_vertices, params.observation_mode,
                              params.max_edges or None)


def action_space(params: EnvParams) -> Any:
    """``gymnasium.spaces.Discrete(max_vertices)``: action ``a`` eliminates vertex ``a + 1``."""
    from gymnasium import spaces

    return spaces.Discrete(params.max_vertices)


def _slot_types(s: core.State, rows: jax.Array, cols: jax.Array) -> jax.Array:
    """int8 [K]: the type code at each (padded row, column) slot, for either kernel."""
    if s.kind == "typed":
        return s.types[rows, cols]
    word, bit = cols // 32, (cols % 32).astype(jnp.uint32)
    has = (s.out_bits[rows, word] >> bit) & jnp.uint32(1)
    copy = (s.out_copy[rows, word] >> bit) & jnp.uint32(1)
    return jnp.where(has != 0, jnp.where(copy != 0, -1, 1), 0).astype(jnp.int8)


def _node_arrays(s: core.State) -> dict[str, jax.Array]:
    v = s.max_vertices
    rows = jnp.arange(s.num_rows)
    verts = jnp.arange(v) < s.num_vertices
    row_ok = (rows < s.num_inputs) | (
        (rows >= s.max_inputs) & (rows - s.max_inputs < s.num_vertices)
    )
    return {
        "source_shapes": jnp.where(row_ok[:, None], s.src_shape, 0),
        "vertex_shapes": jnp.where(verts[:, None], s.tgt_shape, 0),
        "vertex_mask": (verts & ~s.eliminated).astype(jnp.int8),
        "output_mask": s.is_output.astype(jnp.int8),
    }


def slot_values(state: EnvState, params: EnvParams) -> tuple[jax.Array, jax.Array | None]:
    """The gathers of the graph observation: ``(types int8 [K], shapes int32 [K, 4] or None)``,
    the type code now and the record shapes of every edge slot (``None`` when the params hold
    them as constants: a single pool graph). See :func:`graph_observation`."""
    s = state.core
    sr, sc = params.slot_rows, params.slot_cols
    types = _slot_types(s, sr, sc)
    if params.slot_shapes is not None:
        return types, None
    nodes = _node_arrays(s)  # shapes of padding rows and vertices are 0 here
    tf, sf = nodes["vertex_shapes"].reshape(-1), nodes["source_shapes"].reshape(-1)
    shapes = jnp.stack([tf[2 * sc], tf[2 * sc + 1], sf[2 * sr], sf[2 * sr + 1]], axis=1)
    return types, shapes


GRAPH_CONSTANT_KEYS = ("senders", "receivers")
"""Graph-mode arrays that depend on the params only (``edge_shapes`` too when
``params.slot_shapes`` is set): the same in every state."""


def graph_constants(params: EnvParams) -> dict[str, np.ndarray]:
    """NumPy arrays of the graph-mode keys that never change under ``params``: ``senders``,
    ``receivers`` int32 [E] and, for one pool graph, ``edge_shapes`` int32 [E, 4]."""
    pad = params.max_edges - params.slot_rows.shape[0]
    out = {"senders": np.asarray(params.slot_rows),
           "receivers": params.max_inputs + np.asarray(params.slot_cols)}
    if params.slot_shapes is not None:
        out["edge_shapes"] = np.asarray(params.slot_shapes)
    return {k: np.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).astype(np.int32)
            for k, x in out.items()}


def graph_observation(
    state: EnvState, params: EnvParams, values: tuple[jax.Array, jax.Array | None] | None = None
) -> dict[str, jax.Array]:
    """The graph-mode observation (:mod:`.types`) from ``values = slot_values(state, params)``
    (computed here when omitted). Batched code is faster with the two in separate ``jit``
    calls: fused together, XLA:CPU lays the gathered [K] axis outermost and transposes every
    output (the vector env splits them, and takes :func:`graph_constants` from the host)."""
    s = state.core
    types, shapes = slot_values(state, params) if values is None else values
    if shapes is None:
        shapes = params.slot_shapes
    sr, sc = params.slot_rows, params.slot_cols
    pad = params.max_edges - sr.shape[0]
    edges = {
        "senders": sr,
        "receivers": s.max_inputs + sc,
        "edge_types": types,
        "edge_shapes": shapes,
        "edge_mask": (types != 0).astype(jnp.int8),
    }
    if pad:
        edges = {k: jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)) for k, x in edges.items()}
    return {**edges, **_node_arrays(s)}


def observation(state: EnvState, params: EnvParams | None = None) -> dict[str, jax.Array]:
    """The observation dict of ``state``, laid out as :mod:`.types` declares for
    ``params.observation_mode`` ("dense" without ``params``): fixed size, zero-padded; legal
    actions are ``vertex_mask & ~output_mask``, also :func:`action_mask`."""
    if params is not None and params.observation_mode == "graph":
        # materialise the gathers once: fused into each consumer, XLA would redo them
        return graph_observation(state, params,
                                 jax.lax.optimization_barrier(slot_values(state, params)))
    s = state.core
    # Materialise the edge arrays first: otherwise XLA fuses the elimination step that produced
    # them into the observation's per-byte loop and recomputes it there (several times slower).
    # Unused observations are still dropped entirely by dead-code elimination.
    types, bits, copy = jax.lax.optimization_barrier((s.types, s.out_bits, s.out_copy))
    s = s.replace(types=types, out_bits=bits, out_copy=copy)
    return {"edge_types": core.edge_types(s), **_node_arrays(s)}


def action_mask(state: EnvState) -> jax.Array:
    """bool [V]: legal actions (action a = vertex a + 1)."""
    return core.action_mask(state.core)


def _new_episode(c: core.State, penalty: jax.Array) -> EnvState:
    v = c.max_vertices
    return EnvState(
        core=c, cost=jnp.int32(0), length=jnp.int32(0), order=jnp.zeros((v,), jnp.int32),
        invalid=jnp.int32(0), penalty=jnp.asarray(penalty, jnp.float32),
    )


def reset(key: jax.Array, params: EnvParams) -> tuple[dict[str, jax.Array], EnvState]:
    """Start an episode: returns ``(obs, state)``."""
    state = _new_episode(*_initial_core(key, params))
    return observation(state, params), state


def step_env(
    state: EnvState, action: jax.Array, params: EnvParams
) -> tuple[EnvState, jax.Array, jax.Array, jax.Array, dict[str, jax.Array]]:
    """One transition without auto-reset: ``(state, reward, terminated, truncated, info)``.

    ``info``: ``cost`` (int32, multiplications so far), ``step_cost`` (int32),
    ``episode_length`` (int32), ``invalid_action`` (bool), ``overflow`` (bool: a step cost
    exceeded int32; costs are then meaningless).
    """
    action = jnp.asarray(action, jnp.int32)
    vertex = action + 1
    legal = core.is_legal(state.core, vertex)
    c, step_cost = core.eliminate(state.core, vertex)
    v = state.order.shape[-1]
    pos = jnp.clip(state.length, 0, v - 1)
    order = jnp.where((jnp.arange(v) == pos) & legal, vertex, state.order)
    new = EnvState(
        core=c,
        cost=state.cost + step_cost,
        length=state.length + legal.astype(jnp.int32),
        order=order,
        invalid=state.invalid + (~legal).astype(jnp.int32),
        penalty=state.penalty,
    )
    mults = jnp.where(legal, step_cost.astype(jnp.float32), state.penalty)
    reward = -params.reward_scale * mults
    terminated = core.is_terminal(c)
    if params.invalid_mode == "terminate":
        terminated = terminated | ~legal
    truncated = ~legal & (params.invalid_mode == "penalty")
    if params.max_episode_steps is not None:
        truncated = truncated | (new.length + new.invalid >= params.max_episode_steps)
    info = {
        "cost": new.cost,
        "step_cost": step_cost,
        "episode_length": new.length,
        "invalid_action": ~legal,
        "overflow": c.overflow,
    }
    return new, reward, terminated, jnp.asarray(truncated), info


def _select(done: jax.Array, fresh: EnvState, new: EnvState, *, single_graph: bool) -> EnvState:
    """``fresh`` where ``done`` else ``new``. With a single pool graph the graph constants
    (shapes, outputs, sizes, model, penalty) are equal in both, so only the dynamic fields are
    selected (a third of the work of the auto-reset)."""
    if not single_graph:
        return jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, new)
    pick = partial(jnp.where, done)
    c_new, c_fresh = new.core, fresh.core
    c = c_new.replace(
        eliminated=pick(c_fresh.eliminated, c_new.eliminated),
        types=pick(c_fresh.types, c_new.types),
        out_bits=pick(c_fresh.out_bits, c_new.out_bits),
        out_copy=pick(c_fresh.out_copy, c_new.out_copy),
        overflow=pick(c_fresh.overflow, c_new.overflow),
    )
    return new.replace(
        core=c, cost=pick(fresh.cost, new.cost), length=pick(fresh.length, new.length),
        order=pick(fresh.order, new.order), invalid=pick(fresh.invalid, new.invalid),
    )


def step(
    key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams
) -> tuple[dict[str, jax.Array], EnvState, jax.Array, jax.Array, jax.Array, dict[str, jax.Array]]:
    """One transition with auto-reset: ``(obs, state, reward, terminated, truncated, info)``.

    When the episode ends the returned ``obs``/``state`` start a new episode drawn with
    ``key``; ``info["final_order"]`` int32 [V] is the finished episode's order (0-padded) and
    ``info["cost"]`` its total multiplications.
    """
    new, reward, terminated, truncated, info = step_env(state, action, params)
    fresh = _new_episode(*_initial_core(key, params))
    done = terminated | truncated
    out = _select(done, fresh, new, single_graph=params.pool is not None
                  and params.pool.model.shape[0] == 1)
    info = dict(info, final_order=new.order)
    return observation(out, params), out, reward, terminated, truncated, info
