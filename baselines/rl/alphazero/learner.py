"""Learning from self-play: value targets, the replay buffer, the loss and the optax update.

* **Targets.** The value target is the Monte-Carlo return-to-go (no bootstrapping) mapped
  through :func:`value_transform`, R2D2's h(x) = sign(x)(sqrt(|x|+1)-1) + 0.001 x or symlog
  (``docs/rl.md`` §P1.1); the search undoes it with :func:`inverse_value_transform`. The policy
  target is the search's ``action_weights``. :func:`transitions` turns one self-play batch into
  replay entries.
* **Replay** (:class:`Buffer`): a ring buffer whose size is really used (bug 4 of
  ``docs/rl.md`` §P8), written with :func:`replay_add` and sampled uniformly with
  :func:`replay_sample`.
* **Loss** (:func:`loss`): cross-entropy(policy logits, search weights) + ``value_coef`` x
  squared error, plus an L2 weight decay that, unlike the original, is actually added (bug 3).
* **Optimiser** (:func:`make_optimizer`): optax Adam(b1=0.9, eps=1e-7) with a cosine-decayed
  learning rate and a global-norm clip (``docs/rl.md`` §P2.3).
* **Update** (:func:`learn`): ``updates_per_iteration`` gradient steps on uniformly sampled
  batches; inside ``shard_map`` the gradients and metrics are averaged over the device axis.

Every function is pure and jit-able; the network is ``(params, static)`` of
:func:`.network.init_params`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .config import AZConfig

__all__ = [
    "value_transform",
    "inverse_value_transform",
    "Buffer",
    "empty_buffer",
    "transitions",
    "replay_add",
    "replay_sample",
    "loss",
    "make_optimizer",
    "sgd_step",
    "learn",
]

_EPS = 1e-3


# -- value targets ------------------------------------------------------------------------------


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


# -- replay -------------------------------------------------------------------------------------


class Buffer(NamedTuple):
    """Replay transitions (leading axis = capacity): observation, search weights, h(return)."""

    obs: dict[str, jax.Array]
    policy: jax.Array  # f32 [C, V]
    value: jax.Array  # f32 [C] transformed return-to-go
    valid: jax.Array  # bool [C]


def empty_buffer(obs_shapes: dict[str, tuple[tuple[int, ...], Any]], num_actions: int,
                 capacity: int) -> Buffer:
    """An all-invalid buffer of ``capacity`` transitions; ``obs_shapes`` is
    :func:`crosscountry_gym.envs.jax_env.observation_shapes` (key -> (shape, dtype))."""
    return Buffer(
        obs={k: jnp.zeros((capacity, *s), dt) for k, (s, dt) in obs_shapes.items()},
        policy=jnp.zeros((capacity, num_actions), jnp.float32),
        value=jnp.zeros((capacity,), jnp.float32),
        valid=jnp.zeros((capacity,), bool),
    )


def transitions(obs: dict[str, jax.Array], weights: jax.Array, return_to_go: jax.Array,
                active: jax.Array, kind: str = "r2d2") -> Buffer:
    """Replay entries of one self-play batch of time-major arrays ``[T, n, ...]`` (flattened to
    ``[T n, ...]``): policy target = search weights, value target = h(return-to-go), valid =
    the move was played (the episode was not over)."""
    flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731
    return Buffer(
        obs=jax.tree.map(flat, obs),
        policy=flat(jnp.nan_to_num(weights)),
        value=flat(value_transform(return_to_go, kind)),
        valid=flat(active),
    )


def replay_add(buf: Buffer, pos: jax.Array, filled: jax.Array,
               block: Buffer) -> tuple[Buffer, jax.Array, jax.Array]:
    """Write ``block`` at ``pos`` of the ring ``buf``; returns ``(buffer, next pos, filled)``.

    The capacity must be a multiple of the block size (whole iterations are written), so a
    write never straddles the end of the ring.
    """
    capacity, size = buf.valid.shape[0], block.valid.shape[0]
    buf = jax.tree.map(lambda b, x: jax.lax.dynamic_update_slice_in_dim(b, x, pos, axis=0),
                       buf, block)
    return buf, (pos + size) % capacity, jnp.minimum(filled + size, capacity)


def replay_sample(buf: Buffer, filled: jax.Array, key: jax.Array, batch_size: int) -> Buffer:
    """``batch_size`` transitions drawn uniformly (with replacement) from the first ``filled``."""
    idx = jax.random.randint(key, (batch_size,), 0, filled)
    return jax.tree.map(lambda x: x[idx], buf)


# -- loss and update ----------------------------------------------------------------------------


def loss(params: Any, static: Any, batch: Buffer,
         config: AZConfig) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``(total, metrics)`` on ``batch``: policy cross-entropy + ``value_coef`` x value squared
    error (both averaged over the valid transitions) + ``weight_decay`` x sum of squared
    parameters. Metrics: ``policy_loss``, ``policy_kl`` (cross-entropy minus the targets'
    entropy), ``value_loss``."""
    logits, value = jax.vmap(eqx.combine(params, static))(batch.obs)
    logp = jax.nn.log_softmax(logits, axis=-1)
    target = batch.policy
    pol = -jnp.sum(jnp.where(target > 0, target * logp, 0.0), -1)
    ent = -jnp.sum(jnp.where(target > 0, target * jnp.log(target), 0.0), -1)
    val = jnp.square(value - batch.value)
    w = batch.valid.astype(jnp.float32)
    nw = jnp.maximum(w.sum(), 1.0)
    pol_l, val_l = jnp.sum(w * pol) / nw, jnp.sum(w * val) / nw
    l2 = sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(params))
    total = pol_l + config.value_coef * val_l + config.weight_decay * l2
    return total, {"policy_loss": pol_l, "policy_kl": pol_l - jnp.sum(w * ent) / nw,
                   "value_loss": val_l}


