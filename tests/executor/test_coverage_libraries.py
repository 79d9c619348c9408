"""The executor on code from libraries and on unusual custom-rule signatures (nondiff_argnums,
integer operands, symbolic zeros, equinox's filtered rules and layers). Oracle: ``jax.jacrev``
in float64, for the forward, reverse and auto orders."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import crosscountry_gym as ccg


def _check(f, *args):
    want = jax.jacrev(f)(*args)
    for order in ("fwd", "rev", "auto"):
        got = ccg.jacobian(f, order=order)(*args)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=order)


def test_custom_vjp_with_nondiff_argnums(x64):
    @functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
    def scale(x, k):
        return x * k

    scale.defvjp(lambda x, k: (x * k, None), lambda k, r, g: (g * k,))
    _check(lambda x: scale(x, 3.0) ** 2, jnp.arange(3.0))


def test_custom_jvp_with_nondiff_argnums_and_int_operand(x64):
    @functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
    def powk(x, k):
        return x**k

    powk.defjvp(lambda k, p, t: (powk(p[0], k), k * p[0] ** (k - 1) * t[0]))
    _check(lambda x: powk(x, 3), jnp.arange(1.0, 4.0))

    @jax.custom_jvp
    def times(x, n):
        return x * n

    times.defjvp(lambda p, t: (times(*p), t[0] * p[1]))
    _check(lambda x: times(x, jnp.int32(2)).astype(x.dtype) * x, jnp.arange(1.0, 4.0))


def test_custom_jvp_with_symbolic_zeros(x64):
    @jax.custom_jvp
    def s(x):
        return jnp.sin(x)

    s.defjvp(lambda p, t: (jnp.sin(p[0]), jnp.cos(p[0]) * t[0]), symbolic_zeros=True)
    _check(lambda x: s(x) * x, jnp.arange(1.0, 4.0))


def test_equinox_rules_and_layers(x64):
    eqx = pytest.importorskip("equinox")

    @eqx.filter_custom_jvp
    def fj(x):
        return jnp.tanh(x)

    @fj.def_jvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return jnp.tanh(x), (1 - jnp.tanh(x) ** 2) * t

    _check(lambda x: fj(x) * 2, jnp.arange(1.0, 4.0))
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    gru = eqx.nn.GRUCell(3, 4, key=keys[0])
    _check(lambda x: gru(x, jnp.ones(4)), jnp.arange(1.0, 4.0))
    mha = eqx.nn.MultiheadAttention(2, 4, key=keys[1])
    _check(lambda x: mha(x, x, x).ravel(), jnp.arange(12.0).reshape(3, 4) / 10)
    conv = eqx.nn.Conv2d(1, 2, 2, key=keys[2])
    _check(lambda x: conv(x).ravel(), jnp.arange(9.0).reshape(1, 3, 3) / 10)


def test_checkpoint_and_hessians(x64):
    _check(jax.checkpoint(lambda x: jax.nn.gelu(x) * jnp.sin(x)), jnp.arange(3.0))
    _check(jax.hessian(lambda x: jnp.sum(jax.nn.gelu(x))), jnp.arange(3.0))
    _check(ccg.jacobian(lambda x: jnp.sum(jax.nn.relu(x) ** 2)), jnp.array([-1.0, 0.0, 2.0]))


def test_complex_results_are_refused_by_name():
    with pytest.raises(ccg.UnsupportedPrimitiveError, match="complex"):
        ccg.jacobian(lambda x: jnp.fft.rfft(x).real)(jnp.arange(4.0))
