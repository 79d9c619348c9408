"""Observation -> network inputs: per-vertex features, the adjacency and the masks.

The AlphaZero network (:mod:`.network`) sees a graph as one token per vertex column of the
environment's observation (:func:`crosscountry_gym.envs.jax_env.observation`). This module turns
one observation (no batch axis) into those tokens' inputs, from local structure only (counts, not
raw ids), so that the network is size-agnostic and permutation-equivariant (``docs/rl.md``,
*The networks*). Pure ``jax.numpy``; the torch twin used by PPO is
:func:`crosscountry_gym.baselines.rl.sb3_agent.torch_vertex_features` (tested equal).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["NUM_FEATURES", "vertex_features", "legal_mask"]

NUM_FEATURES = 15
"""Features per vertex token (the columns of :func:`vertex_features`)."""


def legal_mask(obs: dict[str, jax.Array]) -> jax.Array:
    """bool [V]: the vertices that may be eliminated now (alive and not an output)."""
    return (obs["vertex_mask"] != 0) & (obs["output_mask"] == 0)


def vertex_features(obs: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-vertex input features of one observation (no batch axis).

    Returns ``(features f32 [V, NUM_FEATURES], adjacency f32 [V, V] (row i -> column j: edge
    vertex i -> vertex j), alive bool [V])``. Features: alive, output, legal, log1p of in-degree,
    out-degree, input in-degree, non-copy in/out degrees, copy in/out, sparse (neither dense nor
    copy) in/out, the Markowitz product in x out and its excess over the smallest legal one,
    and log vertex size. Rows of dead (eliminated or padding) vertices are zero.
    """
    et = obs["edge_types"]
    r, v = et.shape
    mi = r - v
    a = (et != 0).astype(jnp.float32)
    cp = (et == -1).astype(jnp.float32)
    sp = a * (et != 1) * (1.0 - cp)
    alive = obs["vertex_mask"] != 0
    out = obs["output_mask"] != 0
    legal = legal_mask(obs)
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
