"""Everyday JAX functions beyond the paper's operations: custom derivative rules, rank > 2,
gather / scatter, cumulative ops, sorting, control flow, linear algebra, composition.

Each entry is ``name -> (f, example args builder)``; the builder takes a NumPy ``Generator``
and returns float64 arguments (random points; kinks are in ``KINKS``). The oracle is
``jax.jacrev`` (``tests/executor/test_coverage.py``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import crosscountry_gym as ccg


def _vec(n):
    return lambda rng: (rng.normal(size=n),)


def _mat(*shape):
    return lambda rng: (rng.normal(size=shape),)


@jax.custom_jvp
def _straight_through_round(x):
    return jnp.round(x)


_straight_through_round.defjvps(lambda t, ans, x: t)


@jax.custom_vjp
def _clip_gradient(x):
    return jnp.sin(x)


_clip_gradient.defvjp(
    lambda x: (jnp.sin(x), jnp.cos(x)), lambda c, g: (jnp.clip(g * c, -0.5, 0.5),)
)


@jax.custom_vjp
def _pair(x, y):
    return x * y, jnp.sum(x)


_pair.defvjp(
    lambda x, y: ((x * y, jnp.sum(x)), (x, y)),
    lambda r, g: (g[0] * r[1] + g[1], g[0] * r[0]),
)


def _rk4_lorenz(u):
    def rhs(v):
        x, y, z = v[0], v[1], v[2]
        return jnp.stack([10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z])

    h = 0.01
    k1 = rhs(u)
    k2 = rhs(u + h / 2 * k1)
    k3 = rhs(u + h / 2 * k2)
    k4 = rhs(u + h * k3)
    return u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def _attention(x):  # (tokens, features): single-head self-attention with rank-3 heads
    q = x.reshape(4, 2, 3).transpose(1, 0, 2)  # (heads, tokens, dim)
    s = jnp.einsum("htd,hsd->hts", q, q) / jnp.sqrt(3.0)
    return jnp.einsum("hts,hsd->htd", jax.nn.softmax(s, axis=-1), q).sum(0)


FUNCTIONS = {
    # custom derivative rules
    "relu": (jax.nn.relu, _vec(6)),
    "softplus": (jax.nn.softplus, _vec(6)),
    "gelu": (jax.nn.gelu, _vec(5)),
    "silu": (jax.nn.silu, _vec(5)),
    "softmax": (jax.nn.softmax, _vec(5)),
    "log_softmax": (jax.nn.log_softmax, _vec(5)),
    "logsumexp": (jax.nn.logsumexp, _vec(5)),
    "logaddexp": (lambda x: jnp.logaddexp(x, 2.0 * x), _vec(4)),
    "straight_through": (lambda x: _straight_through_round(x) * x, _vec(4)),
    "custom_vjp_clip": (lambda x: _clip_gradient(3.0 * x), _vec(4)),
    "custom_vjp_pair": (lambda x: _pair(x, jnp.cos(x))[0] + _pair(x, x)[1], _vec(3)),
    # rank > 2 and size-1 dimensions
    "rank3_elementwise": (lambda x: jnp.sin(x) * x, _mat(2, 3, 4)),
    "rank3_reduce": (lambda x: jnp.sum(jnp.exp(x), axis=1), _mat(2, 3, 4)),
    "rank3_transpose": (lambda x: jnp.tanh(x).transpose(2, 0, 1) * 2.0, _mat(2, 3, 2)),
    "size1_dims": (lambda x: jnp.sin(x).sum(axis=-1), _mat(1, 3, 4)),
    "rank4_reshape": (lambda x: jnp.cos(x.reshape(2, 1, 3, 2)).sum((1, 3)), _vec(12)),
    "batched_matmul": (lambda x: jnp.einsum("bij,bjk->bik", x, x), _mat(2, 3, 3)),
    "attention": (_attention, _mat(4, 6)),
    "conv1d": (
        lambda x: lax.conv_general_dilated(
            x.reshape(1, 1, 6), jnp.array([[[0.5, -1.0, 2.0]]]), (1,), "VALID"
        ).ravel()
        ** 2,
        _vec(6),
    ),
    # gather / scatter and data movement
    "gather": (lambda x: x[jnp.array([0, 2, 2, 4])] * x[1], _vec(5)),
    "take_along_axis": (
        lambda x: jnp.take_along_axis(x, jnp.array([[1, 0], [2, 2]]), axis=1) ** 2,
        _mat(2, 3),
    ),
    "scatter_set": (lambda x: x.at[jnp.array([0, 3])].set(x[1:3] ** 2), _vec(5)),
    "scatter_add_dup": (lambda x: x.at[jnp.array([0, 0, 2])].add(jnp.sin(x[1:4])), _vec(5)),
    "scatter_mul": (
        lambda x: x.at[jnp.array([1, 3])].multiply(x[2:4], unique_indices=True), _vec(5)
    ),
    "dynamic_update": (lambda x: lax.dynamic_update_slice(x, x[:2] * 3.0, (2,)), _vec(5)),
    "tile": (lambda x: jnp.tile(x, 2) * x[0], _vec(3)),
    "diag": (lambda x: jnp.diag(x) @ x, _vec(4)),
    "pad_rev": (lambda x: jnp.pad(x[::-1], (1, 2)) * 2.0, _vec(4)),
    "cumsum": (lambda x: jnp.cumsum(x ** 2), _vec(5)),
    "cumsum_matrix": (lambda x: jnp.cumsum(jnp.sin(x), axis=0), _mat(3, 2)),
    "cumprod": (jnp.cumprod, _vec(5)),
    "cummax": (lambda x: lax.cummax(x, axis=0), _vec(5)),
    "sort": (lambda x: jnp.sort(x) * jnp.arange(1.0, 6.0), _vec(5)),
    "sort_matrix": (lambda x: jnp.sort(x, axis=0) ** 2, _mat(3, 2)),
    "argsort_take": (lambda x: x[jnp.argsort(x)] * x, _vec(4)),
    "top_k": (lambda x: lax.top_k(x, 3)[0] ** 2, _vec(5)),
    "max_reduce_ties": (lambda x: jnp.max(jnp.abs(x)) * x, _vec(4)),
    # control flow
    "scan": (lambda x: lax.scan(lambda c, a: (c * a + jnp.sin(c), c), 1.0, x)[0], _vec(4)),
    "scan_reverse_ys": (
        lambda x: lax.scan(lambda c, a: (c + a, c * a), 0.5, x, reverse=True)[1],
        _vec(4),
    ),
    "fori_loop": (lambda x: lax.fori_loop(0, 3, lambda i, c: jnp.sin(c) * x, x), _vec(3)),
    "cond": (lambda x: lax.cond(x[0] > 0, jnp.sin, jnp.cos, x), _vec(3)),
    "switch": (
        lambda x: lax.switch(jnp.int32(x[0] > 0) + 1, [jnp.sin, jnp.cos, jnp.tanh], x),
        _vec(3),
    ),
    "polyval": (lambda x: jnp.polyval(x, x[1]), _vec(4)),
    "interp": (lambda x: jnp.interp(x, jnp.linspace(-2, 3, 5), jnp.arange(5.0)), _vec(4)),
    "rk4_lorenz": (_rk4_lorenz, _vec(3)),
    # linear algebra
    "solve": (lambda x: jnp.linalg.solve(jnp.diag(x) + 3.0, x), _vec(4)),
    "inv": (lambda x: jnp.linalg.inv(jnp.outer(x, x) + 5.0 * jnp.eye(4)), _vec(4)),
    "cholesky": (lambda x: jnp.linalg.cholesky(jnp.outer(x, x) + 5.0 * jnp.eye(4)), _vec(4)),
    "det": (lambda x: jnp.linalg.det(jnp.outer(x, x) + jnp.eye(3)), _vec(3)),
    # composition
    "hessian": (ccg.jacobian(lambda x: jnp.sum(jnp.sin(x) ** 2)), _vec(4)),
    "hessian_fwd_inner": (ccg.jacobian(lambda x: jnp.prod(x) * x, order="fwd"), _vec(3)),
    "vmap_inside": (lambda x: jax.vmap(lambda a: jnp.sin(a) * x)(x), _vec(3)),
    "jvp_inside": (lambda x: jax.jvp(jnp.sin, (x,), (x,))[1], _vec(3)),
    "grad_inside": (jax.grad(lambda x: jnp.sum(jnp.tanh(x) ** 2)), _vec(4)),
}

KINKS = {
    "relu": np.array([0.0, 1.0, -1.0, 0.0]),
    "softplus": np.array([0.0, 0.0, 3.0]),
    "abs": np.array([0.0, -1.0, 2.0]),
    "max_tie": np.array([1.0, 1.0, -2.0]),
    "maximum_tie": np.array([0.5, -0.5, 0.0]),
    "clip_edge": np.array([-1.0, 1.0, 0.3]),
}
"""Points where primal-body derivatives and JAX's rules differ (ties and kinks)."""

KINK_FUNCTIONS = {
    "relu": jax.nn.relu,
    "softplus": jax.nn.softplus,
    "abs": jnp.abs,
    "max_tie": lambda x: jnp.max(x) * x,
    "maximum_tie": lambda x: jnp.maximum(x, -x),
    "clip_edge": lambda x: jnp.clip(x, -1.0, 1.0) * 2.0,
}
