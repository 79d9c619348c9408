"""HumanHeartDipole and PropaneCombustion: two MINPACK-2 nonlinear systems.

Benchmark definitions after ``src/graphax/examples/minpack.py`` of jamielohoff/graphax (MIT
licence); the systems themselves are from the MINPACK-2 test collection (Averick, Carter, Moré,
Xue 1992). Spec ``tasks.md`` §2.4-2.5. Written anew with the same operations in the same order,
so that tracing reproduces the frozen paper graphs.

Quirks kept on purpose: squares are written ``x**2`` (``integer_pow``), all dipole sigmas are 1
and ``f8`` reuses sigma_E; products are left-associated exactly as in the source
(``2*x3*x5*x7`` is three multiplications).
"""

from __future__ import annotations

import jax.numpy as jnp

# --- HumanHeartDipole ------------------------------------------------------------------------

SIGMA_MX = SIGMA_MY = SIGMA_A = SIGMA_B = SIGMA_C = SIGMA_D = SIGMA_E = 1.0
"""The measured dipole moments; all 1 in the benchmark (f8 reuses sigma_E, as the source)."""


def human_heart_dipole(x1, x2, x3, x4, x5, x6, x7, x8):
    """Eight scalars -> the eight residuals f1..f8 of the dipole equations (scalars)."""
    f1 = x1 + x2 - SIGMA_MX
    f2 = x3 + x4 - SIGMA_MY
    f3 = x5 * x1 + x6 * x2 - x7 * x3 - x8 * x4 - SIGMA_A
    f4 = x7 * x1 + x8 * x2 + x5 * x3 + x6 * x4 - SIGMA_B

    x57 = x5**2 - x7**2
    x68 = x6**2 - x8**2
    f5 = x1 * x57 - 2 * x3 * x5 * x7 + x2 * x68 - 2 * x4 * x6 * x8 - SIGMA_C
    f6 = x3 * x57 - 2 * x1 * x5 * x7 + x4 * x68 - 2 * x2 * x6 * x8 - SIGMA_D

    x557 = x5 * (x5**2 - 3 * x7**2)
    x775 = x7 * (x7**2 - 3 * x5**2)
    x668 = x6 * (x6**2 - 3 * x8**2)
    x886 = x8 * (x8**2 - 3 * x6**2)
    f7 = x1 * x557 + x3 * x775 + x2 * x668 + x4 * x886 - SIGMA_E
    f8 = x3 * x557 - x1 * x775 + x4 * x668 - x2 * x886 - SIGMA_E  # sigma_E reused (sic)
    return f1, f2, f3, f4, f5, f6, f7, f8


HUMAN_HEART_DIPOLE_ARGS = (0.15,) * 8
"""The paper's tracing inputs: eight Python scalars, all .15."""


# --- PropaneCombustion -----------------------------------------------------------------------

PRESSURE = 40.0
RATIO = 10.0


def propane_combustion(x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11):
    """Eleven scalars -> the eleven residuals f1..f11 of the full propane formulation."""
    p11 = jnp.sqrt(PRESSURE / x11)
    f1 = x1 + x4 - 3.0
    f2 = 2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - RATIO
    f3 = 2 * x2 + 2 * x5 + x6 + x7 - 8.0
    f4 = 2 * x3 + x9 - 4 * RATIO
    f5 = x2 * x4 - x1 * x5
    f6 = jnp.sqrt(x2 * x4) - jnp.sqrt(x1) * p11 * x6
    f7 = jnp.sqrt(x1 * x2) - jnp.sqrt(x4) * x7 * p11
    f8 = x1 - x4 * x8 * PRESSURE / x11
    f9 = x1 * jnp.sqrt(x3) - x4 * x9 * p11
    f10 = x1**2 - x4**2 * x10 * PRESSURE / x11
    f11 = x11 - x1 - x2 - x3 - x4 - x5 - x6 - x7 - x8 - x9 - x10
    return f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11


PROPANE_COMBUSTION_ARGS = (0.15,) * 11
"""The paper's tracing inputs: eleven Python scalars, all .15."""
