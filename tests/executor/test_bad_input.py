"""Bad orders and bad arguments get a clear error, before anything is evaluated."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from crosscountry_gym import tasks
from crosscountry_gym.engine import InvalidOrderError
from crosscountry_gym.executor import count_multiplications, jacobian, program, verify_order
from crosscountry_gym.tracer import make_graph


def f(x):
    a = jnp.sin(x)
    b = a * x
    return jnp.cos(b) + a  # vertices 1 sin, 2 mul, 3 cos, 4 add (output)


X = np.linspace(0.1, 0.5, 3)


@pytest.fixture
def no_evaluation(monkeypatch):
    """Fail loudly if the executor gets as far as evaluating partials."""

    def boom(*a, **k):
        raise AssertionError("partials were evaluated for an invalid order")

    monkeypatch.setattr(program, "evaluate_partials", boom)


def test_graph_is_what_the_tests_assume():
    g = make_graph(f, X)
    assert g.outputs == (4,) and g.eliminable == (1, 2, 3)


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ([1, 2], "missing: 3"),
        ([1, 2, 3, 5], "not a vertex id of this graph"),
        ([1, 2, 4], "output vertex"),
    ],
)
def test_order_that_does_not_fit_the_graph(no_evaluation, order, message):
    jf = jacobian(f, order)
    with pytest.raises(InvalidOrderError, match=message):
        jf(X)
    with pytest.raises(InvalidOrderError, match=message):
        count_multiplications(f, order)(X)


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ([1, 2, 2, 3], "repeats vertex 2"),
        ([0, 1, 2], "1-based"),
        ([1, "2", 3], "not an integer"),
        ([1, 2.5, 3], "not an integer"),
        ({"order": [1, 2, 3]}, "not a dict"),
        (7, "list of vertex ids"),
    ],
)
def test_malformed_order_fails_when_the_transform_is_built(order, message):
    # no function call, no tracing at all: the error comes from jacobian() itself
    with pytest.raises(InvalidOrderError, match=message):
        jacobian(f, order)
    with pytest.raises(InvalidOrderError, match=message):
        count_multiplications(f, order)


def test_unknown_order_name(no_evaluation):
    with pytest.raises(InvalidOrderError, match="unknown order name 'sideways'"):
        jacobian(f, "sideways")(X)


def test_order_of_another_graph(no_evaluation):
    roe = tasks.load("RoeFlux_1d")
    with pytest.raises(InvalidOrderError, match="not a vertex id of this graph"):
        jacobian(f, roe.paper.best_order)(X)


def test_fingerprint_of_another_graph_is_refused():
    other = make_graph(lambda x: jnp.tanh(x) * 2.0, X).fingerprint
    with pytest.raises(InvalidOrderError, match="traces to graph"):
        verify_order(f, {"order": [1, 2, 3], "fingerprint": other}, X)


def test_bad_arguments():
    with pytest.raises(ValueError, match="out of range"):
        jacobian(f, "rev", argnums=3)(X)
    with pytest.raises(ValueError, match="dtype"):
        verify_order(f, "rev", X, dtype="float16")
    with pytest.raises(ValueError, match="example arguments"):
        verify_order(f, "rev")
    with pytest.raises(ValueError, match="unknown task"):
        verify_order("NoSuchTask", "rev")
    with pytest.raises(TypeError, match="callable"):
        jacobian(42, "rev")
    with pytest.raises(InvalidOrderError, match="'order' key"):
        verify_order(f, {"ids": [1, 2, 3]}, X)
