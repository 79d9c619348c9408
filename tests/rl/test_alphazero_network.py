"""The equinox network (baselines/rl/alphazero/network.py): masking, equivariance, init."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mctx")
pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402

from crosscountry_gym.baselines.rl import alphazero as az  # noqa: E402
from crosscountry_gym.baselines.rl.alphazero.network import NEG_LOGIT  # noqa: E402

SMALL = az.AZConfig(num_envs=2, num_simulations=4, d_model=16, num_layers=1, num_heads=2,
                    ff_dim=32, batch_size=8, updates_per_iteration=2)


def test_network_masks_illegal_and_is_permutation_equivariant(tiny_graph, observe):
    params, static = az.init_params(SMALL, seed=1)
    net = eqx.combine(params, static)
    obs = observe(tiny_graph, order=tiny_graph.eliminable[:3])
    logits, value = eqx.filter_jit(net)(obs)
    legal = (np.asarray(obs["vertex_mask"]) == 1) & (np.asarray(obs["output_mask"]) == 0)
    assert np.all(np.asarray(logits)[~legal] <= -1e8) and np.all(np.asarray(logits)[legal] > -1e3)
    # relabel the vertices: the logits follow the relabelling, the value does not change
    v = obs["vertex_mask"].shape[0]
    mi = obs["edge_types"].shape[0] - v
    perm = np.random.default_rng(0).permutation(v)
    rows = np.r_[np.arange(mi), mi + perm]
    pobs = {
        "edge_types": obs["edge_types"][rows][:, perm],
        "source_shapes": obs["source_shapes"][rows],
        "vertex_shapes": obs["vertex_shapes"][perm],
        "vertex_mask": obs["vertex_mask"][perm],
        "output_mask": obs["output_mask"][perm],
    }
    plogits, pvalue = eqx.filter_jit(net)(pobs)
    np.testing.assert_allclose(np.asarray(plogits), np.asarray(logits)[perm], rtol=1e-4, atol=1e-4)
    assert float(pvalue) == pytest.approx(float(value), abs=1e-4)


def test_init_params_is_seeded_orthogonal_and_starts_near_uniform(tiny_graph, observe):
    params, static = az.init_params(SMALL, seed=3)
    again, _ = az.init_params(SMALL, seed=3)
    other, _ = az.init_params(SMALL, seed=4)
    assert all(np.array_equal(a, b) for a, b in
               zip(jax.tree.leaves(params), jax.tree.leaves(again), strict=True))
    assert not np.array_equal(np.asarray(params.embed.weight), np.asarray(other.embed.weight))
    # orthogonal with gain sqrt(2): W W^T = 2 I on the short side; biases zero, LayerNorm = id
    w = np.asarray(params.embed.weight)  # [d_model, NUM_FEATURES]
    np.testing.assert_allclose(w.T @ w, 2.0 * np.eye(w.shape[1]), atol=1e-5)
    assert not np.asarray(params.embed.bias).any()
    assert np.all(np.asarray(params.ln_f.weight) == 1) and not np.asarray(params.ln_f.bias).any()
    # output layers at gain 0.01: near-uniform legal logits, value near 0
    net = eqx.combine(params, static)
    logits, value = eqx.filter_jit(net)(observe(tiny_graph))
    legal = np.asarray(logits) > NEG_LOGIT / 2
    assert np.ptp(np.asarray(logits)[legal]) < 0.1 and abs(float(value)) < 0.1
