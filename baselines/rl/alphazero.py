"""AlphaZero for the elimination game: Gumbel MuZero search (mctx) over the true JAX dynamics.

The setup follows the paper's AlphaZero (``spec/rl_setups.md`` §2) with its training-code bugs
fixed (§8):

* **Search.** ``mctx.gumbel_muzero_policy`` with the functional environment
  (:func:`crosscountry_gym.envs.jax_env.step_env`) as the recurrent function, i.e. a perfect
  model: reward = -(multiplications of the step), discount 1 (0 once the game is over),
  ``invalid_actions`` = the env's action mask at the root and illegal logits at -1e9 inside the
  tree (mctx's interior selection then never picks them: the scores of the legal children sum to
  a positive number, an illegal child scores ~0). Q-values use
  ``qtransform_completed_by_mix_value(value_scale, maxvisit_init, rescale_values=True)``.
  Executed action: ``policy_output.action``; policy target: ``policy_output.action_weights``.
* **Network** (equinox, :class:`AZNet`): size-agnostic and permutation-equivariant (fixes bugs 5-7,
  10, 11). One token per vertex column built from local structure (degrees, copy/sparse edge
  counts, shapes, the Markowitz product in_degree x out_degree, masks); each block does graph
  message passing along predecessor and successor edges, multi-head self-attention in which
  eliminated and padding vertices are masked **out** as keys, and a swish feed-forward layer
  (pre-LayerNorm). Policy head: per-token MLP -> one logit per vertex, illegal ones at -1e9.
  Value head: pooled tokens -> MLP -> value in the transformed space.
* **Targets and loss.** Value target = Monte-Carlo return-to-go (no bootstrapping) mapped
  through the R2D2 transform h(x) = sign(x)(sqrt(|x|+1)-1) + 0.001 x ("symlog" optional); the
  network's output goes back through h^-1 before it enters the search. Loss =
  cross-entropy(policy logits, search weights) + ``value_coef`` * squared error, plus an optional
  L2 weight decay that, unlike the original, is actually added (bug 3).
* **Optimiser**: optax Adam(b1=0.9, eps=1e-7), cosine-decayed learning rate, global-norm clip.
* **Replay buffer**: a ring buffer of the last ``buffer_iterations`` iterations of self-play
  transitions whose size is really used (bug 4); ``updates_per_iteration`` gradient steps on
  uniformly sampled batches per iteration.
* **Everything under jit**: one iteration (self-play of ``num_envs`` complete episodes with the
  search at every move, buffer write, gradient steps) is one compiled call.
* **Data parallelism** with ``jax.sharding``: a 1-D ``Mesh`` over the devices (axis "data"),
  the iteration wrapped in ``jax.shard_map``. Environments and the replay buffer are split
  across devices; parameters and optimiser state are replicated; gradients are averaged with
  ``lax.pmean``. Every environment's randomness is derived from its *global* index, so
  self-play gives the same episodes on 1 or N devices (tested with
  ``XLA_FLAGS=--xla_force_host_platform_device_count=2``). Multi-host: call
  ``jax.distributed.initialize(...)`` first (``docs/rl.md``); the mesh then spans
  ``jax.devices()`` of all processes.
* **Best order** (bug 3's ``get_best_act_seq``): the env records each episode's order; the host
  re-costs every new best with the NumPy reference (:class:`..training.RunRecorder`).

Imports jax, mctx, equinox and optax; never imported by ``crosscountry_gym.baselines``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import mctx
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from crosscountry_gym import core
from crosscountry_gym.envs import jax_env as E
from crosscountry_gym.graph import Graph

from .training import RunRecorder, TrainResult, load_graph

__all__ = [
    "AZConfig",
    "AZNet",
    "AlphaZero",
    "train",
    "value_transform",
    "inverse_value_transform",
    "vertex_features",
    "NUM_FEATURES",
]

_COMPILED: dict[tuple, Callable] = {}  # jitted iteration per (graph, config, model, devices)
_NEG = -1e9  # logit of an illegal action (finite: keeps softmax / mixing arithmetic NaN-free)
_AXIS = "data"


@dataclasses.dataclass(frozen=True)
class AZConfig:
    """Hyper-parameters. Paper values (``rl_setups.md`` §2) where CPU budgets allow; the
    defaults that differ (network width/depth, batch, updates per iteration, buffer) are sized for
    a shared 2-core CPU and documented in ``docs/rl.md``."""

    num_envs: int = 16
    num_simulations: int = 50
    max_num_considered_actions: int = 5
    gumbel_scale: float = 1.0
    value_scale: float = 0.1
    maxvisit_init: float = 50.0
    d_model: int = 32
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int = 64
    learning_rate: float = 1e-3
    decay_steps: int = 5000
    grad_clip: float = 0.5
    weight_decay: float = 0.0
    value_coef: float = 10.0
    value_transform: str = "r2d2"
    batch_size: int = 512
    updates_per_iteration: int = 16
    buffer_iterations: int = 4

    def __post_init__(self) -> None:
        for name in ("num_envs", "num_simulations", "max_num_considered_actions", "d_model",
                     "num_layers", "num_heads", "ff_dim", "decay_steps", "batch_size",
                     "updates_per_iteration", "buffer_iterations"):
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"AZConfig.{name} must be a positive int, got {val!r}")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of num_heads "
                             f"({self.num_heads})")
        if self.value_transform not in ("r2d2", "symlog"):
            raise ValueError(f"value_transform must be 'r2d2' or 'symlog', got "
                             f"{self.value_transform!r}")
        for name in ("learning_rate", "grad_clip", "value_scale", "maxvisit_init"):
            if not getattr(self, name) > 0:
                raise ValueError(f"AZConfig.{name} must be > 0, got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# value transforms (rl_setups.md §1.1)

_EPS = 1e-3


def value_transform(x: jax.Array, kind: str = "r2d2") -> jax.Array:
    """h(x): R2D2's sign(x)(sqrt(|x|+1)-1) + 1e-3 x, or symlog(x) = sign(x) log(1+|x|)."""
    if kind == "symlog":
        return jnp.sign(x) * jnp.log1p(jnp.abs(x))
    return jnp.sign(x) * (jnp.sqrt(jnp.abs(x) + 1.0) - 1.0) + _EPS * x


