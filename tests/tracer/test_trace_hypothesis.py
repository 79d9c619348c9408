"""Hypothesis-generated random JAX programs: the tracer always traces them or raises
UnsupportedPrimitiveError, never anything else; when it traces, the graph is valid, the
flattened jaxpr reproduces the function, and (oracles) every edge type is honest and the
chain rule along the graph's edges equals ``jax.jacrev``.

A program is a list of ``(op, a, b)`` integer triples interpreted over a growing pool of
values (scalars, vectors (3,), matrices (2, 3)); ``a`` and ``b`` pick operands from the pool.
Ops cover elementwise math, broadcasting, reductions, contractions, reshapes, slices,
concatenation, select, nested jit (``jnp.linalg.norm``), custom_jvp (``relu``, ``softmax``),
custom_vjp, and some constructs that must be refused (cumsum, sort, gather).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jax.extend.core import jaxpr_as_fun
from tracer_oracles import check_against_jacrev, check_trace_honest

from crosscountry_gym.tracer import UnsupportedPrimitiveError, trace


@jax.custom_vjp
def _cvjp(x):
    return jnp.sin(x) * 2.0


_cvjp.defvjp(lambda x: (_cvjp(x), x), lambda x, ct: (ct * 2.0 * jnp.cos(x),))

C_VEC = np.array([0.5, -1.0, 2.0], np.float32)  # closed over: a constvar


def _pick(pool, i):
    return pool[i % len(pool)]


def _same_or_scalar(x, y):
    """Make y broadcast-compatible with x (or leave it if it already is)."""
    if x.shape == y.shape or y.ndim == 0 or x.ndim == 0:
        return y
    if x.ndim == 2 and y.shape == (3,):
        return y  # row broadcast (2,3) with (3,)
    return jnp.sum(y)


UNARY = [
    jnp.sin,
    jnp.cos,
    jnp.tanh,
    jnp.exp2,
    jax.nn.sigmoid,
    jax.scipy.special.erf,
    jnp.abs,
    jnp.negative,
    jnp.square,
    lambda x: x**3,
    lambda x: jnp.sqrt(x * x + 1.0),
    lambda x: jnp.log1p(x * x),
    jax.nn.relu,
    lambda x: jax.lax.stop_gradient(x) * x,
    jnp.sign,
    jnp.floor,
    _cvjp,
]
BINARY = [
    jnp.add,
    jnp.subtract,
    jnp.multiply,
    lambda x, y: x / (1.0 + y * y),
    jnp.maximum,
    jnp.minimum,
    jnp.arctan2,
    lambda x, y: jnp.abs(x) ** (y * 0.1 + 1.0),
]


def _apply(op, a, b, pool):
    x, y = _pick(pool, a), _pick(pool, b)
    k = op % 20
    if k < 5:
        return UNARY[(op // 20 + a) % len(UNARY)](x)
    if k < 10:
        return BINARY[(op // 20 + b) % len(BINARY)](x, _same_or_scalar(x, y))
    if k == 10:
        return jnp.sum(x, axis=(a % x.ndim) if x.ndim else None)
    if k == 11:
        return jnp.max(x, axis=(a % x.ndim) if x.ndim else None)
    if k == 12:  # contraction where shapes allow, else a scalar product
        if x.ndim == 2 and y.shape == (3,):
            return x @ y
        if x.shape == (3,) and y.ndim == 2:
            return y @ x
        if x.ndim == 2 and y.ndim == 2:
            return x @ y.T
        return x * jnp.sum(y)
    if k == 13:
        return x.T if x.ndim == 2 else jnp.broadcast_to(x, (2, 3)) if x.ndim == 0 else x[::-1]
    if k == 14:
        if x.ndim == 2:
            return x.reshape(6)[1:4]
        return jnp.concatenate([jnp.atleast_1d(x), jnp.atleast_1d(y).reshape(-1)])[:3]
    if k == 15:
        return jnp.where(x > 0.5, x, _same_or_scalar(x, y))
    if k == 16:
        return jnp.linalg.norm(x) * y  # nested jit
    if k == 17:
        return jax.nn.softmax(x) if x.ndim else jnp.clip(x, 0.2, 0.8)
    if k == 18:
        return x * (C_VEC if x.shape[-1:] == (3,) else 2.0)
    # must be refused (some of the time): cumsum, sort, gather
    return [jnp.cumsum, jnp.sort, lambda v: v[jnp.array([0, 1])]][a % 3](jnp.atleast_1d(x))


def make_program(ops):
    def f(s, v, m):
        pool = [s, v, m]
        for op, a, b in ops:
            pool.append(_apply(op, a, b, pool))
        return pool[-1], pool[len(pool) // 2]

    return f


ARGS = (
    np.float32(0.7),
    np.array([0.3, 1.1, 0.6], np.float32),
    np.array([[0.4, 0.9, 1.3], [0.2, 0.5, 0.8]], np.float32),
)
programs = st.lists(
    st.tuples(st.integers(0, 199), st.integers(0, 50), st.integers(0, 50)),
    min_size=1,
    max_size=7,
)
_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _trace_or_refuse(ops):
    f = make_program(ops)
    try:
        return f, trace(f, *ARGS)
    except UnsupportedPrimitiveError as err:
        assert err.primitive is not None or "rank" in str(err)
        return f, None


@settings(max_examples=30, **_SETTINGS)
@given(programs)
def test_random_programs_trace_or_refuse(ops):
    f, t = _trace_or_refuse(ops)
    if t is None:
        return
    g = t.graph
    assert g.num_vertices == sum(len(e.outvars) for e in t.eqns)
    assert all(e.source < g.num_inputs + e.target for e in g.edges)  # ids are topological
    got = jaxpr_as_fun(t.closed_jaxpr)(*ARGS)
    for a, b in zip(got, jax.tree_util.tree_leaves(f(*ARGS)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@settings(max_examples=3, **_SETTINGS)
@given(programs)
def test_random_programs_oracles_fast(ops):
    f, t = _trace_or_refuse(ops)
    if t is not None:
        check_trace_honest(t, ARGS)
        check_against_jacrev(t, f, ARGS, rtol=1e-3)


@pytest.mark.slow
@settings(max_examples=120, **_SETTINGS)
@given(programs)
def test_random_programs_oracles(ops):
    f, t = _trace_or_refuse(ops)
    if t is not None:
        check_trace_honest(t, ARGS)
        check_against_jacrev(t, f, ARGS, rtol=1e-3)
