"""The compact edge algebra against a brute-force dense oracle and the cost model's counts.

For every pair of edge types (all 21 non-zero codes), with random sizes consistent with the ties
and random compact values, the compact product must equal the dense einsum of the two dense
edges, its type must be the exact product rule's type, and its multiplication count must equal
the cost rule evaluated on the six index sizes. Merges must equal the dense sum.
"""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest

from crosscountry_gym.executor.compact import (
    CompactEdge,
    ExecutorAlgebraError,
    IndexMap,
    from_dense,
    layout,
    layout_shape,
    merge,
    product,
    to_dense,
)
from crosscountry_gym.sparsity import CODES, merge_rule, product_rule, sparsity_of

ALL = [c for c in CODES if c != 0]
T1, T2, V1, V2, S1, S2 = range(6)
OUT_POS = (T1, T2, V1, V2)
IN_POS = (V1, V2, S1, S2)


def _consistent_sizes(rng, tin, tout, extra_equal=()):
    """Random sizes of (T1,T2,V1,V2,S1,S2) with tied indices equal."""
    parent = list(range(6))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    def union(i, j):
        parent[find(i)] = find(j)

    for code, pos in ((tout, OUT_POS), (tin, IN_POS)):
        if code in (-1,):  # copy: out shape == in shape
            union(pos[0], pos[2])
            union(pos[1], pos[3])
        elif code != 11:
            for t in sparsity_of(code).ties:
                union(pos[t.a - 1], pos[t.b - 1])
    for i, j in extra_equal:
        union(i, j)
    roots = {find(i) for i in range(6)}
    val = {r: int(rng.integers(1, 4)) for r in roots}
    return tuple(val[find(i)] for i in range(6))


def _random_edge(rng, code, out_shape, in_shape):
    if code == 11:
        n_out, n_in = int(np.prod(out_shape)), int(np.prod(in_shape))
        terms = tuple(
            rng.integers(-1, n_in, size=n_out).astype(np.int32) for _ in range(rng.integers(1, 3))
        )
        return CompactEdge(11, out_shape, in_shape, imap=IndexMap(terms, n_out, n_in))
    if code in (-1, -6, -7):
        return CompactEdge(code, out_shape, in_shape)
    shp = layout_shape(code, out_shape, in_shape)
    return CompactEdge(code, out_shape, in_shape, values=rng.standard_normal(shp))


def _dense_np(e: CompactEdge) -> np.ndarray:
    """Brute-force dense tensor J[o1,o2,p1,p2] of an edge, element by element (the oracle)."""
    shape = tuple(e.out_shape) + tuple(e.in_shape)
    J = np.zeros(shape)
    if e.code == 11:
        n_in = int(np.prod(e.in_shape))
        flat = J.reshape(int(np.prod(e.out_shape)), n_in)
        for src in e.imap.terms:
            for i, j in enumerate(np.asarray(src)):
                if j >= 0:
                    flat[i, j] += 1.0
        return flat.reshape(shape)
    for idx in np.ndindex(*shape):
        o1, o2, p1, p2 = idx
        if e.code in (-1, -6):
            J[idx] = float(o1 == p1 and o2 == p2)
        elif e.code == -7:
            J[idx] = float(o1 == p2 and o2 == p1)
        else:
            if any(idx[t.a - 1] != idx[t.b - 1] for t in sparsity_of(e.code).ties):
                continue
            J[idx] = np.asarray(e.values)[tuple(idx[ax[0] - 1] for ax in layout(e.code))]
    return J


def test_layouts_have_one_axis_per_untied_position_and_d_tie():
    assert layout(1) == ((1,), (2,), (3,), (4,))
    assert layout(6) == ((1, 3), (2, 4))
    assert layout(7) == ((1, 4), (2, 3))
    assert layout(2) == ((1, 3), (2,), (4,))
    assert layout(-2) == ((2,), (4,))
    assert layout(8) == ((2, 4),)
    assert layout(-8) == ((1, 3),)
    assert layout(10) == () and layout(-10) == ()
    with pytest.raises(ValueError):
        layout(-6)


@pytest.mark.parametrize("code", [c for c in ALL if c not in (-1, -6, -7, 11)])
def test_dense_roundtrip_has_the_type_structure(code):
    rng = np.random.default_rng(abs(code))
    sizes = _consistent_sizes(rng, 1, code)  # tin=1 imposes nothing on (T, V)
    out_shape, in_shape = sizes[0:2], sizes[2:4]
    e = _random_edge(rng, code, out_shape, in_shape)
    with jax.enable_x64(True):
        d = np.asarray(to_dense(e))
    np.testing.assert_array_equal(d, _dense_np(e))
    np.testing.assert_array_equal(from_dense(d, code), e.values)
    # Zero off the tied diagonals, and K ties constant along them.
    for t in sparsity_of(code).ties:
        idx = np.indices(d.shape)
        off = idx[t.a - 1] != idx[t.b - 1]
        assert np.all(d[off] == 0)


