"""The learner (baselines/rl/alphazero/learner.py): transforms, replay, loss, optax update."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("mctx")
pytest.importorskip("equinox")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from crosscountry_gym.baselines.rl import alphazero as az  # noqa: E402
from crosscountry_gym.baselines.rl.alphazero import learner as L  # noqa: E402
from crosscountry_gym.envs import jax_env as E  # noqa: E402

SMALL = az.AZConfig(num_envs=2, num_simulations=4, d_model=16, num_layers=1, num_heads=2,
                    ff_dim=32, batch_size=8, updates_per_iteration=8, learning_rate=3e-3)


def test_value_transform_roundtrip():
    x = jnp.asarray([-1e5, -4321.0, -90.0, -1.0, -0.3, 0.0, 0.5, 7.0, 1e4])
    for kind in ("r2d2", "symlog"):
        y = az.value_transform(x, kind)
        assert np.all(np.diff(np.asarray(y)) > 0)  # strictly increasing
        np.testing.assert_allclose(az.inverse_value_transform(y, kind), x, rtol=2e-5, atol=1e-4)
    # R2D2 transform by hand: h(-99) = -(sqrt(100) - 1) - 0.099
    assert float(az.value_transform(jnp.float32(-99.0))) == pytest.approx(-9.099, abs=1e-5)
    assert float(az.value_transform(jnp.float32(-99.0), "symlog")) == pytest.approx(
        -np.log(100.0), abs=1e-5)


def _block(n: int, start: float, v: int = 3) -> L.Buffer:
    return L.Buffer(obs={"x": jnp.arange(start, start + n, dtype=jnp.float32)[:, None]},
                    policy=jnp.full((n, v), 1.0 / v), value=jnp.arange(start, start + n),
                    valid=jnp.ones((n,), bool))


def test_replay_is_a_ring_of_whole_blocks():
    buf = L.empty_buffer({"x": ((1,), jnp.float32)}, 3, capacity=6)
    assert buf.policy.shape == (6, 3) and not buf.valid.any()
    pos, filled = jnp.int32(0), jnp.int32(0)
    for it in range(4):  # blocks of 2: the 4th wraps around onto the 1st
        buf, pos, filled = L.replay_add(buf, pos, filled, _block(2, 10.0 * it))
    assert int(pos) == 2 and int(filled) == 6
    np.testing.assert_array_equal(np.asarray(buf.value), [30, 31, 10, 11, 20, 21])
    batch = L.replay_sample(buf, jnp.int32(4), jax.random.PRNGKey(0), 64)
    assert set(np.asarray(batch.value).tolist()) <= {30.0, 31.0, 10.0, 11.0}  # first `filled`
    np.testing.assert_array_equal(np.asarray(batch.obs["x"])[:, 0], np.asarray(batch.value))


def test_transitions_flatten_time_major_and_transform_returns():
    t, n, v = 3, 2, 4
    obs = {"x": jnp.arange(t * n, dtype=jnp.float32).reshape(t, n, 1)}
    w = jnp.full((t, n, v), jnp.nan).at[0].set(0.25)  # NaN weights (finished game) become 0
    rtg = -jnp.arange(t * n, dtype=jnp.float32).reshape(t, n)
    active = jnp.asarray([[True, True], [True, False], [False, False]])
    b = L.transitions(obs, w, rtg, active, "r2d2")
    assert b.obs["x"].shape == (6, 1) and b.policy.shape == (6, v)
    np.testing.assert_array_equal(np.asarray(b.valid), [1, 1, 1, 0, 0, 0])
    assert not np.isnan(np.asarray(b.policy)).any() and float(b.policy[1, 0]) == 0.25
    np.testing.assert_allclose(b.value, az.value_transform(rtg.reshape(-1)), rtol=1e-6)


def _real_batch(graph, observe, n=8):
    obs = observe(graph)
    obs = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), obs)
    v = obs["vertex_mask"].shape[-1]
    legal = (obs["vertex_mask"] != 0) & (obs["output_mask"] == 0)
    target = jnp.where(legal & (jnp.arange(v) < 6), 1.0, 0.0)
    target = target / target.sum(-1, keepdims=True)
    return L.Buffer(obs=obs, policy=target, value=jnp.full((n,), -3.0),
                    valid=jnp.arange(n) < n - 2)


def test_loss_by_hand_and_weight_decay_is_added(tiny_graph, observe):
    params, static = az.init_params(SMALL, seed=0)
    batch = _real_batch(tiny_graph, observe)
    wd = dataclasses.replace(SMALL, weight_decay=1e-2)

    @jax.jit  # one compile for everything (a busy CPU compiles slowly)
    def run(p, b):
        return (L.loss(p, static, b, SMALL), L.loss(p, static, b, wd)[0],
                jax.vmap(eqx.combine(p, static))(b.obs))

    (total, m), total_wd, (logits, value) = run(params, batch)
    logp = np.asarray(jax.nn.log_softmax(logits, -1))
    p = np.asarray(batch.policy)
    ce = -(p * np.where(p > 0, logp, 0)).sum(-1)[:6].mean()  # only the 6 valid rows count
    val = ((np.asarray(value) + 3.0) ** 2)[:6].mean()
    assert float(m["policy_loss"]) == pytest.approx(ce, rel=1e-5)
    assert float(m["value_loss"]) == pytest.approx(val, rel=1e-5)
    assert float(total) == pytest.approx(ce + SMALL.value_coef * val, rel=1e-5)
    ent = -(p[0][p[0] > 0] * np.log(p[0][p[0] > 0])).sum()
    assert float(m["policy_kl"]) == pytest.approx(ce - ent, abs=1e-5)
    # the weight decay is part of the loss (bug 3 of docs/rl.md §P8)
    l2 = sum(float(jnp.sum(jnp.square(x))) for x in jax.tree.leaves(params))
    assert float(total_wd) == pytest.approx(float(total) + 1e-2 * l2, rel=1e-5)


def test_learn_fits_a_fixed_batch(tiny_graph, observe):
    params, static = az.init_params(SMALL, seed=0)
    opt = L.make_optimizer(SMALL)
    batch = _real_batch(tiny_graph, observe)
    learn = jax.jit(lambda p, s, k: L.learn(p, s, batch, jnp.int32(8), k, static=static,
                                            config=SMALL, optimizer=opt, batch_size=8))
    state = opt.init(params)
    first = None
    for i in range(3):
        params, state, metrics = learn(params, state, jax.random.PRNGKey(i))
        first = first or float(metrics["value_loss"])
    assert set(metrics) == {"policy_loss", "policy_kl", "value_loss"}
    assert int(state[1][0].count) == 3 * SMALL.updates_per_iteration  # one Adam step per update
    assert float(metrics["value_loss"]) < 0.5 * first


def test_observation_shapes_fill_an_empty_buffer(tiny_graph):
    params = E.make_params(tiny_graph)
    buf = L.empty_buffer(E.observation_shapes(params), params.max_vertices, capacity=5)
    assert buf.obs["edge_types"].shape[0] == 5 and buf.policy.shape == (5, params.max_vertices)
