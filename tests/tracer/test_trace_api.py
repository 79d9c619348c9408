"""The tracer's parameters: ``cost_model=`` (``rules=`` deprecated) and the one argnums check."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import crosscountry_gym
from crosscountry_gym.tracer import make_graph, normalize_argnums, trace

V = np.linspace(0.1, 0.5, 3)
A, S = np.ones((2, 3), np.float32), np.float32(2.0)


def test_cost_model_selects_the_rule_set():
    # matrix (.) scalar: 10 in the exact rules, -8 in the paper's
    exact = [e.type for e in make_graph(jnp.multiply, A, S).edges]
    paper = [e.type for e in make_graph(jnp.multiply, A, S, cost_model="alphagrad").edges]
    assert exact == [10, 1] and paper == [-8, 1]
    assert trace(jnp.multiply, A, S, cost_model="alphagrad").cost_model == "alphagrad"


def test_rules_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="rules= is deprecated"):
        g = make_graph(jnp.multiply, A, S, rules="alphagrad")
    assert g == make_graph(jnp.multiply, A, S, cost_model="alphagrad")
    with pytest.warns(DeprecationWarning, match="rules= is deprecated"):
        t = trace(jnp.sin, V, rules="alphagrad")
    assert t.cost_model == t.rules == "alphagrad"


def test_public_reexport_is_the_tracer():
    assert crosscountry_gym.make_graph is make_graph
    assert crosscountry_gym.UnsupportedPrimitiveError.__module__ == "crosscountry_gym.tracer.rules"


def test_normalize_argnums():
    assert normalize_argnums(None, 3) == (0, 1, 2)
    assert normalize_argnums(-1, 3) == (2,)
    assert normalize_argnums((2, 0), 3) == (2, 0)  # the order given (the executor needs it)
    assert normalize_argnums(np.int64(1), 3) == (1,)
    for bad, msg in [(True, "must be an int"), ((0, 0), "duplicate"), (3, "out of range"),
                     ("0", "entries must be ints"), ((0, 1.0), "entries must be ints")]:
        with pytest.raises(ValueError, match=msg):
            normalize_argnums(bad, 3)


def test_trace_sorts_argnums():
    t = trace(lambda a, b: a * b, V, V, argnums=(1, 0))
    assert t.argnums == (0, 1)
