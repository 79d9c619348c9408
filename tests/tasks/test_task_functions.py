"""The ten tasks as JAX functions: they run, give finite values, and agree with independent
formulas (NumPy transcriptions of ``tasks.md``, trigonometric identities, closed forms, current
``jax.nn`` routines, physical consistency)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from crosscountry_gym.tasks import functions as F
from crosscountry_gym.tasks import load, names
from crosscountry_gym.tasks.functions import deep_learning, economics, kinematics, minpack, roe

RTOL = 2e-4  # the task functions run in float32, the oracles in float64


def _leaves(x):
    return [np.asarray(v, np.float64) for v in jax.tree.leaves(x)]


@pytest.mark.parametrize("name", names())
def test_every_task_runs_with_finite_outputs(name):
    task = load(name)
    outs = _leaves(jax.jit(task.fn)(*task.args))
    assert outs and all(np.all(np.isfinite(o)) for o in outs)
    n_out = sum(max(o.size, 1) for o in outs)
    assert n_out >= len(task.graph.outputs)


def test_paper_inputs_of_g_give_nan_so_example_inputs_differ():
    """tasks.md §2.9: g at the paper's inputs (.15) is NaN in 14 of 20 outputs (and inf in one).
    The graph depends on shapes only, so example_args uses other inputs of the same shapes."""
    g = jax.jit(F.function("g"))
    outs = _leaves(g(*F.paper_args("g")))
    assert sum(bool(np.any(np.isnan(o))) for o in outs) == 14  # and one more is infinite
    assert sum(not np.all(np.isfinite(o)) for o in outs) == 15
    ex, pa = F.example_args("g"), F.paper_args("g")
    assert [a.shape for a in ex] == [a.shape for a in pa] == [(1, 1)] * 15


@pytest.mark.slow
def test_g_jacobian_is_finite_at_the_example_inputs():
    g = F.function("g")
    jac = jax.jit(jax.jacrev(lambda *x: jnp.stack(g(*x)), argnums=tuple(range(15))))(
        *F.example_args("g")
    )
    assert all(np.all(np.isfinite(np.asarray(j))) for j in jac)


def test_example_args_equal_the_paper_inputs_elsewhere():
    for name in names():
        if name == "RandomFunction_g":
            continue
        for a, b in zip(F.example_args(name), F.paper_args(name), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# --- RoeFlux -----------------------------------------------------------------------------------


def _roe_1d_spec(ul, ur, gamma=0.5):
    """tasks.md §2.1 in NumPy float64 (quirks included: gamma .5, |u| as the third factor)."""

    def side(u):
        v = u[1] / u[0]
        p = (gamma - 1) * (u[2] - 0.5 * u[1] ** 2 / u[0])
        return v, p, (u[2] + p) / u[0], np.array([u[1], p + u[1] * v, v * (p + u[2])])

    vl, pl, hl, fl = side(ul)
    vr, pr, hr, fr = side(ur)
    wl, wr = np.sqrt(ul[0]), np.sqrt(ur[0])
    u = (wl * vl + wr * vr) / (wl + wr)
    h = (wl * hl + wr * hr) / (wl + wr)
    a2 = (gamma - 1) * (h - 0.5 * u**2)
    a = np.sqrt(a2)
    rho = np.sqrt(ul[0] * ur[0])
    n, c = a * rho, 0.5 * rho / a
    dp, dv = pr - pl, vr - vl
    c0 = (ur[0] - ul[0] - dp / a2) * abs(u)
    c1 = (dv + dp / n) * abs(u + a)
    c2 = (dv - dp / n) * abs(u)
    df = np.array(
        [
            c0 + c * c1 - c * c2,
            c0 * u + c * c1 * (u + a) - c * c2 * (u - a),
            c0 * 0.5 * u**2 + c * c1 * (h + u * a) - c * c2 * (h - u * a),
        ]
    )
    return 0.5 * (fl + fr - df)


# With gamma = .5 the sound speed a^2 = (gamma - 1)(h - u^2/2) is real only for fast flows
# (h < u^2 / 2): the states below are such flows.
@pytest.mark.parametrize(
    "state",
    [roe.ROEFLUX_1D_ARGS, (1.0, 1.0, 0.3, 0.8, 0.9, 0.25), (0.5, -0.6, 0.2, 0.6, -0.5, 0.15)],
)
def test_roe_1d_matches_the_spec_formulas(state):
    want = _roe_1d_spec(np.array(state[:3]), np.array(state[3:]))
    got = np.array(_leaves(roe.roe_flux_1d(*(jnp.float32(s) for s in state))))
    assert np.all(np.isfinite(want))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)


def test_roe_1d_equal_states_give_the_physical_flux():
    """With no jump the dissipation vanishes and the flux is F(u) = (m, p + m v, v (p + E))."""
    rho, m, e = 1.0, 1.0, 0.3
    p = (0.5 - 1) * (e - 0.5 * m**2 / rho)
    want = [m, p + m * m / rho, m / rho * (p + e)]
    got = _leaves(roe.roe_flux_1d(*(jnp.float32(s) for s in (rho, m, e, rho, m, e))))
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_roe_3d_equal_states_give_the_physical_flux():
    rho, mom, e = 1.0, np.array([1.0, 0.2, -0.1]), 0.3
    p = (0.5 - 1) * (e - 0.5 * np.sum(mom**2) / rho)
    v = mom / rho
    want = [mom[0], p * np.array([1.0, 0, 0]) + mom * v, v[0] * (p + e)]
    args = [jnp.asarray(x, jnp.float32) for x in ([rho], mom, [e])] * 2
    phi0, phi, phi4 = roe.roe_flux_3d(*args)
    np.testing.assert_allclose(np.asarray(phi0), [want[0]], rtol=RTOL)
    np.testing.assert_allclose(np.asarray(phi), want[1], rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose(np.asarray(phi4), [want[2]], rtol=RTOL)


def test_roe_3d_batch_rows_are_independent():
    args = roe.roe_flux_3d_args(batch=2)
    one = roe.roe_flux_3d(*(a[0] for a in args))
    both = jax.vmap(roe.roe_flux_3d)(*args)
    for a, b in zip(one, both, strict=True):
        np.testing.assert_allclose(np.asarray(b)[1], np.asarray(a), rtol=1e-6)


# --- RobotArm ----------------------------------------------------------------------------------


def _robot_arm_spec(t):
    """px, py, pz from the trigonometric identities c23 = cos(t2 + t3), s23 = sin(t2 + t3)."""
    c = np.cos(t)
    s = np.sin(t)
    c23, s23 = np.cos(t[1] + t[2]), np.sin(t[1] + t[2])
    a1, a2, a3, d1, d4, d6 = 175.0, 890.0, 50.0, 575.0, 1035.0, 185.0
    reach = a1 + a2 * c[1] + a3 * c23 + d4 * s23
    ax = s[4] * (c[0] * c23 * c[3] + s[0] * s[3]) + c[0] * s23 * c[4]
    ay = s[4] * (s[0] * c23 * c[3] - c[0] * s[3]) + s[0] * s23 * c[4]
    az = s23 * c[3] * s[4] - c23 * c[4]
    nz = c[5] * (c23 * s[4] + s23 * c[3] * c[4]) - s23 * s[3] * s[5]
    oz = -s[5] * (c23 * s[4] + s23 * c[3] * c[4]) - s23 * s[3] * c[5]
    px = d6 * ax + c[0] * reach
    py = d6 * (s[4] * (s[0] * c23 * c[3] + c[0] * s[3]) + s[0] * s23 * c[4]) + s[0] * reach
    pz = a2 * s[1] + d1 + a3 * s23 - d4 * c23 + d6 * az
    return [px, py, pz, np.arctan2(ay, ax), np.arctan2(np.sqrt(1 - az**2), az),
            np.arctan2(oz, -nz)]  # fmt: skip


@pytest.mark.parametrize("seed", [0, 1])
def test_robot_arm_matches_trig_identities(seed):
    t = np.random.default_rng(seed).uniform(-1.0, 1.0, 6)
    got = _leaves(kinematics.robot_arm_6dof(*(jnp.float32(x) for x in t)))
    np.testing.assert_allclose(got, _robot_arm_spec(t), rtol=1e-3, atol=1e-3)


# --- MINPACK -----------------------------------------------------------------------------------


def test_human_heart_dipole_matches_the_spec():
    x = np.random.default_rng(2).uniform(-1, 1, 8)
    x1, x2, x3, x4, x5, x6, x7, x8 = x
    want = [
        x1 + x2 - 1,
        x3 + x4 - 1,
        x5 * x1 + x6 * x2 - x7 * x3 - x8 * x4 - 1,
        x7 * x1 + x8 * x2 + x5 * x3 + x6 * x4 - 1,
        x1 * (x5**2 - x7**2) - 2 * x3 * x5 * x7 + x2 * (x6**2 - x8**2) - 2 * x4 * x6 * x8 - 1,
        x3 * (x5**2 - x7**2) - 2 * x1 * x5 * x7 + x4 * (x6**2 - x8**2) - 2 * x2 * x6 * x8 - 1,
        x1 * x5 * (x5**2 - 3 * x7**2) + x3 * x7 * (x7**2 - 3 * x5**2)
        + x2 * x6 * (x6**2 - 3 * x8**2) + x4 * x8 * (x8**2 - 3 * x6**2) - 1,
        x3 * x5 * (x5**2 - 3 * x7**2) - x1 * x7 * (x7**2 - 3 * x5**2)
        + x4 * x6 * (x6**2 - 3 * x8**2) - x2 * x8 * (x8**2 - 3 * x6**2) - 1,
    ]  # fmt: skip
    got = _leaves(minpack.human_heart_dipole(*(jnp.float32(v) for v in x)))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-5)


def test_propane_combustion_matches_the_spec():
    x = np.random.default_rng(3).uniform(0.1, 2.0, 11)
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11 = x
    p, r = 40.0, 10.0
    p11 = np.sqrt(p / x11)
    want = [
        x1 + x4 - 3,
        2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - r,
        2 * x2 + 2 * x5 + x6 + x7 - 8,
        2 * x3 + x9 - 4 * r,
        x2 * x4 - x1 * x5,
        np.sqrt(x2 * x4) - np.sqrt(x1) * p11 * x6,
        np.sqrt(x1 * x2) - np.sqrt(x4) * x7 * p11,
        x1 - x4 * x8 * p / x11,
        x1 * np.sqrt(x3) - x4 * x9 * p11,
        x1**2 - x4**2 * x10 * p / x11,
        x11 - np.sum(x[:10]),
    ]
    got = _leaves(minpack.propane_combustion(*(jnp.float32(v) for v in x)))
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-4)


# --- Black-Scholes -----------------------------------------------------------------------------


def _bs_closed_form(s, k, r, sigma, t):
    """S N(d1) - K e^{-rT} N(d2): the textbook form (not the Black-76 route of the task)."""
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    d1 = (math.log(s / k) + (r + sigma**2 / 2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return s * cdf(d1) - k * math.exp(-r * t) * cdf(d2), cdf(d1)


@pytest.mark.parametrize("point", [(1.0, 1.0, 1.0, 1.0, 1.0), (100.0, 95.0, 0.03, 0.2, 0.5)])
def test_black_scholes_price_and_delta(point):
    price, delta = _bs_closed_form(*point)
    args = [jnp.float32(v) for v in point]
    assert float(economics.black_scholes(*args)) == pytest.approx(price, rel=1e-4)
    greeks = economics.black_scholes_jacobian(*args)
    assert float(greeks[0]) == pytest.approx(delta, rel=1e-4)
    want = jax.jacrev(economics.black_scholes, argnums=(0, 1, 2, 3, 4))(*args)
    np.testing.assert_allclose(_leaves(greeks), _leaves(want), rtol=1e-5)


def test_black_scholes_jacobian_is_the_traced_form_of_the_task():
    outs = F.function("BSJ")(*F.example_args("BSJ"))
    assert len(outs) == 5 and all(o.shape == (1,) for o in outs)


# --- deep learning -----------------------------------------------------------------------------


def _layer_norm_ref(x, gamma, beta):
    mu = jnp.mean(x, axis=-1)
    var = jnp.mean((x - mu) ** 2, axis=-1)
    return (x - mu) / jnp.sqrt(var + 1e-6) * gamma + beta


def test_spelled_out_softmax_equals_jax_nn_softmax():
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 5))
    for axis in (0, 1, -1):
        np.testing.assert_allclose(
            deep_learning.softmax(x, axis), jax.nn.softmax(x, axis=axis), rtol=1e-6
        )


def test_perceptron_matches_a_jax_nn_reference():
    x, y, w1, b1, w2, b2, _, _ = F.example_args("MLP")
    gamma, beta = 0.7, -0.2  # the paper's gamma = 0 would hide the hidden layer entirely

    def ref(x, y):
        h = _layer_norm_ref(jnp.tanh(w1 @ x + b1), gamma, beta)
        return -jnp.sum(y * jax.nn.log_softmax(jnp.tanh(w2 @ h + b2)))

    got = deep_learning.batched_perceptron(x, y, w1, b1, w2, b2, gamma, beta)
    np.testing.assert_allclose(got, jax.vmap(ref)(x, y), rtol=1e-5)


def test_encoder_matches_a_jax_nn_reference():
    args = list(F.example_args("Transformer"))
    args[12:] = [0.5, 0.1, 1.5, -0.3]
    x, y, wq1, wq2, wk1, wk2, wv1, wv2, w1, w2, b1, b2, g0, be0, g1, be1 = args

    def block(x, wq, wk, wv, w, b, g, be):
        q, k, v = wq @ x, wk @ x, wv @ x
        a = x + jax.nn.softmax(q.T @ k, axis=1) @ v
        z = w @ _layer_norm_ref(a, g, be) + b
        return jax.nn.silu(z)

    z1 = block(x, wq1, wk1, wv1, w1, b1, g0, be0)
    z2 = block(z1, wq2, wk2, wv2, w2, b2, g1, be1)
    want = -jnp.sum(y * jax.nn.log_softmax(z2, axis=-1), axis=-1)
    np.testing.assert_allclose(deep_learning.encoder(*args), want, rtol=1e-4, atol=1e-5)


# --- random functions f and g ------------------------------------------------------------------


@pytest.mark.slow
def test_f_jacobian_is_finite_at_the_paper_inputs():
    """tasks.md §2.9: at the listed inputs f's outputs and its jacrev are finite."""
    jac = jax.jit(jax.jacrev(F.function("f"), argnums=(0, 1, 2, 3)))(*F.example_args("f"))
    assert all(np.all(np.isfinite(np.asarray(j))) for j in jax.tree.leaves(jac))


