"""``jacobian`` against ``jax.jacrev`` and ``count_multiplications`` against the NumPy cost.

Oracles: ``jax.jacrev`` for every Jacobian (values, pytree structure, shapes, dtypes) and
``cost(make_graph(f, *args, argnums), order, "exact")`` for every multiplication count. The
functions (``functions.py``) cover elementwise ops with broadcasting partners, reductions,
dot_general with and without batch dims, data movement (transpose, reshape, slice, pad, rev,
concatenate, split, dynamic slices), select/clamp/stop_gradient, nested jit and custom_jvp,
pytrees, reused outputs, outputs that are inputs or constants, and dtype conversions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from functions import FUNCTIONS, TOLERANCE

from crosscountry_gym.engine import cost
from crosscountry_gym.executor import (
    count_jaxpr_multiplications,
    count_multiplications,
    jacobian,
    resolve_order,
)
from crosscountry_gym.executor.verify import _compare
from crosscountry_gym.orders import random_order
from crosscountry_gym.tracer import make_graph

ORDERS = ["fwd", "rev", "markowitz", "random0"]


def _order(graph, name):
    return random_order(graph, int(name[-1])) if name.startswith("random") else name


def _check_like_jacrev(got, ref, tol):
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(ref)
    for a, r in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(ref), strict=True):
        assert a.shape == r.shape and a.dtype == r.dtype
    max_abs, rel, finite_match = _compare(got, ref)
    assert finite_match
    assert rel <= tol, rel


NAMES = sorted(FUNCTIONS)
# Fast suite: every function with one order (rotating through the four); slow: all of them.
FAST = [(n, ORDERS[i % len(ORDERS)]) for i, n in enumerate(NAMES)]
SLOW = [
    pytest.param(n, o, marks=pytest.mark.slow) for n in NAMES for o in ORDERS if (n, o) not in FAST
]


@pytest.mark.parametrize(("name", "order_name"), FAST + SLOW)
def test_jacobian_equals_jacrev(x64, name, order_name):
    f, make_args, argnums = FUNCTIONS[name]
    args = make_args()
    graph = make_graph(f, *args, argnums=argnums)
    # jit: one XLA compile is much faster than op-by-op dispatch of a few hundred small ops
    got = jax.jit(jacobian(f, _order(graph, order_name), argnums))(*args)
    ref = jax.jit(jax.jacrev(f, argnums=argnums))(*args)
    _check_like_jacrev(got, ref, TOLERANCE.get(name, 1e-12))


@pytest.mark.parametrize("name", NAMES)
def test_count_equals_exact_cost_for_every_order(x64, name):
    f, make_args, argnums = FUNCTIONS[name]
    args = make_args()
    graph = make_graph(f, *args, argnums=argnums)
    for order_name in ORDERS + ["random1", "random2"]:
        order = random_order(graph, int(order_name[-1])) if "random" in order_name else order_name
        want = cost(graph, resolve_order(graph, order), "exact")
        assert count_multiplications(f, order, argnums)(*args) == want, order_name


def test_float32_jacobian_keeps_float32(recwarn):
    f, make_args, argnums = FUNCTIONS["broadcasts"]
    args = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), make_args())
    got = jax.jit(jacobian(f, "markowitz", argnums))(*args)
    ref = jax.jit(jax.jacrev(f, argnums=argnums))(*args)
    _check_like_jacrev(got, ref, 1e-5)
    assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(got))


def test_jit_and_vmap_compose(x64):
    f, make_args, _ = FUNCTIONS["mlp_layer"]
    W, x, b = make_args()
    xs = np.stack([x, 2 * x, x + 1.0])
    ours = jax.jit(jax.vmap(jacobian(f, "markowitz", argnums=(0, 1)), in_axes=(None, 0, None)))
    ref = jax.vmap(jax.jacrev(f, argnums=(0, 1)), in_axes=(None, 0, None))
    _check_like_jacrev(ours(W, xs, b), ref(W, xs, b), 1e-12)
    # vmap of jit and jit of jit work too
    inner = jax.jit(jacobian(f, "rev", argnums=1))
    _check_like_jacrev(jax.vmap(inner, (None, 0, None))(W, xs, b),
                       jax.vmap(jax.jacrev(f, 1), (None, 0, None))(W, xs, b), 1e-12)


def test_signature_cache_traces_once_per_shape(x64):
    f, make_args, argnums = FUNCTIONS["elementwise_mix"]
    x, y = make_args()
    jf = jacobian(f, "rev", argnums)
    jax.make_jaxpr(jf)(x, y)
    jax.make_jaxpr(jf)(x + 1.0, y * 2.0)
    assert len(jf.executor._cache) == 1
    jax.make_jaxpr(jf)(x[:2], y[:2])
    assert len(jf.executor._cache) == 2


def test_jit_program_holds_only_the_accumulation(x64):
    """For a linear chain the partials are views of constants, so every multiplication in the
    whole jitted program is accumulation: the count equals the cost, and fwd != rev."""
    rng = np.random.default_rng(0)
    A, B, C = rng.normal(size=(2, 6)), rng.normal(size=(6, 6)), rng.normal(size=(6, 5))

    def chain(x):
        return A @ (B @ (C @ x))

    x = rng.normal(size=5)
    graph = make_graph(chain, x)
    counts = {}
    for order in ("fwd", "rev"):
        jaxpr = jax.make_jaxpr(jax.jit(jacobian(chain, order)))(x)
        counts[order] = count_jaxpr_multiplications(jaxpr)
        assert counts[order] == cost(graph, resolve_order(graph, order), "exact")
        np.testing.assert_allclose(jax.jit(jacobian(chain, order))(x), A @ B @ C, rtol=1e-12)
    # fwd: (6x6)(6x5) then (2x6)(6x5) = 180 + 60; rev: (2x6)(6x6) then (2x6)(6x5) = 72 + 60
    assert counts == {"fwd": 240, "rev": 132}


def test_hand_counted_matvec(x64):
    """The spec's worked example: tanh(W x), W (8, 4), x (4,): 64 multiplications."""
    rng = np.random.default_rng(3)
    W, x = rng.normal(size=(8, 4)), rng.normal(size=4)

    def matvec(W, x):
        return jnp.tanh(W @ x)

    for order in ("fwd", "rev", "markowitz"):
        assert count_multiplications(matvec, order, (0, 1))(W, x) == 64
    got = jax.jit(jacobian(matvec, "rev", (0, 1)))(W, x)
    _check_like_jacrev(got, jax.jacrev(matvec, (0, 1))(W, x), 1e-12)
