"""Independent oracles for tracer tests (JAX autodiff, not the tracer's rules).

* :func:`local_partial` differentiates ONE equation of the flattened jaxpr with ``jax.jacfwd``
  at random operand values, giving the true local partial of an edge as a 4-index array
  ``J[o1, o2, p1, p2]`` in the 2-D shapes of the records.
* :func:`check_edge_honest` checks that an edge's type only claims structure the true partial
  has: zero off every tied diagonal, constant along every K tie, exact 0/1 identity or
  transposition for the structural codes -1/-6/-7, a 0/1 selection for 11.
* :func:`accumulate_dense` chains the local partials along the graph's edges (plain dense
  forward accumulation) and :func:`check_against_jacrev` compares the result with
  ``jax.jacrev`` of the whole function, so a missing or spurious edge is caught.
"""

from __future__ import annotations

import itertools
from typing import Any

import jax
import jax.extend.core as jcore
import numpy as np

from crosscountry_gym.sparsity import sparsity_of
from crosscountry_gym.tracer import Trace


def _random_value(aval: Any, rng: np.random.Generator) -> Any:
    if np.issubdtype(aval.dtype, np.floating):
        return rng.uniform(0.3, 1.7, size=aval.shape).astype(aval.dtype)
    if np.issubdtype(aval.dtype, np.bool_):
        return rng.integers(0, 2, size=aval.shape).astype(bool)
    return np.zeros(aval.shape, aval.dtype)


def primal_values(t: Trace, args: tuple[Any, ...]) -> dict[Any, Any]:
    """Value of every variable of the flattened jaxpr at the given arguments."""
    env: dict[Any, Any] = dict(t.const_env)
    leaves = jax.tree_util.tree_leaves(args)
    for v, x in zip(t.all_input_vars, leaves, strict=True):
        env[v] = np.asarray(x)
    for eqn in t.eqns:
        vals = [v.val if isinstance(v, jcore.Literal) else env[v] for v in eqn.invars]
        outs = _bind(eqn, vals)
        for v, o in zip(eqn.outvars, outs, strict=True):
            env[v] = np.asarray(o)
    return env


def _bind(eqn: Any, vals: list[Any]) -> list[Any]:
    prim = eqn.primitive
    out = prim.bind(*vals, **prim.get_bind_params(eqn.params))
    return list(out) if prim.multiple_results else [out]


def local_partial(eqn: Any, k: int, j: int, env: dict[Any, Any]) -> np.ndarray:
    """d(output k of eqn) / d(operand j) at the values in env, as J[o1, o2, p1, p2]."""
    vals = [v.val if isinstance(v, jcore.Literal) else env[v] for v in eqn.invars]

    def g(x):
        vv = list(vals)
        vv[j] = x
        return _bind(eqn, vv)[k]

    x0 = np.asarray(vals[j], dtype=np.float64 if vals[j].dtype == np.float64 else np.float32)
    try:
        if eqn.primitive.name.startswith("custom_vjp"):  # reverse mode only
            jac = np.asarray(jax.jacrev(g)(x0))
        else:
            jac = np.asarray(jax.jacfwd(g)(x0))
    except (AssertionError, TypeError, ValueError):
        # columns by explicit JVPs (no vmap: some batching rules, e.g. clamp's, are restrictive)
        _, f_jvp = jax.linearize(g, x0)
        cols = []
        for i in range(x0.size):
            basis = np.zeros(x0.size, x0.dtype)
            basis[i] = 1
            cols.append(np.asarray(f_jvp(basis.reshape(x0.shape))))
        jac = np.stack(cols, axis=-1).reshape(tuple(np.shape(cols[0])) + tuple(x0.shape))
    out_shape = eqn.outvars[k].aval.shape
    in_shape = eqn.invars[j].aval.shape
    return jac.reshape(*_two_d(out_shape), *_two_d(in_shape))


def _two_d(shape: tuple[int, ...]) -> tuple[int, int]:
    """docs/tracer.md, "Shapes": size-1 dims of rank > 2 dropped, then leading dims grouped."""
    n = int(np.prod(shape)) if shape else 1
    if n == 1:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    if len(shape) == 2:
        return tuple(shape)  # type: ignore[return-value]
    big = [d for d in shape if d != 1]
    if len(big) == 1:
        return (big[0], 1)
    return (int(np.prod(big[:-1])), big[-1])


def edge_partial(t: Trace, vertex: int, row: int, env: dict[Any, Any]) -> np.ndarray:
    """Sum of the local partials of all operands of ``vertex`` that sit on ``row``."""
    ve = t.vertices[vertex - 1]
    total = None
    for j, op in enumerate(ve.operands):
        if op.row == row:
            p = local_partial(ve.eqn, ve.outvar_index, j, env)
            total = p if total is None else total + p
    assert total is not None, f"no operand of vertex {vertex} on row {row}"
    return total