# --- scaled variants ---------------------------------------------------------------------------


BATCHED = [n for n in names() if n not in ("MLP", "Transformer")]
FAST_BATCHED = ["RoeFlux_1d", "RoeFlux_3d", "BlackScholes_Jacobian", "RandomFunction_g"]


@pytest.mark.parametrize(
    "name", [n if n in FAST_BATCHED else pytest.param(n, marks=pytest.mark.slow) for n in BATCHED]
)
def test_batched_variants_repeat_the_sample(name):
    fn, args = F.scaled(name, batch_size=3)
    assert all(np.shape(a)[0] == 3 for a in args)
    batched = _leaves(fn(*args))
    single = _leaves(F.per_sample_function(name)(*(np.asarray(a)[0] for a in args)))
    for b, s in zip(batched, single, strict=True):
        assert b.shape == (3, *s.shape)
        np.testing.assert_allclose(b[2], s, rtol=1e-5, atol=1e-6)


def _abstract_scaled(name, *size, **kw):
    """Shapes of ``scaled(name, ...)`` and of its output, without running JAX kernels."""
    fn = F.scaled(name, *size, **kw)[0] if F.spec(name).kind == "batch" else F.function(name)
    args = jax.eval_shape(lambda: F.scaled(name, *size, **kw)[1])
    return args, jax.eval_shape(fn, *args)


