"""BlackScholes price and BlackScholes_Jacobian (its reverse-mode derivative, a second-order task).

Benchmark definition after ``src/graphax/examples/economics.py`` of jamielohoff/graphax (MIT
licence), spec ``tasks.md`` §2.6. Written anew with the same operations in the same order.

**What differs from the paper, and why.** The paper's task is
``graphax.jacve(BlackScholes, order="rev", argnums=(0, 1, 2, 3, 4))``: the program that
*Graphax's own* reverse-mode vertex elimination emits, traced again. That program cannot be
rebuilt from JAX alone (it depends on the Graphax version: later versions emitted 134 instead
of 129 intermediates). The closest honest equivalent here is the reverse-mode Jacobian of the
price computed by JAX itself: the price is a scalar function of five scalars, so its
reverse-mode Jacobian is one vector-Jacobian product with cotangent 1, i.e. ``jax.grad`` with
``argnums=(0, 1, 2, 3, 4)``. (``jax.jacrev`` computes the same values but wraps the product in
an identity basis, ``iota``/``eq``/``split``, which adds vertices without arithmetic.) Tracing
it gives a *different* graph from the frozen one; the frozen paper graph stays the benchmark
for paper comparisons (``crosscountry_gym.tasks.load("BlackScholes_Jacobian").graph``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
from jax import Array


def _std_normal_cdf(z):
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2."""
    return (1.0 + jss.erf(z / jnp.sqrt(2.0))) / 2


def black76(forward, strike, rate, sigma, maturity):
    """Black-76 price of a call on a forward: e^{-rT} (F Phi(d1) - K Phi(d2))."""
    d1 = (jnp.log(forward / strike) + (sigma**2) / 2.0 * maturity) / (sigma * jnp.sqrt(maturity))
    d2 = d1 - sigma * jnp.sqrt(maturity)
    return jnp.exp(-rate * maturity) * (
        forward * _std_normal_cdf(d1) - strike * _std_normal_cdf(d2)
    )


def black_scholes(spot, strike, rate, sigma, maturity):
    """Black-Scholes call price from spot S, strike K, rate r, volatility sigma, maturity T.

    Scalars in, scalar out. Written as Black-76 on the forward F = e^{rT} S, as the source does.
    """
    forward = jnp.exp(rate * maturity) * spot
    return black76(forward, strike, rate, sigma, maturity)


black_scholes_jacobian = jax.grad(black_scholes, argnums=(0, 1, 2, 3, 4))
"""Reverse-mode Jacobian of :func:`black_scholes`: five scalars -> the five first-order greeks
(dPrice/dS, dK, dr, dsigma, dT). Eliminating its graph yields second-order sensitivities."""


def black_scholes_args(batch: int = 1) -> tuple[Array, ...]:
    """The paper's tracing inputs: five arrays ``ones((batch,))`` (traced under ``jax.vmap``)."""
    return tuple(jnp.ones((batch,), jnp.float32) for _ in range(5))