def check_edge_honest(code: int, J: np.ndarray, where: str = "") -> None:
    """Assert that type ``code`` claims nothing the partial J[o1,o2,p1,p2] does not have."""
    sp = sparsity_of(code)
    o1, o2, p1, p2 = J.shape
    if code == -1 or code == -6:
        assert (o1, o2) == (p1, p2), f"{where}: identity with shapes {J.shape}"
        eye = np.einsum("ac,bd->abcd", np.eye(o1), np.eye(o2))
        np.testing.assert_allclose(J, eye, atol=1e-6, err_msg=f"{where}: not an identity")
        return
    if code == -7:
        assert (o1, o2) == (p2, p1), f"{where}: transposition with shapes {J.shape}"
        tr = np.einsum("ad,bc->abcd", np.eye(o1), np.eye(o2))
        np.testing.assert_allclose(J, tr, atol=1e-6, err_msg=f"{where}: not a transposition")
        return
    if code == 11:
        assert np.all(np.isclose(J, 0) | np.isclose(J, 1)), f"{where}: 11 but not a selection"
        return
    for tie in sp.ties:
        a, b = tie.a - 1, tie.b - 1
        na, nb = J.shape[a], J.shape[b]
        assert na == nb, f"{where}: tie {tie} between sizes {na} and {nb}"
        for idx in itertools.product(*(range(s) for s in J.shape)):
            if idx[a] != idx[b]:
                assert abs(J[idx]) < 1e-6, f"{where}: type {code} claims {tie} but J{idx}={J[idx]}"
        if tie.kind == "K":
            # constant along the diagonal: J with idx_a = idx_b = i is independent of i
            diag = np.stack([np.take(np.take(J, i, axis=b), i, axis=a) for i in range(na)], axis=0)
            np.testing.assert_allclose(
                diag,
                np.broadcast_to(diag[:1], diag.shape),
                rtol=1e-5,
                atol=1e-6,
                err_msg=f"{where}: type {code} claims constant {tie} but it varies",
            )


def check_trace_honest(t: Trace, args: tuple[Any, ...]) -> int:
    """Check every edge of ``t.graph`` with :func:`check_edge_honest`; returns #edges checked."""
    env = primal_values(t, args)
    n = 0
    for e in t.graph.edges:
        J = edge_partial(t, e.target, e.source, env)
        assert J.shape == (*e.out_shape, *e.in_shape), (
            f"edge {e.record}: record shapes vs true partial {J.shape}"
        )
        check_edge_honest(
            e.type, J, where=f"edge {e.record} ({t.vertices[e.target - 1].primitive})"
        )
        n += 1
    return n


def accumulate_dense(t: Trace, args: tuple[Any, ...]) -> list[np.ndarray | None]:
    """Forward accumulation along the graph's edges with dense local partials.

    Returns, per flattened output, d(output)/d(all inputs) as a matrix
    (output size) x (sum of input sizes), or None for a constant output.
    """
    env = primal_values(t, args)
    g = t.graph
    ni = g.num_inputs
    sizes = [int(np.prod(s)) if s else 1 for s in t.input_shapes]
    total = sum(sizes)
    jac: dict[int, np.ndarray] = {}
    off = 0
    for r, s in enumerate(sizes, start=1):
        m = np.zeros((s, total))
        m[:, off : off + s] = np.eye(s)
        jac[r] = m
        off += s
    by_target: dict[int, list] = {}
    for e in g.edges:
        by_target.setdefault(e.target, []).append(e)
    for ve in t.vertices:
        size = int(np.prod(ve.shape)) if ve.shape else 1
        acc = np.zeros((size, total))
        for e in by_target.get(ve.vertex, []):
            J = edge_partial(t, ve.vertex, e.source, env)
            acc += J.reshape(size, -1) @ jac[e.source]
        jac[ni + ve.vertex] = acc
    return [None if r is None else jac[r] for r in t.output_rows]


def check_against_jacrev(t: Trace, f: Any, args: tuple[Any, ...], rtol: float = 1e-4) -> None:
    """The dense accumulation through the graph equals jax.jacrev of f w.r.t. argnums."""
    mine = accumulate_dense(t, args)
    ref = jax.jacrev(f, argnums=t.argnums)(*args)
    # ref: pytree of outputs, each a tuple over argnums of pytrees over leaves
    out_leaves = jax.tree_util.tree_leaves(jax.eval_shape(f, *args))
    ref_flat = jax.tree_util.tree_leaves(ref)
    n_in = len(t.input_vars)
    assert len(ref_flat) == len(out_leaves) * n_in
    for i, (o, m) in enumerate(zip(out_leaves, mine, strict=True)):
        osize = int(np.prod(o.shape)) if o.shape else 1
        blocks = [np.asarray(b).reshape(osize, -1) for b in ref_flat[i * n_in : (i + 1) * n_in]]
        full = np.concatenate(blocks, axis=1) if blocks else np.zeros((osize, 0))
        got = np.zeros_like(full) if m is None else m
        atol = max(1e-5, rtol * float(np.max(np.abs(full), initial=0.0)))
        np.testing.assert_allclose(got, full, rtol=rtol, atol=atol, err_msg=f"output {i}")
