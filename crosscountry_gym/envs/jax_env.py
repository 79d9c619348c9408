"""Pure functional JAX environment of the elimination game (jit/vmap-able, auto-reset).

The single source the native vector env (:mod:`.vector_env`) and the AlphaZero agent build on.
Modelled on the gymnax / Gymnasium functional-env pattern: all state is an explicit pytree,
every function is pure, randomness comes from explicit keys.

Game (``docs/envs.md``; the paper's game with its invalid-action defect fixed):

* action ``a`` in ``0 .. V-1`` eliminates vertex id ``a + 1`` (``V = max_vertices``);
* reward = ``-reward_scale * step multiplications`` (discount 1, so the return is
  ``-reward_scale * cost(graph, order)``);
* terminated when every non-output vertex is eliminated; never truncated;
* an illegal action (padding, output, eliminated, out of range) leaves the game state unchanged,
  is not recorded in the order and gets reward ``-reward_scale * penalty`` with
  ``info["invalid_action"] = True``. ``invalid_action="mask"`` (default): the episode goes on
  (penalty default 1 multiplication); ``"penalty"``: the episode ends with ``truncated=True``
  (penalty default: the graph's forward-mode cost, so an illegal move never beats finishing in
  forward mode). The Gymnasium shells add the "raise" mode host-side.

Graph sources (``EnvParams``): a *pool* of fixed graphs padded to one size (one task, or
several; ``reset`` draws one uniformly), or a :class:`RandomGraphSpec` (``reset`` samples a
fresh random DAG with the key).

Functions::

    params = make_params(graph_or_graphs | random=RandomGraphSpec(...), cost_model="exact", ...)
    obs, state = reset(key, params)
    obs, state, reward, terminated, truncated, info = step(key, state, action, params)  # auto-reset
    state, reward, terminated, truncated, info = step_env(state, action, params)  # no reset (MCTS)
    obs = observation(state, params); mask = action_mask(state)

With auto-reset, when ``terminated | truncated`` the returned ``obs``/``state`` are those of a new
episode drawn with ``key``, while ``reward``, ``terminated``, ``truncated`` and ``info`` describe
the finished transition (``info["cost"]``, ``info["episode_length"]`` are the finished episode's).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import core
from ..graph import Graph
from ..orders import reference_costs
from ..sparsity import DEFAULT_MODEL, MODELS, CostModel, cost_model_arg
from .random_graphs import RandomGraphSpec, sample_state
from .types import check_invalid_penalty, check_reward_scale, observation_layout

__all__ = [
    "EnvParams",
    "EnvState",
    "make_params",
    "reset",
    "step",
    "step_env",
    "observation",
    "action_mask",
    "observation_shapes",
    "DEFAULT_INVALID_PENALTY",
]

DEFAULT_INVALID_PENALTY = 1.0
INVALID_MODES = ("mask", "penalty")


@dataclasses.dataclass(frozen=True)
class EnvParams:
    """Environment parameters (a pytree; ``random``, ``invalid_mode`` and the padding are static).

    Attributes:
        pool: batched :class:`core.State` [G, ...] of initial states, or ``None`` when graphs
            are sampled from ``random``.
        pool_fwd_cost: float32 [G] forward-mode cost of each pool graph (default penalty of
            ``invalid_mode="penalty"``), or ``None``.
        model: int32 [] cost-model index (:data:`core.MODELS`).
        reward_scale: float32 [] multiplier of ``-multiplications``.
        invalid_penalty: float32 [] multiplications charged for an illegal action; negative
            means "the graph's forward-mode cost".
        random: static :class:`RandomGraphSpec` or ``None``.
        invalid_mode: static ``"mask"`` (episode continues) or ``"penalty"`` (episode truncated).
        max_inputs, max_vertices: static padding of the observation.
    """

    pool: core.State | None
    pool_fwd_cost: jax.Array | None
    model: jax.Array
    reward_scale: jax.Array
    invalid_penalty: jax.Array
    random: RandomGraphSpec | None = None
    invalid_mode: str = "mask"
    max_inputs: int = 0
    max_vertices: int = 0

    @property
    def kind(self) -> str:
        return self.pool.kind if self.pool is not None else self.random.kind

    @property
    def num_actions(self) -> int:
        return self.max_vertices


jax.tree_util.register_dataclass(
    EnvParams,
    data_fields=["pool", "pool_fwd_cost", "model", "reward_scale", "invalid_penalty"],
    meta_fields=["random", "invalid_mode", "max_inputs", "max_vertices"],
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


def make_params(
    graphs: Graph | Sequence[Graph] | None = None,
    *,
    random: RandomGraphSpec | None = None,
    cost_model: CostModel = DEFAULT_MODEL,
    reward_scale: float = 1.0,
    invalid_action: str = "mask",
    invalid_penalty: float | None = None,
    max_vertices: int | None = None,
    max_inputs: int | None = None,
    kind: str = "auto",
    model: CostModel | None = None,
) -> EnvParams:
    """Parameters for a pool of fixed ``graphs`` or for ``random`` graphs (exactly one).

    Pool graphs are padded to the largest (or the given) ``max_inputs`` / ``max_vertices``;
    with ``kind="auto"`` the bitset kernel is used when every graph allows it.
    ``invalid_penalty`` (multiplications, before ``reward_scale``) defaults to 1 for
    ``invalid_action="mask"`` and to the graph's forward-mode cost for ``"penalty"``.
    """
    if (graphs is None) == (random is None):
        raise ValueError("give exactly one of `graphs` (a Graph or list) and `random` (a spec)")
    model = cost_model_arg(cost_model, model)
    if invalid_action not in INVALID_MODES:
        raise ValueError(
            f"unknown invalid_action {invalid_action!r} for the JAX env; use 'mask' or 'penalty' "
            "('raise' is handled by the Gymnasium shells)"
        )
    reward_scale = check_reward_scale(reward_scale)
    invalid_penalty = check_invalid_penalty(invalid_penalty)
    if invalid_penalty is None:
        invalid_penalty = DEFAULT_INVALID_PENALTY if invalid_action == "mask" else -1.0
    m = MODELS.index(model)
    fwd = None
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
        fwd = jnp.asarray([reference_costs(g, model).forward for g in graphs], jnp.float32)
        spec = None
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
    return EnvParams(
        pool=pool,
        pool_fwd_cost=fwd,
        model=jnp.int32(m),
        reward_scale=jnp.float32(reward_scale),
        invalid_penalty=jnp.float32(invalid_penalty),
        random=spec,
        invalid_mode=invalid_action,
        max_inputs=mi,
        max_vertices=mv,
    )


def _initial_core(key: jax.Array, params: EnvParams) -> tuple[core.State, jax.Array]:
    """A fresh core state and its illegal-action penalty (multiplications)."""
    if params.pool is not None:
        g = params.pool.model.shape[0]
        # one graph: a static slice (no random draw, no gather; the fresh state is a constant)
        i = 0 if g == 1 else jax.random.randint(key, (), 0, g)
        s = jax.tree.map(lambda x: x[i], params.pool).replace(model=params.model)
        fwd = params.pool_fwd_cost[i]
    else:
        s = sample_state(
            key, params.random, model=params.model, max_inputs=params.max_inputs,
            max_vertices=params.max_vertices,
        )
        if params.invalid_mode == "penalty":  # forward-mode cost of the sampled graph
            ids = jnp.arange(1, params.max_vertices + 1)
            _, costs = core.eliminate_order(s, jnp.where(core.action_mask(s), ids, 0))
            fwd = jnp.sum(costs).astype(jnp.float32)
        else:
            fwd = jnp.float32(0)
    penalty = jnp.where(params.invalid_penalty < 0, fwd, params.invalid_penalty)
    return s, penalty


def observation_shapes(params: EnvParams) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shapes and dtypes of the observation dict (:func:`.types.observation_layout`)."""
    return observation_layout(params.max_inputs, params.max_vertices)