def test_scaled_networks_have_the_papers_sizes():
    args, out = _abstract_scaled("MLP", scale=2)
    x, y, w1, b1, w2, b2, gamma, beta = args
    assert (x.shape, w1.shape, w2.shape, b1.shape, b2.shape) == (
        (64, 8), (16, 8), (8, 16), (16,), (8,)
    )  # fmt: skip
    assert out.shape == (64,)
    args, out = _abstract_scaled("Transformer", scale=2)
    assert args[0].shape == (8, 8) and args[9].shape == (4, 8) and args[11].shape == (4, 1)
    assert out.shape == (4,)
    args, out = _abstract_scaled("MLP")
    assert (args[0].shape, args[2].shape, args[4].shape) == ((512, 64), (128, 64), (64, 128))
    args, out = _abstract_scaled("Transformer")
    assert args[0].shape == (64, 64) and out.shape == (32,)


@pytest.mark.slow
def test_scaled_networks_run():
    for name in ("MLP", "Transformer"):
        fn, args = F.scaled(name, scale=2)
        assert np.all(np.isfinite(np.asarray(jax.jit(fn)(*args))))


def test_default_batch_is_the_papers_512():
    args, _ = _abstract_scaled("RoeFlux_3d")
    assert [a.shape for a in args] == [(512, 1), (512, 3), (512, 1)] * 2


