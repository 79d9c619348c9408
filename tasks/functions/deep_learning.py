"""MLP ("Perceptron") and Transformer ("Encoder"): small networks ending in a softmax loss.

Benchmark definitions after ``src/graphax/examples/deep_learning.py`` of jamielohoff/graphax
(MIT licence), in the version the NeurIPS 2024 paper traced (spec ``tasks.md`` §2.7-2.8; the
tracing set-up is ``make_Perceptron`` / ``make_Encoder`` in ``src/alphagrad/experiments.py`` of
jamielohoff/alphagrad). Written anew with the same operations in the same order.

Choices and quirks kept on purpose (the frozen graphs encode them):

* **Softmax is spelled out** (:func:`softmax`) exactly as ``jax.nn.softmax`` was implemented in
  jax 0.4.26, the version the paper used: ``reduce_max`` (keepdims), ``stop_gradient``,
  ``exp``, ``reduce_sum`` (keepdims), ``div``. Newer JAX releases implement
  ``jax.nn.softmax`` differently (a binary ``max`` with ``-inf``, a custom JVP), which would
  change the graph; spelling it out keeps the benchmark independent of the JAX release. The
  values are the same.
* **Layer norm** uses the mean *without* ``keepdims``: for the Perceptron (a vector per sample)
  that is the usual layer norm; for the Encoder's (4, 4) activations the per-row means and
  variances broadcast along the *last* axis, i.e. row i's statistics normalise column i. This
  is what the source computes, and the frozen Encoder graph has it (broadcast (4,) -> (1, 4)).
  The centred input ``x - mu`` is computed twice (once inside the variance), as in the source.
* The Encoder's blocks use ``W @ x`` (column convention) and attention ``softmax(q.T @ k) @ v``.
* The output layer of each encoder block is SiLU(W c + b) with SiLU(z) = z / (1 + e^{-z})
  written as ``z * (1 / (1 + exp(-z)))``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jrand
from jax import lax

# --- building blocks --------------------------------------------------------------------------


def softmax(x, axis: int = -1):
    """Softmax along ``axis``, spelled as jax 0.4.26's ``jax.nn.softmax`` (see module doc)."""
    x_max = jnp.max(x, axis, keepdims=True)
    unnormalized = jnp.exp(x - lax.stop_gradient(x_max))
    return unnormalized / jnp.sum(unnormalized, axis, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """-sum(labels * log softmax(logits)) over the last axis."""
    return -jnp.sum(labels * jnp.log(softmax(logits, axis=-1)), axis=-1)


def _variance(x, mu, axis: int):
    """sum((x - mu)^2) / n along ``axis`` (``mu`` without keepdims, as in the source)."""
    n = x.shape[axis]
    return jnp.sum((x - mu) ** 2, axis=axis) / n


def layer_norm(x, gamma, beta):
    """(x - mu) / sqrt(var + 1e-6) * gamma + beta along the last axis (see module doc)."""
    mu = jnp.mean(x, axis=-1)
    sigma = _variance(x, mu, axis=-1)
    return (x - mu) / jnp.sqrt(sigma + 1e-6) * gamma + beta


def _sigmoid(x):
    return 1.0 / (1.0 + jnp.exp(-x))


def silu(x):
    """SiLU(x) = x * sigmoid(x)."""
    return x * _sigmoid(x)


# --- Perceptron (MLP) ---------------------------------------------------------------------------


def perceptron(x, y, W1, b1, W2, b2, gamma, beta):
    """Two-layer perceptron with layer norm and softmax cross-entropy, for one sample.

    Shapes: x (n_in,), y (n_out,), W1 (n_hidden, n_in), b1 (n_hidden,), W2 (n_out, n_hidden),
    b2 (n_out,), gamma and beta scalars. Returns the scalar loss. The paper traces
    ``jax.vmap(perceptron, in_axes=(0, 0, None, ...))`` with a batch of one (x, y of shape
    (1, 4)), n_in = 4, n_hidden = 8, n_out = 4, gamma = 0, beta = 1.
    """
    a1 = jnp.tanh(W1 @ x + b1)
    a1 = layer_norm(a1, gamma, beta)
    a2 = jnp.tanh(W2 @ a1 + b2)
    return softmax_cross_entropy(a2, y)


batched_perceptron = jax.vmap(perceptron, in_axes=(0, 0, None, None, None, None, None, None))
""":func:`perceptron` mapped over the leading axis of ``x`` and ``y`` (the traced form)."""


def perceptron_args(scale: int = 1, key: int = 1234) -> tuple:
    """Inputs for :data:`batched_perceptron`, following ``make_Perceptron`` of the paper.

    At ``scale=1`` this is the paper's traced problem: x = ones((1, 4)), y (1, 4), W1 (8, 4),
    b1 (8,), W2 (4, 8), b2 (4,) with normal values from ``PRNGKey(1234)``, gamma = 0.,
    beta = 1. (Python floats). For
    ``scale > 1`` (runtime variants, ``tasks.md`` §3) the batch is 32 * scale and the layer
    sizes 4 * scale, 8 * scale, 4 * scale (scale 16: x (512, 64), W1 (128, 64), W2 (64, 128)).
    """
    n_in, n_hidden, n_out = 4 * scale, 8 * scale, 4 * scale
    batch = 1 if scale == 1 else 32 * scale
    k = jrand.PRNGKey(key)
    x = jnp.ones((batch, n_in))
    y = jrand.normal(k, (batch, n_out))
    w1key, b1key, k = jrand.split(k, 3)
    W1 = jrand.normal(w1key, (n_hidden, n_in))
    b1 = jrand.normal(b1key, (n_hidden,))
    w2key, b2key, k = jrand.split(k, 3)
    W2 = jrand.normal(w2key, (n_out, n_hidden))
    b2 = jrand.normal(b2key, (n_out,))
    return (x, y, W1, b1, W2, b2, 0.0, 1.0)


# --- Encoder (Transformer) ----------------------------------------------------------------------


def _attention(q, k, v):
    return softmax(q.T @ k, axis=1) @ v


def encoder_block(x, WQ, WK, WV, W, b, gamma, beta):
    """One block: x + attention, layer norm, then SiLU(W c + b)."""
    q = WQ @ x
    k = WK @ x
    v = WV @ x
    a = x + _attention(q, k, v)
    c = layer_norm(a, gamma, beta)
    return silu(W @ c + b)


def encoder(x, y, WQ1, WQ2, WK1, WK2, WV1, WV2, W1, W2, b1, b2, gamma0, beta0, gamma1, beta1):
    """Two encoder blocks and a softmax cross-entropy against ``y``, summed over the last axis.

    Shapes at the paper's size (d = 4): x (d, d), y (d/2, d), WQ*, WK*, WV* (d, d), W1 (d, d),
    W2 (d/2, d), b1 (d,), b2 (d/2, 1), gamma/beta scalars. Returns shape (d/2,). Traced without
    vmap.
    """
    z1 = encoder_block(x, WQ1, WK1, WV1, W1, b1, gamma0, beta0)
    z2 = encoder_block(z1, WQ2, WK2, WV2, W2, b2, gamma1, beta1)
    return softmax_cross_entropy(z2, y)


def encoder_args(scale: int = 1, key: int = 250197) -> tuple:
    """Inputs for :func:`encoder`, following ``make_Encoder`` of the paper (PRNGKey 250197).

    ``scale`` multiplies the model size d = 4 * scale (scale 16: 64-dimensional matrices, the
    paper's runtime setting, ``tasks.md`` §3). gamma0, beta0, gamma1, beta1 = 0., 1., 0., 1.
    """
    d = 4 * scale
    h = 2 * scale
    k = jrand.PRNGKey(key)
    x = jnp.ones((d, d))
    y = jrand.normal(k, (h, d))
    wq1, wk1, wv1, k = jrand.split(k, 4)
    WQ1, WK1, WV1 = (jrand.normal(kk, (d, d)) for kk in (wq1, wk1, wv1))
    wq2, wk2, wv2, k = jrand.split(k, 4)
    WQ2, WK2, WV2 = (jrand.normal(kk, (d, d)) for kk in (wq2, wk2, wv2))
    w1key, w2key, b1key, b2key = jrand.split(k, 4)
    W1 = jrand.normal(w1key, (d, d))
    b1 = jrand.normal(b1key, (d,))
    W2 = jrand.normal(w2key, (h, d))
    b2 = jrand.normal(b2key, (h, 1))
    return (x, y, WQ1, WQ2, WK1, WK2, WV1, WV2, W1, W2, b1, b2, 0.0, 1.0, 0.0, 1.0)


__all__ = [
    "softmax",
    "softmax_cross_entropy",
    "layer_norm",
    "silu",
    "perceptron",
    "batched_perceptron",
    "perceptron_args",
    "encoder_block",
    "encoder",
    "encoder_args",
]