def observation(state: EnvState, params: EnvParams | None = None) -> dict[str, jax.Array]:
    """The observation dict of ``state``, laid out as :mod:`.types` declares (fixed size,
    zero-padded; legal actions are ``vertex_mask & ~output_mask``, also :func:`action_mask`)."""
    s = state.core
    # Materialise the edge arrays first: otherwise XLA fuses the elimination step that produced
    # them into the observation's per-byte loop and recomputes it there (several times slower).
    # Unused observations are still dropped entirely by dead-code elimination.
    types, bits, copy = jax.lax.optimization_barrier((s.types, s.out_bits, s.out_copy))
    s = s.replace(types=types, out_bits=bits, out_copy=copy)
    v = s.max_vertices
    rows = jnp.arange(s.num_rows)
    verts = jnp.arange(v) < s.num_vertices
    row_ok = (rows < s.num_inputs) | (
        (rows >= s.max_inputs) & (rows - s.max_inputs < s.num_vertices)
    )
    return {
        "edge_types": core.edge_types(s),
        "source_shapes": jnp.where(row_ok[:, None], s.src_shape, 0),
        "vertex_shapes": jnp.where(verts[:, None], s.tgt_shape, 0),
        "vertex_mask": (verts & ~s.eliminated).astype(jnp.int8),
        "output_mask": s.is_output.astype(jnp.int8),
    }


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
    truncated = ~legal & (params.invalid_mode == "penalty")
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
