"""Observation -> network inputs (baselines/rl/alphazero/features.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mctx")
pytest.importorskip("equinox")

from crosscountry_gym.baselines.rl.alphazero import NUM_FEATURES, vertex_features  # noqa: E402
from crosscountry_gym.baselines.rl.alphazero.features import legal_mask  # noqa: E402


def test_features_by_hand(tiny_graph, observe):
    done = list(tiny_graph.eliminable[:4])
    obs = observe(tiny_graph, order=done)
    f, adj, alive = (np.asarray(x) for x in vertex_features(obs))
    v = tiny_graph.num_vertices
    assert f.shape[-1] == NUM_FEATURES and adj.shape == (v, v)
    # alive = not eliminated; dead rows are all zero
    assert alive.tolist() == [k not in done for k in range(1, v + 1)]
    assert not f[~alive].any()
    # in-degree column = number of predecessors of each live vertex; adjacency = vertex rows
    et = np.asarray(obs["edge_types"])
    mi = et.shape[0] - v
    np.testing.assert_allclose(np.expm1(f[:, 3]), (et != 0).sum(0) * alive, atol=1e-4)
    np.testing.assert_array_equal(adj, (et[mi:] != 0).astype(np.float32))
    # legal = live non-output vertices (feature 2, and legal_mask)
    legal = np.asarray(legal_mask(obs))
    outputs = np.isin(np.arange(1, v + 1), tiny_graph.outputs)
    np.testing.assert_array_equal(legal, alive & ~outputs)
    np.testing.assert_array_equal(f[:, 2], legal.astype(np.float32))
    # the Markowitz excess is >= 0 and 0 for the best legal vertex
    assert f[legal, 13].min() == pytest.approx(0.0) and (f[legal, 13] >= 0).all()


def test_features_match_torch_twin(tiny_graph, observe):
    th = pytest.importorskip("torch")
    from crosscountry_gym.baselines.rl.sb3_agent import torch_vertex_features

    obs = observe(tiny_graph, order=tiny_graph.eliminable[:4])
    f, adj, alive = vertex_features(obs)
    tobs = {k: th.as_tensor(np.array(v)).float()[None] for k, v in obs.items()}
    tf, tadj, talive = torch_vertex_features(tobs)
    np.testing.assert_allclose(tf[0].numpy(), np.asarray(f), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tadj[0].numpy(), np.asarray(adj))
    np.testing.assert_array_equal(talive[0].numpy(), np.asarray(alive))
