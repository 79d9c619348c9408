"""RoeFlux_1d and RoeFlux_3d: Roe's approximate Riemann flux for the Euler equations.

Benchmark definitions after ``src/graphax/examples/roe.py`` of jamielohoff/graphax (MIT licence),
the version the NeurIPS 2024 paper traced (spec ``tasks.md`` §2.1-2.2). The code here is written
anew; it emits the same JAX operations in the same order, so that tracing it reproduces the
frozen paper graph vertex for vertex. Do not "simplify" an expression: every multiplication,
reshuffled operand or fused term changes the graph.

Paper quirks kept on purpose (the frozen graphs encode them):

* the ratio of specific heats is ``GAMMA = 0.5``, not the physical 1.4;
* 1-D: the three eigenvalue factors are ``|u + a|``, ``|u|`` and ``|u|`` (the third should be
  ``|u - a|``);
* 3-D: the eigenvalues ``u + a``, ``u``, ``u - a`` are *not* wrapped in ``abs`` although the
  original comment says "take the absolute";
* 3-D: the pressure is padded with ``concatenate([p, zeros(2)])`` and the flux jump ``dF`` is
  assembled with ``concatenate``; the first three components of ``dF`` use ``c4 * lp`` where
  textbook Roe flux would differ. The formulas are the benchmark, not physics.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

GAMMA = 0.5
"""Ratio of specific heats as used by the paper (sic, not 1.4)."""


# --- 1-D -------------------------------------------------------------------------------------


def _pressure_1d(rho, mom, energy):
    """p = (gamma - 1) (E - 1/2 m^2 / rho)."""
    return (GAMMA - 1.0) * (energy - 0.5 * mom**2 / rho)


def _enthalpy(rho, energy, p):
    """h = (E + p) / rho."""
    return (energy + p) / rho


def _euler_flux_1d(rho, mom, energy, p):
    """Physical flux (m, p + m v, v (p + E)) with v = m / rho."""
    vel = mom / rho
    return mom, p + mom * vel, vel * (p + energy)


def roe_flux_1d(ul0, ul1, ul2, ur0, ur1, ur2):
    """1-D Roe flux of a left state (ul0, ul1, ul2) and a right state (ur0, ur1, ur2).

    Each argument is a scalar (density, momentum, energy); returns the three flux components
    ``(phi0, phi1, phi2)``, scalars. Operation order follows graphax ``roe.py::RoeFlux_1d``
    (jumps are right minus left; ``n = a sqrt(ul0 ur0)``, ``c = 1/2 sqrt(ul0 ur0) / a``).
    """
    d_rho = ur0 - ul0
    rho_lr = jnp.sqrt(ul0 * ur0)
    w1 = jnp.sqrt(ul0) + jnp.sqrt(ur0)

    vel_l = ul1 / ul0
    p_l = _pressure_1d(ul0, ul1, ul2)
    h_l = _enthalpy(ul0, ul2, p_l)

    vel_r = ur1 / ur0
    p_r = _pressure_1d(ur0, ur1, ur2)
    h_r = _enthalpy(ur0, ur2, p_r)

    dp = p_r - p_l
    dv = vel_r - vel_l

    # Roe averages (each sqrt is recomputed, as in the original)
    u = (jnp.sqrt(ul0) * vel_l + jnp.sqrt(ur0) * vel_r) / w1
    h = (jnp.sqrt(ul0) * h_l + jnp.sqrt(ur0) * h_r) / w1

    q2 = u**2
    a2 = (GAMMA - 1.0) * (h - 0.5 * q2)
    a = jnp.sqrt(a2)

    lam_plus = jnp.abs(u + a)
    lam_zero = jnp.abs(u)
    lam_minus = jnp.abs(u)  # quirk: |u|, not |u - a|

    n = a * rho_lr
    c0 = (d_rho - dp / a2) * lam_zero
    c1 = (dv + dp / n) * lam_plus
    c2 = (dv - dp / n) * lam_minus

    fl0, fl1, fl2 = _euler_flux_1d(ul0, ul1, ul2, p_l)
    fr0, fr1, fr2 = _euler_flux_1d(ur0, ur1, ur2, p_r)
    f0 = fl0 + fr0
    f1 = fl1 + fr1
    f2 = fl2 + fr2

    c = 0.5 * rho_lr / a
    df0 = c0 + c * c1 - c * c2
    df1 = c0 * u + c * c1 * (u + a) - c * c2 * (u - a)
    df2 = c0 * 0.5 * q2 + c * c1 * (h + u * a) - c * c2 * (h - u * a)

    return 0.5 * (f0 - df0), 0.5 * (f1 - df1), 0.5 * (f2 - df2)


ROEFLUX_1D_ARGS = (0.01, 0.02, 0.02, 0.01, 0.03, 0.03)
"""The paper's tracing inputs: six Python scalars (``tasks.md`` §1.1)."""