def inverse_value_transform(y: jax.Array, kind: str = "r2d2") -> jax.Array:
    """h^-1(y), the exact inverse of :func:`value_transform`."""
    if kind == "symlog":
        return jnp.sign(y) * jnp.expm1(jnp.abs(y))
    a = (jnp.sqrt(1.0 + 4.0 * _EPS * (jnp.abs(y) + 1.0 + _EPS)) - 1.0) / (2.0 * _EPS)
    return jnp.sign(y) * (a * a - 1.0)


# --------------------------------------------------------------------------------------------
# network


NUM_FEATURES = 15


def vertex_features(obs: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-vertex input features of one observation (no batch axis).

    Returns ``(features f32 [V, NUM_FEATURES], adjacency f32 [V, V] (row i -> column j: edge
    vertex i -> vertex j), alive bool [V])``. Features: alive, output, legal, log1p of in-degree,
    out-degree, input in-degree, non-copy in/out degrees, copy in/out, sparse (neither dense nor
    copy) in/out, the Markowitz product in x out and its excess over the smallest legal one,
    and log vertex size. Counts, not raw ids, so the encoder is size-agnostic.
    """
    et = obs["edge_types"]
    r, v = et.shape
    mi = r - v
    a = (et != 0).astype(jnp.float32)
    cp = (et == -1).astype(jnp.float32)
    sp = a * (et != 1) * (1.0 - cp)
    alive = obs["vertex_mask"] != 0
    out = obs["output_mask"] != 0
    legal = alive & ~out
    adj = a[mi:]
    in_deg, out_deg = a.sum(0), adj.sum(1)
    in_cp, out_cp = cp.sum(0), cp[mi:].sum(1)
    mk = (in_deg - in_cp) * (out_deg - out_cp)
    lmk = jnp.log1p(mk)
    lmin = jnp.min(jnp.where(legal, lmk, jnp.inf))
    vsize = jnp.prod(jnp.maximum(obs["vertex_shapes"], 1), -1).astype(jnp.float32)
    f = jnp.stack(
        [
            alive, out, legal,
            jnp.log1p(in_deg), jnp.log1p(out_deg), jnp.log1p(a[:mi].sum(0)),
            jnp.log1p(in_deg - in_cp), jnp.log1p(out_deg - out_cp),
            jnp.log1p(in_cp), jnp.log1p(out_cp),
            jnp.log1p(sp.sum(0)), jnp.log1p(sp[mi:].sum(1)),
            lmk, jnp.where(legal, lmk - lmin, 0.0), jnp.log(vsize),
        ],
        axis=-1,
    ).astype(jnp.float32)
    return f * alive[:, None], adj, alive


class _Block(eqx.Module):
    ln1: eqx.nn.LayerNorm
    msg_in: eqx.nn.Linear
    msg_out: eqx.nn.Linear
    ln2: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    ln3: eqx.nn.LayerNorm
    ff_in: eqx.nn.Linear
    ff_out: eqx.nn.Linear

    def __init__(self, d: int, heads: int, ff: int, *, key: jax.Array):
        k = jax.random.split(key, 5)
        self.ln1, self.ln2, self.ln3 = (eqx.nn.LayerNorm(d) for _ in range(3))
        self.msg_in = eqx.nn.Linear(3 * d, d, key=k[0])
        self.msg_out = eqx.nn.Linear(d, d, key=k[1])
        self.attn = eqx.nn.MultiheadAttention(heads, d, key=k[2])
        self.ff_in = eqx.nn.Linear(d, ff, key=k[3])
        self.ff_out = eqx.nn.Linear(ff, d, use_bias=False, key=k[4])

    def __call__(self, h: jax.Array, adj: jax.Array, alive: jax.Array) -> jax.Array:
        lin = jax.vmap  # token-wise application
        x = lin(self.ln1)(h)
        pred = adj.T @ x / jnp.maximum(adj.sum(0), 1.0)[:, None]  # mean over predecessors
        succ = adj @ x / jnp.maximum(adj.sum(1), 1.0)[:, None]  # mean over successors
        m = jax.nn.swish(lin(self.msg_in)(jnp.concatenate([x, pred, succ], -1)))
        h = h + lin(self.msg_out)(m)
        x = lin(self.ln2)(h)
        mask = jnp.broadcast_to(alive[None, :], (h.shape[0], h.shape[0]))  # keys: live only
        h = h + self.attn(x, x, x, mask=mask)
        x = lin(self.ln3)(h)
        return h + lin(self.ff_out)(jax.nn.swish(lin(self.ff_in)(x)))


class AZNet(eqx.Module):
    """Vertex-token graph transformer with policy and value heads (module docstring).

    ``__call__(obs)`` on one observation dict (no batch axis) returns ``(logits f32 [V], value
    f32 [])``; illegal actions get logit -1e9; the value is in the transformed space.
    """

    embed: eqx.nn.Linear
    blocks: tuple[_Block, ...]
    ln_f: eqx.nn.LayerNorm
    pol_hidden: eqx.nn.Linear
    pol_out: eqx.nn.Linear
    val_hidden: eqx.nn.Linear
    val_out: eqx.nn.Linear

    def __init__(self, cfg: AZConfig, *, key: jax.Array):
        d = cfg.d_model
        k = jax.random.split(key, cfg.num_layers + 5)
        self.embed = eqx.nn.Linear(NUM_FEATURES, d, key=k[0])
        self.blocks = tuple(_Block(d, cfg.num_heads, cfg.ff_dim, key=k[5 + i])
                            for i in range(cfg.num_layers))
        self.ln_f = eqx.nn.LayerNorm(d)
        self.pol_hidden = eqx.nn.Linear(d, d, key=k[1])
        self.pol_out = eqx.nn.Linear(d, 1, key=k[2])
        self.val_hidden = eqx.nn.Linear(2 * d + 1, d, key=k[3])
        self.val_out = eqx.nn.Linear(d, 1, key=k[4])

    def __call__(self, obs: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
        f, adj, alive = vertex_features(obs)
        legal = alive & (obs["output_mask"] == 0)
        h = jax.vmap(self.embed)(f)
        for blk in self.blocks:
            h = blk(h, adj, alive)
        h = jax.vmap(self.ln_f)(h)
        logit = jax.vmap(lambda t: self.pol_out(jax.nn.swish(self.pol_hidden(t)))[0])(h)
        logits = jnp.where(legal, logit, _NEG)
        w = alive.astype(jnp.float32)
        n = jnp.maximum(w.sum(), 1.0)
        mean = (h * w[:, None]).sum(0) / n
        mx = jnp.max(jnp.where(alive[:, None], h, -1e4), 0)
        pooled = jnp.concatenate([mean, mx, jnp.log1p(legal.sum(keepdims=True).astype(jnp.float32))])
        value = self.val_out(jax.nn.swish(self.val_hidden(pooled)))[0]
        return logits, value


def init_params(config: AZConfig, seed: int) -> tuple[Any, AZNet]:
    """``(params, static)`` of a fresh :class:`AZNet`, initialised on the host with NumPy.

    Orthogonal weights with gain sqrt(2) (the paper's initialisation) and zero biases; the two
    output layers get gain 0.01 so that the initial policy is near-uniform and the initial value
    near 0; LayerNorms start at the identity. (Host initialisation also avoids compiling a
    threefry kernel per layer, which takes seconds on a busy CPU.)
    """
    abstract = eqx.filter_eval_shape(AZNet, config, key=jax.random.PRNGKey(0))
    shapes, static = eqx.partition(abstract, lambda x: isinstance(x, jax.ShapeDtypeStruct))
    rng = np.random.default_rng(seed)

    def init(path, leaf):
        if leaf is None:
            return None
        names = [getattr(p, "name", "") for p in path]
        if names[-1] == "weight" and len(leaf.shape) == 2:
            gain = 0.01 if names[0] in ("pol_out", "val_out") else math.sqrt(2.0)
            n, m = leaf.shape
            q, r = np.linalg.qr(rng.standard_normal((max(n, m), min(n, m))))
            q = q * np.sign(np.diag(r))
            w = q if n >= m else q.T
            return (gain * w[:n, :m]).astype(leaf.dtype)
        if names[-1] == "weight":  # LayerNorm scale
            return np.ones(leaf.shape, leaf.dtype)
        return np.zeros(leaf.shape, leaf.dtype)

    return jax.tree_util.tree_map_with_path(init, shapes), static


# --------------------------------------------------------------------------------------------
# training state


class Buffer(NamedTuple):
    """Replay transitions (leading axis = capacity): observation, search weights, h(return)."""

    obs: dict[str, jax.Array]
    policy: jax.Array  # f32 [C, V]
    value: jax.Array  # f32 [C] transformed return-to-go
    valid: jax.Array  # bool [C]


class TrainState(NamedTuple):
    params: Any  # equinox array leaves of AZNet (replicated)
    opt_state: Any  # replicated
    buffer: Buffer  # sharded over devices along the capacity axis
    pos: jax.Array  # int32 [] next write position in each device's buffer (replicated)
    filled: jax.Array  # int32 [] transitions held in each device's buffer (replicated)
    key: jax.Array  # uint32 [2] replicated
    step: jax.Array  # int32 [] iterations done


class AlphaZero:
    """An AlphaZero learner for one graph, data-parallel over ``devices``.

    Args:
        graph: the graph to optimise (a task's ``.graph`` or any :class:`Graph`).
        config: :class:`AZConfig`.
        seed: the run's seed (initialisation, search noise, sampling).
        cost_model: "exact" or "alphagrad".
        devices: devices for the data-parallel mesh (default: ``jax.devices()``, all devices of
            all processes). ``config.num_envs`` and ``config.batch_size`` must be multiples of
            their number.

    ``iterate()`` runs one compiled iteration and returns host-side results;
    ``save(dir)`` / ``load(dir)`` checkpoint the full training state (parameters, optimiser,
    replay buffer, random key), so a resumed run continues exactly.
    """

    def __init__(self, graph: Graph, config: AZConfig = AZConfig(), *, seed: int = 0,
                 cost_model: str = "exact", devices: list[jax.Device] | None = None) -> None:
        if not isinstance(graph, Graph):
            raise ValueError(f"graph must be a Graph, got {type(graph).__name__}")
        if graph.num_intermediates < 1:
            raise ValueError("the graph has no eliminable vertex: nothing to learn")
        self.graph, self.config, self.seed = graph, config, int(seed)
        self.cost_model = cost_model
        devices = list(jax.devices() if devices is None else devices)
        nd = len(devices)
        if config.num_envs % nd or config.batch_size % nd:
            raise ValueError(
                f"num_envs ({config.num_envs}) and batch_size ({config.batch_size}) must be "
                f"multiples of the number of devices ({nd})"
            )
        self.mesh = Mesh(np.asarray(devices), (_AXIS,))
        self.num_devices = nd
        self.env_params = E.make_params(graph, model=cost_model)
        self.horizon = graph.num_intermediates  # every episode has exactly this many moves
        self.local_envs = config.num_envs // nd
        self.local_capacity = config.buffer_iterations * self.local_envs * self.horizon
        params, self.static = init_params(config, self.seed)
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(config.grad_clip),
            optax.adam(optax.cosine_decay_schedule(config.learning_rate, config.decay_steps),
                       b1=0.9, eps=1e-7),
        )
        self._repl = NamedSharding(self.mesh, P())
        self._shard = NamedSharding(self.mesh, P(_AXIS))
        self.state_sharding = TrainState(
            params=jax.tree.map(lambda _: self._repl, params),
            opt_state=jax.tree.map(lambda _: self._repl,
                                   jax.eval_shape(self.optimizer.init, params)),
            buffer=jax.tree.map(lambda _: self._shard,
                                jax.eval_shape(functools.partial(self._empty_buffer, 1))),
            pos=self._repl, filled=self._repl, key=self._repl, step=self._repl,
        )
        self.state = jax.jit(self._init_state, out_shardings=self.state_sharding)(params)
        cache_key = (graph.fingerprint, config, cost_model, tuple(d.id for d in devices))
        if cache_key not in _COMPILED:  # a resumed run in the same process reuses the compile
            _COMPILED[cache_key] = self._build_iteration()
        self._iterate = _COMPILED[cache_key]

    # -- construction -------------------------------------------------------------------------

    def _empty_buffer(self, capacity: int) -> Buffer:
        shapes = E.observation_shapes(self.env_params)
        v = self.env_params.max_vertices
        return Buffer(
            obs={k: jnp.zeros((capacity, *s), dt) for k, (s, dt) in shapes.items()},
            policy=jnp.zeros((capacity, v), jnp.float32),
            value=jnp.zeros((capacity,), jnp.float32),
            valid=jnp.zeros((capacity,), bool),
        )

    def _init_state(self, params) -> TrainState:
        return TrainState(
            params=params,
            opt_state=self.optimizer.init(params),
            buffer=self._empty_buffer(self.local_capacity * self.num_devices),
            pos=jnp.int32(0), filled=jnp.int32(0),
            key=jax.random.PRNGKey(self.seed + 1), step=jnp.int32(0),
        )

    def model(self, params=None) -> AZNet:
        """The current network (host copy of replicated parameters)."""
        return eqx.combine(self.state.params if params is None else params, self.static)

    # -- search -------------------------------------------------------------------------------

    def _evaluate(self, params, obs):
        """Batched network: logits [B, V], value [B] in return units (h^-1 applied)."""
        logits, v = jax.vmap(eqx.combine(params, self.static))(obs)
        return logits, inverse_value_transform(v, self.config.value_transform)

    def _recurrent_fn(self, params, rng, action, state: E.EnvState):
        del rng
        was_over = jax.vmap(core.is_terminal)(state.core)
        new, reward, term, _, _ = jax.vmap(E.step_env, (0, 0, None))(state, action, self.env_params)
        logits, value = self._evaluate(params, jax.vmap(E.observation)(new))
        over = term | was_over
        out = mctx.RecurrentFnOutput(
            reward=jnp.where(was_over, 0.0, reward),
            discount=jnp.where(over, 0.0, 1.0),
            prior_logits=logits,
            value=jnp.where(over, 0.0, value),
        )
        return out, new

    def search(self, params, keys: jax.Array, state: E.EnvState):
        """Gumbel MuZero search from a batch of env states; one key per state.

        Each state is searched as its own batch of one (vmapped), so its result depends only on
        its own key: self-play is identical however the batch is split over devices.
        Returns ``(action int32 [B], action_weights f32 [B, V])``.
        """
        cfg = self.config
        qtransform = functools.partial(
            mctx.qtransform_completed_by_mix_value, value_scale=cfg.value_scale,
            maxvisit_init=cfg.maxvisit_init, rescale_values=True,
        )

        def one(key, st):
            st1 = jax.tree.map(lambda x: x[None], st)
            logits, value = self._evaluate(params, jax.vmap(E.observation)(st1))
            root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=st1)
            out = mctx.gumbel_muzero_policy(
                params, key, root, self._recurrent_fn, cfg.num_simulations,
                invalid_actions=~jax.vmap(E.action_mask)(st1),
                qtransform=qtransform,
                max_num_considered_actions=cfg.max_num_considered_actions,
                gumbel_scale=cfg.gumbel_scale,
            )
            return out.action[0], out.action_weights[0]

        return jax.vmap(one)(keys, state)

    # -- one iteration (per device, inside shard_map) -----------------------------------------

    def _self_play(self, params, key: jax.Array, first_env: jax.Array):
        n, t = self.local_envs, self.horizon
        env_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(first_env + jnp.arange(n))
        reset_keys, move_keys = env_keys, jax.vmap(lambda k: jax.random.split(k, t))(env_keys)
        _, st0 = jax.vmap(E.reset, (0, None))(reset_keys, self.env_params)

        def move(st, keys):
            obs = jax.vmap(E.observation)(st)
            active = ~jax.vmap(core.is_terminal)(st.core)
            action, weights = self.search(params, keys, st)
            new, reward, _, _, _ = jax.vmap(E.step_env, (0, 0, None))(st, action, self.env_params)
            return new, (obs, weights, jnp.where(active, reward, 0.0), active)

        final, (obs, weights, rewards, active) = jax.lax.scan(
            move, st0, jnp.swapaxes(move_keys, 0, 1)
        )
        rtg = jnp.cumsum(rewards[::-1], axis=0)[::-1]  # return-to-go from each state [T, n]
        return final, obs, weights, rtg, active

    def _loss(self, params, batch: Buffer):
        cfg = self.config
        logits, value = jax.vmap(eqx.combine(params, self.static))(batch.obs)
        logp = jax.nn.log_softmax(logits, axis=-1)
        target = batch.policy
        pol = -jnp.sum(jnp.where(target > 0, target * logp, 0.0), -1)
        ent = -jnp.sum(jnp.where(target > 0, target * jnp.log(target), 0.0), -1)
        val = jnp.square(value - batch.value)
        w = batch.valid.astype(jnp.float32)
        nw = jnp.maximum(w.sum(), 1.0)
        pol_l, val_l = jnp.sum(w * pol) / nw, jnp.sum(w * val) / nw
        l2 = sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(params))
        total = pol_l + cfg.value_coef * val_l + cfg.weight_decay * l2
        return total, {"policy_loss": pol_l, "policy_kl": pol_l - jnp.sum(w * ent) / nw,
                       "value_loss": val_l}

    def _device_iteration(self, ts: TrainState):
        cfg = self.config
        dev = jax.lax.axis_index(_AXIS)
        key, k_play, k_upd = jax.random.split(ts.key, 3)
        final, obs, weights, rtg, active = self._self_play(ts.params, k_play, dev * self.local_envs)
        flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731  [T, n, ...] -> [T n, ...]
        block = Buffer(
            obs=jax.tree.map(flat, obs),
            policy=flat(jnp.nan_to_num(weights)),
            value=flat(value_transform(rtg, cfg.value_transform)),
            valid=flat(active),
        )
        bsz = block.valid.shape[0]
        buf = jax.tree.map(
            lambda b, x: jax.lax.dynamic_update_slice_in_dim(b, x, ts.pos, axis=0),
            ts.buffer, block,
        )
        pos = (ts.pos + bsz) % self.local_capacity
        filled = jnp.minimum(ts.filled + bsz, self.local_capacity)
        local_batch = cfg.batch_size // self.num_devices

        def update(carry, u):
            params, opt_state = carry
            k = jax.random.fold_in(jax.random.fold_in(k_upd, u), dev)
            idx = jax.random.randint(k, (local_batch,), 0, filled)
            batch = jax.tree.map(lambda x: x[idx], buf)
            grads, metrics = jax.grad(self._loss, has_aux=True)(params, batch)
            grads = jax.lax.pmean(grads, _AXIS)
            upd, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, upd), opt_state), metrics

        (params, opt_state), metrics = jax.lax.scan(
            update, (ts.params, ts.opt_state), jnp.arange(cfg.updates_per_iteration)
        )
        metrics = jax.lax.pmean(jax.tree.map(jnp.mean, metrics), _AXIS)
        out = {"cost": final.cost, "order": final.order, "length": final.length,
               "invalid": final.invalid, **metrics}
        new = TrainState(params, opt_state, buf, pos, filled, key, ts.step + 1)
        return new, out

    def _build_iteration(self) -> Callable[[TrainState], tuple[TrainState, dict]]:
        spec = jax.tree.map(lambda s: s.spec, self.state_sharding)
        out_spec = {"cost": P(_AXIS), "order": P(_AXIS), "length": P(_AXIS),
                    "invalid": P(_AXIS), "policy_loss": P(), "policy_kl": P(),
                    "value_loss": P()}
        fn = jax.shard_map(self._device_iteration, mesh=self.mesh, in_specs=(spec,),
                           out_specs=(spec, out_spec), check_vma=False)
        return jax.jit(fn, donate_argnums=0)

    # -- host API -----------------------------------------------------------------------------

    def iterate(self) -> dict[str, Any]:
        """Run one iteration; returns host NumPy ``cost`` [num_envs], ``order`` [num_envs, V]
        (complete orders, 0-padded), ``length``, ``invalid`` and the mean losses."""
        self.state, out = self._iterate(self.state)
        out = _to_host(out)
        if np.any(out["invalid"]) or np.any(out["length"] != self.horizon):
            raise RuntimeError("self-play took an illegal action or stopped early; this is a bug")
        return out

    def save(self, directory: str | Path) -> None:
        """Write ``alphazero.npz`` (all state leaves) and ``alphazero.json`` (config) to
        ``directory``."""
        directory = Path(directory)
        leaves = _to_host(jax.tree.leaves(self.state))
        if jax.process_index() == 0:
            np.savez(directory / "alphazero.npz", *leaves)
            meta = {"config": self.config.as_dict(), "num_devices": self.num_devices,
                    "seed": self.seed, "cost_model": self.cost_model,
                    "fingerprint": self.graph.fingerprint}
            (directory / "alphazero.json").write_text(json.dumps(meta, indent=1))

    def load(self, directory: str | Path) -> None:
        """Restore a state written by :meth:`save` (same graph, config and device count)."""
        directory = Path(directory)
        meta = json.loads((directory / "alphazero.json").read_text())
        mine = {"config": self.config.as_dict(), "num_devices": self.num_devices,
                "cost_model": self.cost_model, "fingerprint": self.graph.fingerprint}
        for k, v in mine.items():
            if meta.get(k) != v:
                raise ValueError(f"checkpoint {directory} has {k}={meta.get(k)!r}, this run "
                                 f"has {k}={v!r}; resume with the same settings")
        with np.load(directory / "alphazero.npz") as z:
            leaves = [z[f"arr_{i}"] for i in range(len(z.files))]
        treedef = jax.tree.structure(self.state)
        cur = jax.tree.leaves(self.state)
        if len(leaves) != len(cur) or any(
            a.shape != b.shape or a.dtype != b.dtype for a, b in zip(leaves, cur, strict=True)
        ):
            raise ValueError(f"checkpoint {directory} does not match this model's state layout")
        shardings = jax.tree.leaves(self.state_sharding,
                                    is_leaf=lambda x: isinstance(x, NamedSharding))
        self.state = jax.tree.unflatten(
            treedef, [jax.device_put(x, s) for x, s in zip(leaves, shardings, strict=True)]
        )


def _to_host(tree):
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


# --------------------------------------------------------------------------------------------
# training loop


def train(
    task: str | Graph,
    *,
    seed: int = 0,
    budget_s: float,
    out_dir: str | Path,
    resume: bool = False,
    config: AZConfig | None = None,
    cost_model: str = "exact",
    max_iterations: int | None = None,
    checkpoint_every_s: float = 120.0,
    on_log: Callable[[RunRecorder, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train AlphaZero on ``task`` until ``budget_s`` seconds of run time (or
    ``max_iterations``) are used; writes the run directory (see :class:`RunRecorder`).

    ``on_log(recorder, row)`` is called after every iteration (the CLI's progress bar).
    """
    config = config or AZConfig()
    name, graph = load_graph(task)
    rec = RunRecorder(
        out_dir, graph if isinstance(task, Graph) else name, method="alphazero", seed=seed,
        cost_model=cost_model, budget_s=budget_s,
        extra_fields=("policy_loss", "policy_kl", "value_loss"),
        config=config.as_dict(), resume=resume,
    )
    agent = AlphaZero(graph, config, seed=seed, cost_model=cost_model)
    if resume:
        agent.load(rec.checkpoint_dir)
    last_ckpt = rec.elapsed_s
    done = 0
    while not rec.out_of_time() and (max_iterations is None or done < max_iterations):
        out = agent.iterate()
        done += 1
        orders = [o[: agent.horizon] for o in out["order"]]
        rec.add_env_steps(len(orders) * agent.horizon)
        rec.record_episodes(orders, out["cost"])
        row = rec.log(out["cost"], policy_loss=out["policy_loss"], policy_kl=out["policy_kl"],
                      value_loss=out["value_loss"])
        if on_log is not None:
            on_log(rec, row)
        if rec.elapsed_s - last_ckpt >= checkpoint_every_s:
            rec.save_checkpoint(agent.save)
            last_ckpt = rec.elapsed_s
    rec.save_checkpoint(agent.save)
    return rec.write_outputs()


def moves_per_second(graph: Graph, config: AZConfig, *, seed: int = 0, repeats: int = 2) -> float:
    """Self-play throughput: moves (searched env steps) per second of one jitted iteration,
    compile time excluded (measures ``repeats`` iterations after a warm-up one)."""
    import time

    agent = AlphaZero(graph, config, seed=seed)
    agent.iterate()
    t = time.perf_counter()
    for _ in range(repeats):
        agent.iterate()
    dt = time.perf_counter() - t
    return repeats * config.num_envs * agent.horizon / dt
