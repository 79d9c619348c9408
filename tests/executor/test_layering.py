"""The executor's place in the layers: orders come from ``crosscountry_gym.orders`` (never the
baselines), an order is checked once per call, and elimination runs the engine's skeleton."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

from crosscountry_gym import engine
from crosscountry_gym.executor import count_multiplications, jacobian, program


def f(x):
    a = jnp.sin(x)
    b = a * x
    return jnp.cos(b) + a  # vertices 1 sin, 2 mul, 3 cos, 4 add (output)


X = np.linspace(0.1, 0.5, 3)


def test_markowitz_jacobian_does_not_load_the_baselines():
    code = textwrap.dedent(
        """
        import sys
        import jax, jax.numpy as jnp, numpy as np
        import crosscountry_gym

        def f(x):
            return jnp.cos(jnp.sin(x) * x) + jnp.sin(x)

        x = np.linspace(0.1, 0.5, 3)
        crosscountry_gym.make_graph(f, x)
        got = crosscountry_gym.jacobian(f, order="markowitz")(x)
        assert np.allclose(got, jax.jacrev(f)(x))
        loaded = sorted(m for m in sys.modules if m.startswith("crosscountry_gym.baselines"))
        print("LOADED", loaded)
        assert not loaded, loaded
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("order", [[1, 2, 3], (3, 2, 1), "rev", "markowitz"])
def test_order_is_checked_once_per_call(monkeypatch, order):
    calls = {"parse": 0, "validate": 0, "heuristic": 0}

    def counted(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)

        return wrapper

    monkeypatch.setattr(program, "parse_order", counted("parse", program.parse_order))
    monkeypatch.setattr(program, "validate_order", counted("validate", program.validate_order))
    monkeypatch.setattr(program, "heuristic_order", counted("heuristic", program.heuristic_order))
    jacobian(f, order)(X)
    named = isinstance(order, str)
    assert calls == {"parse": 1, "validate": 0 if named else 1, "heuristic": 1 if named else 0}


def test_elimination_runs_the_engine_skeleton(monkeypatch):
    steps = []

    def spy(succ, pred, row, product, merge):
        steps.append(row)
        return engine.eliminate_vertex(succ, pred, row, product, merge)

    monkeypatch.setattr(program, "eliminate_vertex", spy)
    assert count_multiplications(f, [2, 1, 3])(X) > 0
    assert steps == [1 + 2, 1 + 1, 1 + 3]  # rows: one input, then vertex v is row 1 + v