def make_optimizer(config: AZConfig) -> optax.GradientTransformation:
    """Global-norm clip, then Adam(b1=0.9, eps=1e-7) with a cosine-decayed learning rate."""
    return optax.chain(
        optax.clip_by_global_norm(config.grad_clip),
        optax.adam(optax.cosine_decay_schedule(config.learning_rate, config.decay_steps),
                   b1=0.9, eps=1e-7),
    )


def sgd_step(params: Any, opt_state: Any, batch: Buffer, *, static: Any, config: AZConfig,
             optimizer: optax.GradientTransformation, axis_name: str | None = None):
    """One gradient step on ``batch``; returns ``(params, opt_state, metrics)``. With
    ``axis_name`` (inside ``shard_map``) the gradients are averaged over that axis first."""
    grads, metrics = jax.grad(loss, has_aux=True)(params, static, batch, config)
    if axis_name is not None:
        grads = jax.lax.pmean(grads, axis_name)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, metrics


def learn(params: Any, opt_state: Any, buf: Buffer, filled: jax.Array, key: jax.Array, *,
          static: Any, config: AZConfig, optimizer: optax.GradientTransformation,
          batch_size: int, shard: jax.Array | int = 0, axis_name: str | None = None):
    """``config.updates_per_iteration`` steps of :func:`sgd_step`, each on ``batch_size``
    transitions sampled from ``buf``; returns ``(params, opt_state, mean metrics)``.

    Update ``u`` samples with ``fold_in(fold_in(key, u), shard)``: every device (``shard`` = its
    index) draws its own local batch, and the metrics are averaged over ``axis_name``.
    """

    def step(carry, u):
        params, opt_state = carry
        k = jax.random.fold_in(jax.random.fold_in(key, u), shard)
        batch = replay_sample(buf, filled, k, batch_size)
        params, opt_state, metrics = sgd_step(params, opt_state, batch, static=static,
                                              config=config, optimizer=optimizer,
                                              axis_name=axis_name)
        return (params, opt_state), metrics

    (params, opt_state), metrics = jax.lax.scan(
        step, (params, opt_state), jnp.arange(config.updates_per_iteration)
    )
    metrics = jax.tree.map(jnp.mean, metrics)
    if axis_name is not None:
        metrics = jax.lax.pmean(metrics, axis_name)
    return params, opt_state, metrics