def test_positional_size_is_the_tasks_own_knob():
    args, out = _abstract_scaled("RoeFlux_1d", 5)
    assert args[0].shape == (5,) and out[0].shape == (5,)
    args = jax.eval_shape(lambda: load("MLP").scaled(3)[1])
    assert args[0].shape == (96, 12)
    with pytest.raises(ValueError, match="not both"):
        F.scaled("RoeFlux_1d", 4, batch_size=4)


def test_scaled_places_inputs_on_a_device():
    _, args = F.scaled("RoeFlux_1d", batch_size=2, device="cpu")
    assert all(a.devices() == {jax.devices("cpu")[0]} for a in args)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: F.scaled("MLP", batch_size=4), "scaled by `scale`"),
        (lambda: F.scaled("RoeFlux_1d", scale=2), "scaled by `batch_size`"),
        (lambda: F.scaled("RoeFlux_1d", batch_size=0), "batch_size must be a positive int"),
        (lambda: F.scaled("Transformer", scale=1.5), "scale must be a positive int"),
        (lambda: F.scaled("RoeFlux_1d", device="no-such-platform"), "no JAX device"),
        (lambda: F.function("NoSuchTask"), "unknown task"),
    ],
)
def test_bad_requests_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_aliases_resolve():
    assert F.function("Perceptron") is F.function("MLP")
    assert F.spec("bsj").name == "BlackScholes_Jacobian"
