"""The AlphaZero network (equinox): a vertex-token graph transformer with policy and value heads.

Size-agnostic and permutation-equivariant (fixes bugs 5-7, 10 and 11 of ``docs/rl.md`` §P8):
one token per vertex column from :func:`.features.vertex_features`; each block does graph
message passing along predecessor and successor edges, multi-head self-attention in which
eliminated and padding vertices are masked **out** as keys, and a swish feed-forward layer
(pre-LayerNorm). Policy head: per-token MLP -> one logit per vertex, illegal ones at
:data:`NEG_LOGIT`. Value head: mean- and max-pooled live tokens (plus the log number of legal
moves) -> MLP -> one value in the transformed space of :func:`.learner.value_transform`.

:func:`init_params` builds the parameters on the host with NumPy (the paper's orthogonal
initialisation, ``docs/rl.md`` §P2.2).
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .config import AZConfig
from .features import NUM_FEATURES, legal_mask, vertex_features

__all__ = ["AZNet", "init_params", "NEG_LOGIT"]

NEG_LOGIT = -1e9
"""Logit of an illegal action (finite: keeps softmax and mctx's mixing arithmetic NaN-free)."""


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
    f32 [])``; illegal actions get logit :data:`NEG_LOGIT`; the value is in the transformed space.
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
        legal = legal_mask(obs)
        h = jax.vmap(self.embed)(f)
        for blk in self.blocks:
            h = blk(h, adj, alive)
        h = jax.vmap(self.ln_f)(h)
        logit = jax.vmap(lambda t: self.pol_out(jax.nn.swish(self.pol_hidden(t)))[0])(h)
        logits = jnp.where(legal, logit, NEG_LOGIT)
        w = alive.astype(jnp.float32)
        n = jnp.maximum(w.sum(), 1.0)
        mean = (h * w[:, None]).sum(0) / n
        mx = jnp.max(jnp.where(alive[:, None], h, -1e4), 0)
        pooled = jnp.concatenate([mean, mx, jnp.log1p(legal.sum(keepdims=True).astype(jnp.float32))])
        value = self.val_out(jax.nn.swish(self.val_hidden(pooled)))[0]
        return logits, value


def init_params(config: AZConfig, seed: int) -> tuple[Any, AZNet]:
    """``(params, static)`` of a fresh :class:`AZNet`, initialised on the host with NumPy;
    ``eqx.combine(params, static)`` is the network.

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
