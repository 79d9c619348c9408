"""RobotArm_6DOF: forward kinematics of a six-joint industrial arm (position and Euler angles).

Benchmark definition after ``src/graphax/examples/differential_kinematics.py`` of
jamielohoff/graphax (MIT licence), itself taken from
https://dergipark.org.tr/en/download/article-file/2289226 (spec ``tasks.md`` §2.3). Written
anew with the same operations in the same order, so that tracing reproduces the frozen paper
graph.

Quirks kept on purpose:

* ``c23`` and ``s23`` are built from products of cosines and sines of t2 and t3 (each sine and
  cosine recomputed), not as ``cos(t2 + t3)``;
* the ``y1`` term of ``py`` uses ``+ c1 s4`` while ``ay`` uses ``- c1 s4``;
* the expressions shared by ``ax``/``x1`` and ``az``/``pz`` are recomputed, not reused.
"""

from __future__ import annotations

import jax.numpy as jnp

A1, A2, A3 = 175.0, 890.0, 50.0
D1, D4, D6 = 575.0, 1035.0, 185.0


def _sin_sum(a, b):
    """sin(a + b) spelled as cos a sin b + sin a cos b (as the original does)."""
    return jnp.cos(a) * jnp.sin(b) + jnp.sin(a) * jnp.cos(b)


def _cos_sum(a, b):
    """cos(a + b) spelled as cos a cos b - sin a sin b (as the original does)."""
    return jnp.cos(a) * jnp.cos(b) - jnp.sin(a) * jnp.sin(b)


def robot_arm_6dof(t1, t2, t3, t4, t5, t6):
    """Joint angles t1..t6 (scalars) -> (px, py, pz, z, y_, z__), six scalars.

    ``px, py, pz`` is the tool position; ``z, y_, z__`` are Tait-Bryan angles from
    ``atan2``. Link constants a1..a3, d1, d4, d6 as in the source.
    """
    c1 = jnp.cos(t1)
    c2 = jnp.cos(t2)
    c4 = jnp.cos(t4)
    c5 = jnp.cos(t5)
    c6 = jnp.cos(t6)
    c23 = _cos_sum(t2, t3)

    s1 = jnp.sin(t1)
    s2 = jnp.sin(t2)
    s4 = jnp.sin(t4)
    s5 = jnp.sin(t5)
    s6 = jnp.sin(t6)
    s23 = _sin_sum(t2, t3)

    ax = s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5
    ay = s5 * (s1 * c23 * c4 - c1 * s4) + s1 * s23 * c5
    az = s23 * c4 * s5 - c23 * c5

    nz = c6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * s6
    oz = -s6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * c6

    z = jnp.arctan2(ay, ax)
    y_ = jnp.arctan2(jnp.sqrt(1.0 - az**2), az)
    z__ = jnp.arctan2(oz, -nz)

    x1 = D6 * (s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5)
    x2 = c1 * (A1 + A2 * c2 + A3 * c23 + D4 * s23)
    px = x1 + x2

    y1 = D6 * (s5 * (s1 * c23 * c4 + c1 * s4) + s1 * s23 * c5)  # quirk: + c1 s4
    y2 = s1 * (A1 + A2 * c2 + A3 * c23 + D4 * s23)
    py = y1 + y2

    pz = A2 * s2 + D1 + A3 * s23 - D4 * c23 + D6 * (s23 * c4 * s5 - c23 * c5)
    return px, py, pz, z, y_, z__


ROBOTARM_ARGS = (0.02,) * 6
"""The paper's tracing inputs: six Python scalars, all .02."""