def _pair_cases(pairs, rng, repeats):
    cases = []
    for tin, tout in pairs:
        for _ in range(repeats):
            sizes = _consistent_sizes(rng, tin, tout)
            t_shape, v_shape, s_shape = sizes[0:2], sizes[2:4], sizes[4:6]
            e_in = _random_edge(rng, tin, v_shape, s_shape)
            e_out = _random_edge(rng, tout, t_shape, v_shape)
            cases.append((tin, tout, sizes, e_in, e_out))
    return cases


def _check_pairs(cases):
    """All products in one jitted program (one compile instead of thousands of eager ops)."""
    booked = {}

    def run(values):
        outs = []
        for k, (tin, tout, _sizes, e_in, e_out) in enumerate(cases):
            vi, vo = values[k]
            a = CompactEdge(tin, e_in.out_shape, e_in.in_shape, values=vi, imap=e_in.imap)
            b = CompactEdge(tout, e_out.out_shape, e_out.in_shape, values=vo, imap=e_out.imap)
            res, mults = product(a, b, np.float64)
            booked[k] = (res.code, mults)
            outs.append(to_dense(res, np.float64))
        return outs

    values = [(e_in.values, e_out.values) for _, _, _, e_in, e_out in cases]
    with jax.enable_x64(True):
        got = jax.jit(run)(values)
        for k, (tin, tout, sizes, e_in, e_out) in enumerate(cases):
            want = np.einsum("abcd,cdef->abef", _dense_np(e_out), _dense_np(e_in))
            np.testing.assert_allclose(np.asarray(got[k]), want, atol=1e-12, err_msg=str((tin, tout)))
            pr = product_rule(tin, tout, "exact")
            assert booked[k][0] == pr.result, (tin, tout)
            assert booked[k][1] == pr.evaluate(sizes), (tin, tout, sizes)


def test_type_pairs_sample_match_dense_oracle_and_exact_cost():
    rng = np.random.default_rng(0)
    pairs = list(itertools.product(ALL, ALL))
    pick = rng.choice(len(pairs), size=80, replace=False)
    _check_pairs(_pair_cases([pairs[i] for i in pick], rng, 1))


@pytest.mark.slow
def test_all_type_pairs_match_dense_oracle_and_exact_cost():
    rng = np.random.default_rng(1)
    _check_pairs(_pair_cases(list(itertools.product(ALL, ALL)), rng, 3))


def _merge_cases(pairs, rng):
    cases = []
    for a, b in pairs:
        # Both edges share the record r -> t: sizes consistent with the ties of both types.
        sizes = _consistent_sizes(rng, a, b, extra_equal=[(T1, V1), (T2, V2)])
        out_shape, in_shape = sizes[0:2], sizes[2:4]
        try:
            ea = _random_edge(rng, a, out_shape, in_shape)
            eb = _random_edge(rng, b, out_shape, in_shape)
        except ExecutorAlgebraError:
            continue  # the two types cannot share one record with these sizes
        cases.append((a, b, ea, eb))
    return cases


def _check_merges(cases):
    refused, codes = [], {}

    def run(values):
        outs = {}
        for k, (a, b, ea, eb) in enumerate(cases):
            va, vb = values[k]
            xa = CompactEdge(a, ea.out_shape, ea.in_shape, values=va, imap=ea.imap)
            xb = CompactEdge(b, eb.out_shape, eb.in_shape, values=vb, imap=eb.imap)
            try:
                m = merge(xa, xb, np.float64)
            except ExecutorAlgebraError:
                refused.append((a, b))
                continue
            codes[k] = (m.code, m.imap)
            outs[k] = to_dense(m, np.float64)
        return outs

    with jax.enable_x64(True):
        got = jax.jit(run)([(ea.values, eb.values) for _, _, ea, eb in cases])
    for k, (a, b, ea, eb) in enumerate(cases):
        if k not in got:
            continue
        assert codes[k][0] == merge_rule(a, b, "exact")
        np.testing.assert_allclose(np.asarray(got[k]), _dense_np(ea) + _dense_np(eb), atol=1e-12)
    # Only the documented non-representable corners are refused: a copy (-1, neutral in the
    # merge rule) with a transposed type, or two structural maps whose sum is not structural.
    transposed = {4, 5, 7, 9, -4, -5, -7, -9, -10}
    for a, b in refused:
        pair = {a, b}
        assert (-1 in pair and (pair - {-1}) <= transposed | {-1, -6, -7}) or pair <= {-6, -7, -1}
    return refused


def test_merges_sample_match_dense_sum():
    rng = np.random.default_rng(2)
    pairs = list(itertools.product(ALL, ALL))
    pick = rng.choice(len(pairs), size=80, replace=False)
    _check_merges(_merge_cases([pairs[i] for i in pick], rng))


@pytest.mark.slow
def test_all_merges_match_dense_sum_or_refuse_clearly():
    rng = np.random.default_rng(3)
    refused = _check_merges(_merge_cases(list(itertools.product(ALL, ALL)), rng))
    assert (-1, -1) in refused and (-6, -6) in refused  # 2·I is not structural
