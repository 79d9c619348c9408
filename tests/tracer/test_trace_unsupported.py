"""What the tracer refuses, and bad input: clear errors naming the problem, never a KeyError."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from crosscountry_gym import UnsupportedPrimitiveError as PublicError
from crosscountry_gym.tracer import UnsupportedPrimitiveError, make_graph, trace

V = np.linspace(0.1, 0.9, 4, dtype=np.float32)

REFUSED = {
    # an unbounded loop
    "while": lambda x: lax.while_loop(lambda c: c[0] < 3.0, lambda c: c * 2.0, x),
    # side effects
    "debug_print": lambda x: (jax.debug.print("{}", x), x * 2)[1],
    # not differentiable in JAX (duplicate-index scatter-mul, nextafter)
    "scatter-mul": lambda x: x.at[jnp.array([0, 0])].multiply(x[1:3]),
    "nextafter": lambda x: lax.nextafter(x, x * 2),
}


@pytest.mark.parametrize("prim", sorted(REFUSED))
def test_refused_primitive_is_named_with_its_equation(prim):
    with pytest.raises(UnsupportedPrimitiveError) as info:
        make_graph(REFUSED[prim], V)
    err = info.value
    assert err.primitive is not None and prim.split("-")[0] in err.primitive
    assert repr(err.primitive) in str(err) and "in equation:" in str(err)
    assert err.eqn is not None and isinstance(err, ValueError)
    # the first line names the primitive and the user's line
    first = str(err).splitlines()[0]
    assert repr(err.primitive) in first and "test_trace_unsupported.py" in first


ACCEPTED_NOW = {
    # formerly refused; now traced (structural rules, dense vertices or unrolling)
    "scan": lambda x: lax.scan(lambda c, a: (c + a, c), 0.0, x)[0],
    "cond": lambda x: lax.cond(x[0] > 0, jnp.sin, jnp.cos, x),
    "gather": lambda x: x[jnp.array([0, 2])],
    "scatter-add": lambda x: x.at[jnp.array([0, 2])].add(1.0),
    "cumsum": lambda x: jnp.cumsum(x),
    "sort": lambda x: jnp.sort(x),
}


@pytest.mark.parametrize("prim", sorted(ACCEPTED_NOW))
def test_formerly_refused_primitives_trace(prim):
    g = make_graph(ACCEPTED_NOW[prim], V)
    assert g.num_vertices >= 1


def test_public_name_is_the_same_class():
    assert PublicError is UnsupportedPrimitiveError


def test_rank3_is_accepted():
    g = make_graph(jnp.sin, np.ones((2, 3, 4), np.float32))
    assert [e.out_shape for e in g.edges] == [(6, 4)]
    make_graph(lambda x: jnp.sin(x.reshape(2, 2, 1) * 2.0), V)
    make_graph(lambda x: jnp.sin(x.reshape(1, 1, 1)), np.ones(1, np.float32))


def test_complex_is_refused():
    with pytest.raises(UnsupportedPrimitiveError, match="complex"):
        make_graph(lambda x: jnp.abs(x * (1 + 2j)), V)


def test_primitive_without_derivative_is_refused():
    with pytest.raises(UnsupportedPrimitiveError, match="not differentiable in JAX") as info:
        make_graph(lambda x: lax.nextafter(x, x * 2), V)
    assert info.value.primitive == "nextafter"


def test_bad_arguments():
    with pytest.raises(ValueError, match="out of range"):
        make_graph(jnp.sin, V, argnums=3)
    with pytest.raises(ValueError, match="duplicate"):
        make_graph(lambda a, b: a * b, V, V, argnums=(0, 0))
    with pytest.raises(ValueError, match="ints"):
        make_graph(jnp.sin, V, argnums="0")
    with pytest.raises(ValueError, match="not a float"):
        make_graph(lambda x, i: x[i] * 2.0, V, 1)
    g = make_graph(lambda x, i: x[i] * 2.0, V, 1, argnums=0)  # fine when excluded
    assert g.num_inputs == 1
    with pytest.raises(ValueError, match="unknown cost model"):
        make_graph(jnp.sin, V, cost_model="paper")
    with pytest.raises(ValueError, match="argnums must be an int"):
        make_graph(jnp.sin, V, argnums=True)
    with pytest.raises(ValueError, match="no equations"):
        make_graph(lambda x: x, V)
    with pytest.raises(ValueError, match="nothing to eliminate"):
        trace(lambda x: (x, 1.0), V)


def test_zero_size_input_is_refused_by_name():
    import jax.numpy as jnp

    import crosscountry_gym as ccg

    with pytest.raises(ccg.UnsupportedPrimitiveError, match=r"input leaf 0 has zero-size shape \(0,\)"):
        ccg.make_graph(lambda x: jnp.sin(x), jnp.zeros(0))


@pytest.mark.parametrize("argnums", [(), []])
def test_empty_argnums_is_refused(argnums):
    import jax.numpy as jnp

    import crosscountry_gym as ccg

    with pytest.raises(ValueError, match="argnums is empty"):
        ccg.make_graph(lambda x: x * 2, jnp.ones(2), argnums=argnums)
    with pytest.raises(ValueError, match="argnums is empty"):
        ccg.jacobian(lambda x: x * 2, argnums=argnums)(jnp.ones(2))