# --- 3-D -------------------------------------------------------------------------------------


def _pressure_3d(rho, mom, energy):
    """p = (gamma - 1) (E - 1/2 sum(m^2) / rho); ``mom`` has shape (3,)."""
    return (GAMMA - 1.0) * (energy - 0.5 * jnp.sum(mom**2) / rho)


def _euler_flux_3d(rho, mom, vel, energy, p):
    """Physical flux split as (m_x, p e_x + m v, v_x (p + E)); ``p`` has shape (1,)."""
    vel_x = vel[0:1]
    p_padded = jnp.concatenate([p, jnp.zeros(2, dtype=p.dtype)])
    return mom[0:1], p_padded + mom * vel, vel_x * (p + energy)


def roe_flux_3d(ul0, ul, ul4, ur0, ur, ur4):
    """3-D Roe flux for one sample.

    Shapes: ``ul0, ul4, ur0, ur4`` are (1,) (density, energy), ``ul, ur`` are (3,) (momentum).
    Returns ``(phi0 (1,), phi (3,), phi4 (1,))``. The paper traces ``jax.vmap`` of this with a
    batch of one (see :data:`ROEFLUX_3D_ARGS`). Operation order follows graphax
    ``roe.py::RoeFlux_3d`` (the version with ``concatenate``), including the quirks listed in
    the module docstring.
    """
    d_rho = ur0 - ul0
    d_mom = ur - ul
    d_mom1 = d_mom[0:1]
    d_mom2 = d_mom[1:2]
    d_mom3 = d_mom[2:]
    d_energy = ur4 - ul4

    vel_l = ul / ul0
    vel_r = ur / ur0
    w1 = jnp.sqrt(ul0) + jnp.sqrt(ur0)

    uvw = (jnp.sqrt(ul0) * vel_l + jnp.sqrt(ur0) * vel_r) / w1
    u = uvw[0:1]
    v = uvw[1:2]
    w = uvw[2:]

    p_l = _pressure_3d(ul0, ul, ul4)
    h_l = _enthalpy(ul0, ul4, p_l)
    p_r = _pressure_3d(ur0, ur, ur4)
    h_r = _enthalpy(ur0, ur4, p_r)

    h = (jnp.sqrt(ul0) * h_l + jnp.sqrt(ur0) * h_r) / w1

    q2 = jnp.sum(uvw**2)
    a2 = (GAMMA - 1.0) * (h - 0.5 * q2)
    a = jnp.sqrt(a2)

    # quirk: the eigenvalues are not wrapped in abs
    lam_plus = u + a
    lam_zero = u
    lam_minus = u - a

    c3 = ((GAMMA - 1.0) / a2 * ((h - q2) * d_rho + jnp.dot(uvw, d_mom) - d_energy)) * lam_zero
    c2 = (d_mom3 / w - d_mom1) * lam_zero
    c1 = (d_mom2 / v - d_rho) * lam_zero
    k1 = d_rho - c3
    k2 = (d_mom1 - u * d_rho) / a
    c0 = 0.5 * (k1 - k2) * lam_minus
    c4 = 0.5 * (k1 + k2) * lam_plus

    fl0, fl, fl4 = _euler_flux_3d(ul0, ul, vel_l, ul4, p_l)
    fr0, fr, fr4 = _euler_flux_3d(ur0, ur, vel_r, ur4, p_r)
    f0 = fl0 + fr0
    f = fl + fr
    f4 = fl4 + fr4

    df0 = c0 + c3 + c4 * lam_plus
    df1 = c0 * lam_minus + c3 * u + c4 * lam_plus
    df2 = c0 * v + c1 * v + c3 * v + c4 * v
    df3 = c0 * w + c2 * w + c3 * w + c4 * w
    df4 = c0 * (h - u * a) + c1 * v**2 + c2 * w**2 + c3 * 0.5 * q2 + c4 * (h + u * a)
    df = jnp.concatenate([df1, df2, df3])

    return 0.5 * (f0 - df0), 0.5 * (f - df), 0.5 * (f4 - df4)


def roe_flux_3d_args(batch: int = 1) -> tuple[Array, ...]:
    """The paper's tracing inputs, tiled to ``batch`` rows: shapes (B,1), (B,3), (B,1) x 2.

    Values (``tasks.md`` §1.1): ul0 = .1, ul = (.1, .2, .3), ul4 = .5, ur0 = .2,
    ur = (.2, .2, .4), ur4 = .6.
    """
    rows = ([0.1], [0.1, 0.2, 0.3], [0.5], [0.2], [0.2, 0.2, 0.4], [0.6])
    return tuple(jnp.tile(jnp.asarray(r, jnp.float32)[None, :], (batch, 1)) for r in rows)
