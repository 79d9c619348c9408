"""Small hand-written functions covering every primitive class the executor handles.

Each entry: name -> (function, example args builder, argnums). Arguments are float64 NumPy
arrays built from a seeded generator (finite outputs). Used by the executor tests.

``converts`` rounds its primal to float32 on purpose: ``jax.jacrev`` then rounds the cotangent
to float32 too, while the executor's copy edge (-1) is an exact identity, so the two agree only
to float32 precision (:data:`TOLERANCE`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _pos(shape, seed=0):
    return _rng(seed).uniform(0.3, 1.2, size=shape)


@jax.custom_jvp
def _softclip(x):
    return x / (1 + jnp.abs(x))


@_softclip.defjvp
def _softclip_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _softclip(x), t / (1 + jnp.abs(x)) ** 2


CONST = np.linspace(0.5, 1.5, 4)


def mlp_layer(W, x, b):
    return jnp.tanh(W @ x + b)


def elementwise_mix(x, y):
    z = jnp.sin(x) * y + x / (y + 2.0) - jnp.exp(-x) ** 2
    return jnp.maximum(z, 0.1 * y) + jnp.arctan2(x, y + 3.0) + x * x


def broadcasts(v, M, s):
    a = M * v[:, None] + M * v[None, :3] + s * M  # column, row, scalar partners
    b = jnp.broadcast_to(v[:, None], (4, 3)) - jnp.broadcast_to(s, (4, 3))
    return a * b, jnp.sum(a, axis=0), jnp.sum(b, axis=1), jnp.sum(a * b)


def reductions(M):
    return (jnp.max(M, axis=0), jnp.min(M, axis=1), jnp.max(M), jnp.sum(M ** 2, axis=1),
            jnp.prod(M, axis=0))


def dots(A, B, x):
    C = jnp.tanh(A @ B) @ B.T
    return (C @ x, A.T @ x, x @ C, B.T @ A.T, x @ x,
            lax.dot_general(A, A, (((1,), (1,)), ((0,), (0,)))),  # row-wise dots: batch dim
            lax.dot_general(A, A, (((0,), (0,)), ((), ()))))


def structural(M, v):
    t = M.T
    r = jnp.reshape(M, (3, 4))  # non-trivial reshape: type 11
    c = jnp.concatenate([v, v * 2.0, jnp.zeros(2)])
    s = M[1:3, ::2]
    p = jnp.pad(v, (1, 2))
    rv = jnp.flip(v)
    col = v[:, None]  # expand_dims / broadcast_in_dim without replication
    row = jnp.reshape(v, (1, 4))
    a, b = jnp.split(c, 2)
    return t * 2.0, r + 1.0, c, s, p, rv, col * row, a * b, jnp.squeeze(row) + v


def selects(x, y):
    w = jnp.where(x > 0.7, x * y, y - x)
    return jnp.clip(w, 0.0, 0.6) + lax.stop_gradient(x) * y, jnp.abs(x - y)


def dynamic(x, i):
    piece = lax.dynamic_slice(x, (i,), (3,))
    upd = lax.dynamic_update_slice(x, piece * piece, (i + 1,))
    return upd + jnp.sum(piece)


def calls(x, y):
    @jax.jit
    def inner(a):
        return jnp.sin(a) * jnp.cos(a)

    return jax.nn.softplus(inner(x)) + _softclip(y) + jnp.linalg.norm(x) + CONST * x


def pytrees(params, batch):
    h = jnp.tanh(params["W"] @ batch["x"] + params["b"])
    return {"loss": jnp.sum((h - batch["y"]) ** 2), "h": h, "const": jnp.ones(2), "x": batch["x"]}


def reused_output(x):
    y = jnp.sin(x)
    return y, jnp.cos(y) * x, x  # y is an output and used later; x is an output input


def converts(x):
    y = x.astype(jnp.float32)  # float64 inputs: the primal really is rounded to float32
    z = lax.integer_pow(y, 3) + jnp.sqrt(y) * lax.rsqrt(y + 1.0) + jnp.log1p(y)
    return z.astype(x.dtype)


def scalars(a, b, c):
    t = a * b + jnp.sin(c) / (a + 2.0)
    u = jnp.sqrt(t * t + 1.0) - b ** 3
    return t * u, jnp.arctan2(u, c)


TOLERANCE = {"converts": 1e-6}
"""Float64 relative-error tolerance where it is not the default 1e-12."""

FUNCTIONS = {
    "mlp_layer": (mlp_layer, lambda: (_rng(1).normal(size=(5, 4)), _pos(4, 2), _pos(5, 3)), 0),
    "mlp_layer_all": (
        mlp_layer, lambda: (_rng(1).normal(size=(5, 4)), _pos(4, 2), _pos(5, 3)), (0, 1, 2)),
    "elementwise_mix": (elementwise_mix, lambda: (_pos((3, 2), 4), _pos((3, 2), 5)), (0, 1)),
    "broadcasts": (broadcasts, lambda: (_pos(4, 6), _pos((4, 3), 7), _pos((), 8)), (0, 1, 2)),
    "reductions": (reductions, lambda: (_pos((3, 4), 9),), 0),
    "dots": (dots, lambda: (_pos((3, 3), 10), _pos((3, 2), 11), _pos(3, 12)), (0, 1, 2)),
    "structural": (structural, lambda: (_pos((2, 6), 13), _pos(4, 14)), (1, 0)),
    "selects": (selects, lambda: (_pos(5, 15), _pos(5, 16)), (0, 1)),
    "dynamic": (dynamic, lambda: (_pos(6, 17), np.int32(2)), 0),
    "calls": (calls, lambda: (_pos(4, 18), _pos(4, 19)), (0, 1)),
    "pytrees": (
        pytrees,
        lambda: (
            {"W": _rng(20).normal(size=(3, 2)), "b": _pos(3, 21)},
            {"x": _pos(2, 22), "y": _pos(3, 23)},
        ),
        (0, 1),
    ),
    "reused_output": (reused_output, lambda: (_pos(3, 24),), 0),
    "converts": (converts, lambda: (_pos(4, 25),), 0),
    "scalars": (scalars, lambda: (0.3, 0.7, 1.1), (0, 1, 2)),
}
