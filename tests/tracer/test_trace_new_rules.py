"""Rules beyond the paper's primitives: gather / scatter, cumulative ops, sort, top_k, dense
vertices, custom derivative calls, rank > 2 and unrolled control flow.

Every case states its expected types and passes the honesty oracle (``tracer_oracles``: the
true local partial, by ``jax.jacfwd`` / ``jax.jacrev`` of the equation, has every tie the type
claims) and the chained dense accumulation equals ``jax.jacrev`` of the whole function.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from tracer_oracles import check_against_jacrev, check_trace_honest

from crosscountry_gym.tracer import UnsupportedPrimitiveError, make_graph, trace
from crosscountry_gym.tracer.custom import transpose_type
from crosscountry_gym.tracer.rules import MAX_UNROLLED_EQUATIONS, dim_positions, shape2

NEW_RULES_TESTED = {
    "gather", "scatter", "scatter-add", "scatter_add", "cumsum", "cumprod", "cummax", "cummin",
    "cumlogsumexp", "sort", "top_k",
}

V = np.linspace(0.3, 0.9, 5, dtype=np.float32)
M = np.linspace(0.3, 0.9, 6, dtype=np.float32).reshape(3, 2)
T3 = np.linspace(0.3, 0.9, 24, dtype=np.float32).reshape(2, 3, 4)


def _types_by_label(t, label):
    ids = [v.vertex for v in t.vertices if v.primitive == label]
    return sorted((e.source, e.type) for e in t.graph.edges if e.target in ids)


def _check(f, *args):
    t = trace(f, *args)
    check_trace_honest(t, args)
    check_against_jacrev(t, f, args)
    return t


CASES = {
    # name: (function, args, primitive label, expected [(source row, type)])
    "gather": (lambda x: x[jnp.array([0, 2, 2])] * 2.0, (V,), "gather", [(1, 11)]),
    "scatter": (lambda x: x.at[jnp.array([0, 3])].set(x[1:3] ** 2), (V,), "scatter", None),
    "scatter_add": (
        lambda x: x.at[jnp.array([0, 0])].add(x[1:3] ** 2), (V,), "scatter-add", None,
    ),
    "cumsum_vector": (jnp.cumsum, (V,), "cumsum", [(1, 1)]),
    "cumsum_axis0": (lambda x: jnp.cumsum(x, axis=0), (M,), "cumsum", [(1, -3)]),
    "cumsum_axis1": (lambda x: jnp.cumsum(x, axis=1), (M,), "cumsum", [(1, -2)]),
    "cumprod_axis0": (lambda x: jnp.cumprod(x, axis=0), (M,), "cumprod", [(1, 3)]),
    "cummax": (lambda x: lax.cummax(x, axis=1), (M,), "cummax", [(1, 2)]),
    "cummin": (lambda x: lax.cummin(x, axis=0), (M,), "cummin", [(1, 3)]),
    "cumlogsumexp": (lambda x: lax.cumlogsumexp(x, axis=0), (V,), "cumlogsumexp", [(1, 1)]),
    "sort": (jnp.sort, (V,), "sort", [(1, 11)]),
    "top_k": (lambda x: lax.top_k(x, 2)[0], (V,), "top_k", [(1, 11)]),
    "cholesky_dense": (
        lambda a: jnp.linalg.cholesky(a @ a.T + 3.0 * jnp.eye(3)), (M @ M.T,), "cholesky", None,
    ),
    "rank3_sin": (jnp.sin, (T3,), "sin", [(1, 6)]),
    "rank3_broadcast_div": (
        lambda x: x / jnp.sum(x, axis=2, keepdims=True), (T3,), "div", None,
    ),
    "rank3_sum_axis0": (lambda x: jnp.sum(x, axis=0), (T3,), "reduce_sum", [(1, 1)]),
    "size1_rank3": (lambda x: jnp.sum(x, axis=0), (T3[:1],), "reduce_sum", [(1, 10)]),
    "rank3_transpose": (lambda x: x.transpose(1, 0, 2), (T3,), "transpose", [(1, 11)]),
    "relu_custom": (jax.nn.relu, (V - 0.6,), "custom_jvp_call", [(1, 2)]),
    "softplus_custom": (jax.nn.softplus, (M,), "custom_jvp_call", [(1, 6)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(name):
    f, args, label, want = CASES[name]
    t = _check(f, *args)
    got = _types_by_label(t, label)
    assert got, f"no {label} vertex with an edge"
    if want is not None:
        assert got == want


def test_scatter_types():
    t = trace(lambda x: x.at[jnp.array([0, 3])].set(x[1:3] ** 2), V)
    sc = [v for v in t.vertices if v.primitive == "scatter"][0]
    assert sorted(e.type for e in t.graph.edges if e.target == sc.vertex) == [11, 11]
    t = trace(lambda x: x.at[jnp.array([0, 0])].add(x[1:3] ** 2), V)
    sc = [v for v in t.vertices if v.primitive == "scatter-add"][0]
    # operand: identity; updates: dense (duplicate targets are not a gather-form selection)
    assert sorted(e.type for e in t.graph.edges if e.target == sc.vertex) == [-6, 1]


def test_dense_vertex_in_both_models():
    f = lambda a: jnp.linalg.cholesky(a)  # noqa: E731
    for cm in ("exact", "alphagrad"):
        g = make_graph(f, M @ M.T + np.eye(3, dtype=np.float32), cost_model=cm)
        chol = g.vertex_labels.index("cholesky") + 1
        assert [e.type for e in g.edges if e.target == chol] == [1]


def test_rank_gt2_shapes_keep_flat_order():
    assert shape2((2, 3, 4)) == (6, 4)
    assert shape2((1, 3, 4)) == (3, 4)
    assert shape2((1, 1, 4)) == (4, 1)
    assert shape2((2, 1, 1, 5)) == (2, 5)
    assert dim_positions((1, 3, 4)) == (None, 1, 2)
    assert dim_positions((2, 3, 4)) == (None, None, None)
    g = make_graph(jnp.sin, np.ones((2, 3, 4), np.float32))
    assert g.edges[0].out_shape == (6, 4)


def test_custom_vjp_types_are_transposed_back():
    @jax.custom_vjp
    def f(x, y):
        return x * y[0]

    f.defvjp(lambda x, y: (f(x, y), (x, y)), lambda r, g: (g * r[1][0], jnp.zeros(2).at[0].set(g @ r[0])))
    x, y = np.ones(3, np.float32), np.ones(2, np.float32)
    t = trace(f, x, y)
    types = {e.source: e.type for e in t.graph.edges}
    assert types[1] == -2  # d out / d x = y[0] * identity (the rule's g * y[0]): a K tie
    check_trace_honest(t, (x, y))
    check_against_jacrev(t, f, (x, y))
    for code in (1, 2, 3, 4, 5, 6, 7, -2, -4, -6, -7, 10):
        assert transpose_type(transpose_type(code)) == code
    assert transpose_type(4) == 5 and transpose_type(-2) == -2


def test_scan_and_cond_are_unrolled():
    t = _check(lambda x: lax.scan(lambda c, a: (c * a + jnp.sin(c), c), 1.0, x)[0], V)
    assert "scan" not in {v.primitive for v in t.vertices}
    t = _check(lambda x: lax.cond(x[0] > 0, jnp.sin, jnp.cos, x), V)
    assert "select_n" in {v.primitive for v in t.vertices}
    assert "cond" not in {v.primitive for v in t.vertices}


def test_scan_size_limit_is_named():
    n = MAX_UNROLLED_EQUATIONS + 1
    with pytest.raises(UnsupportedPrimitiveError, match=r"scan of length .* limit") as info:
        make_graph(lambda x: lax.fori_loop(0, n, lambda i, c: c * 1.01, x), V)
    assert info.value.primitive == "scan"


def test_while_loop_is_refused_with_the_users_line():
    def solver(x):
        return lax.while_loop(lambda c: c[0] < 3.0, lambda c: c + 1.0, x)

    with pytest.raises(UnsupportedPrimitiveError) as info:
        make_graph(solver, V)
    first = str(info.value).splitlines()[0]
    assert info.value.primitive == "while" and "while_loop" in first
    assert "test_trace_new_rules.py" in first and "solver" in first


def test_non_differentiable_primitive_is_refused_by_name():
    with pytest.raises(UnsupportedPrimitiveError, match="not differentiable in JAX") as info:
        make_graph(lambda x: x.at[jnp.array([1, 1])].multiply(x[2:4]), V)
    assert info.value.primitive == "scatter-mul"
    assert "test_trace_new_rules.py" in str(info.value).splitlines()[0]
