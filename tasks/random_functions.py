"""Random JAX functions whose traced graph has prescribed sizes.

``random_function(seed, num_inputs, num_intermediates, num_outputs, ...)`` returns
``(fn, example_args)`` such that ``make_graph(fn, *example_args)`` has exactly ``num_inputs``
inputs, ``num_intermediates`` eliminable vertices and ``num_outputs`` output vertices, every
input and every intermediate is used, and every output of ``fn`` is finite at
``example_args``. The same arguments always give the same function and inputs.

How it works (a value-aware straight-line program generator):

* A program is a list of operations, each **one** ``jax.lax`` primitive (``sin``, ``add``,
  ``dot_general``, ``reduce_sum``, ``broadcast_in_dim``, ...), so one operation is one jaxpr
  equation is one graph vertex. ``num_intermediates + num_outputs`` operations are drawn; the
  output positions are drawn first (the last operation is always an output).
* Operations are drawn one at a time with a NumPy generator seeded by ``seed``. Each draw takes
  its first operand from the values not used yet, and takes a second unused operand when too
  many are left for the remaining steps (or with some probability); when two unused values have
  incompatible shapes, a one-operand "adapter" (reduce, reshape, transpose, slice, broadcast)
  brings one towards the other. Outputs are never used again, so the graph's sinks are exactly
  the outputs (the tracer would otherwise add copy vertices).
* Every candidate operation is evaluated on the example inputs (float64 NumPy) and rejected if
  its operands leave a safe domain (``log``/``sqrt`` of values < 0.05, division by
  |y| < 0.05, ``arcsin``/``arctanh`` beyond 0.9, ...) or its result exceeds 1e3 in magnitude.
  So the paper's failure mode (its ``g`` returns NaN in 14 of 20 outputs) cannot happen here.
* A finished program is checked in JAX float32 (equation count, finiteness); if a draw fails
  (rare: the shapes did not allow all values to be consumed in time) the generator retries with
  the next sub-seed, deterministically.

The paper's own generator (``random_codegenerator.py`` in jamielohoff/alphagrad, removed after
the NeurIPS tree) is described in ``tasks.md`` §2.9; this one follows the same idea (input ranks
sampled with probabilities, primitives sampled by category, reshapes inserted so that binary ops
fit, unused values end as outputs) but is written from scratch, and is not expected to reproduce
the paper's f or g (those are tasks ``RandomFunction_f``/``RandomFunction_g``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = [
    "Op",
    "RandomProgram",
    "random_program",
    "random_function",
    "preset_f",
    "preset_g",
    "PRESET_F",
    "PRESET_G",
    "DEFAULT_OP_WEIGHTS",
]

Shape = tuple[int, ...]

_SAFE = 0.05  # distance kept from domain boundaries (log, sqrt, div, pow)
_BOUND = 1e3  # largest magnitude a value may take at the example inputs
_MAX_TRIES = 64

# --- the operation catalogue ------------------------------------------------------------------
# name -> (jax implementation, numpy implementation, domain check on numpy operands or None)


def _logistic_np(x):
    return 1.0 / (1.0 + np.exp(-x))


_UNARY: dict[str, tuple[Callable, Callable, Callable | None]] = {
    "neg": (lax.neg, np.negative, None),
    "sin": (lax.sin, np.sin, None),
    "cos": (lax.cos, np.cos, None),
    "tanh": (lax.tanh, np.tanh, None),
    "atan": (lax.atan, np.arctan, None),
    "asinh": (lax.asinh, np.arcsinh, None),
    "logistic": (lax.logistic, _logistic_np, None),
    "square": (lax.square, np.square, None),
    "cube": (lambda x: lax.integer_pow(x, 3), lambda x: x**3, None),
    "exp": (lax.exp, np.exp, lambda x: np.all(x < 4.0)),
    "log": (lax.log, np.log, lambda x: np.all(x > _SAFE)),
    "sqrt": (lax.sqrt, np.sqrt, lambda x: np.all(x > _SAFE)),
    "sinh": (lax.sinh, np.sinh, lambda x: np.all(np.abs(x) < 4.0)),
    "cosh": (lax.cosh, np.cosh, lambda x: np.all(np.abs(x) < 4.0)),
    "asin": (lax.asin, np.arcsin, lambda x: np.all(np.abs(x) < 0.9)),
    "acos": (lax.acos, np.arccos, lambda x: np.all(np.abs(x) < 0.9)),
    "atanh": (lax.atanh, np.arctanh, lambda x: np.all(np.abs(x) < 0.9)),
    "tan": (lax.tan, np.tan, lambda x: np.all(np.abs(np.cos(x)) > 0.2)),
}

_BINARY: dict[str, tuple[Callable, Callable, Callable | None]] = {
    "add": (lax.add, np.add, None),
    "sub": (lax.sub, np.subtract, None),
    "mul": (lax.mul, np.multiply, None),
    "div": (lax.div, np.divide, lambda x, y: np.all(np.abs(y) > _SAFE)),
    "max": (lax.max, np.maximum, None),
    "min": (lax.min, np.minimum, None),
    "atan2": (lax.atan2, np.arctan2, lambda x, y: np.all(np.hypot(x, y) > _SAFE)),
    "pow": (lax.pow, np.power, lambda x, y: np.all(x > _SAFE) and np.all(np.abs(y) < 3.0)),
}

DEFAULT_OP_WEIGHTS: dict[str, float] = {
    "unary": 0.3,
    "binary": 0.4,
    "reduce": 0.1,
    "structural": 0.1,
    "dot_general": 0.1,
}
"""Probabilities of the operation categories (normalised; missing categories weigh 0).

``unary``/``binary``: elementwise ops; ``reduce``: reduce_sum/max/min over one or all axes;
``structural``: transpose, reshape, slice, broadcast_in_dim, concatenate; ``dot_general``:
contraction of one axis pair."""


@dataclass(frozen=True)
class Op:
    """One operation = one jaxpr equation.

    ``kind`` is a catalogue name (``"sin"``, ``"add"``, ``"reduce_sum"``, ``"dot_general"``,
    ...), ``operands`` are value ids (0..num_inputs-1 are the inputs, ``num_inputs + k`` is the
    result of operation k), ``params`` the primitive's static parameters, ``shape`` the result's.
    """

    kind: str
    operands: tuple[int, ...]
    params: tuple[Any, ...]
    shape: Shape


def _apply(op: Op, xs: Sequence[Any], backend: str) -> Any:
    """Evaluate ``op`` on operands ``xs`` with ``backend`` "jax" (lax) or "np" (NumPy)."""
    k, p, jx = op.kind, op.params, backend == "jax"
    if k in _UNARY:
        return _UNARY[k][0 if jx else 1](xs[0])
    if k in _BINARY:
        return _BINARY[k][0 if jx else 1](xs[0], xs[1])
    if k in ("reduce_sum", "reduce_max", "reduce_min"):
        fn = {"reduce_sum": "sum", "reduce_max": "max", "reduce_min": "min"}[k]
        return getattr(jnp if jx else np, fn)(xs[0], axis=p[0])
    if k == "transpose":
        return lax.transpose(xs[0], (1, 0)) if jx else np.transpose(xs[0])
    if k == "reshape":
        return lax.reshape(xs[0], p[0]) if jx else np.reshape(xs[0], p[0])
    if k == "slice":
        start, limit = p
        if jx:
            return lax.slice(xs[0], start, limit)
        return xs[0][tuple(slice(a, b) for a, b in zip(start, limit, strict=True))]
    if k == "broadcast_in_dim":
        shape, dims = p
        if jx:
            return lax.broadcast_in_dim(xs[0], shape, dims)
        expanded = np.reshape(xs[0], [shape[d] if d in dims else 1 for d in range(len(shape))])
        return np.broadcast_to(expanded, shape).copy()
    if k == "dot_general":
        a, b = p
        if jx:
            return lax.dot_general(xs[0], xs[1], (((a,), (b,)), ((), ())))
        return np.tensordot(xs[0], xs[1], axes=([a], [b]))
    if k == "concatenate":
        return lax.concatenate(list(xs), p[0]) if jx else np.concatenate(xs, axis=p[0])
    raise ValueError(f"unknown operation kind {k!r}")  # pragma: no cover - catalogue bug


# --- the program ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RandomProgram:
    """A generated straight-line program: call it, trace it, or print it (:meth:`source`)."""

    seed: int
    input_shapes: tuple[Shape, ...]
    ops: tuple[Op, ...]
    outputs: tuple[int, ...]
    input_values: tuple[np.ndarray, ...]

    @property
    def num_inputs(self) -> int:
        return len(self.input_shapes)

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    @property
    def num_intermediates(self) -> int:
        return len(self.ops) - len(self.outputs)

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        """Run the program on ``num_inputs`` arrays of :attr:`input_shapes`; tuple of outputs."""
        if len(args) != self.num_inputs:
            raise TypeError(f"random program takes {self.num_inputs} inputs, got {len(args)}")
        vals: list[Any] = list(args)
        for op in self.ops:
            vals.append(_apply(op, [vals[i] for i in op.operands], "jax"))
        return tuple(vals[i] for i in self.outputs)

    @property
    def example_args(self) -> tuple[jax.Array, ...]:
        """The example inputs (float32), at which every output is finite."""
        return tuple(jnp.asarray(v, jnp.float32) for v in self.input_values)

    def source(self, name: str = "random_fn") -> str:
        """The program as readable Python (``lax`` calls), one line per operation."""
        ni = self.num_inputs
        lines = [f"def {name}({', '.join(f'v{i}' for i in range(ni))}):"]
        for k, op in enumerate(self.ops):
            args = ", ".join(f"v{i}" for i in op.operands)
            extra = "".join(f", {p!r}" for p in op.params)
            lines.append(f"    v{ni + k} = {op.kind}({args}{extra})  # {op.shape}")
        lines.append(f"    return {', '.join(f'v{i}' for i in self.outputs)}")
        return "\n".join(lines)


# --- generation -------------------------------------------------------------------------------


def _check_int(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _weights(op_weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_OP_WEIGHTS if op_weights is None else op_weights)
    unknown = set(w) - set(DEFAULT_OP_WEIGHTS)
    if unknown:
        raise ValueError(
            f"unknown op_weights categories {sorted(unknown)}; known: {sorted(DEFAULT_OP_WEIGHTS)}"
        )
    if any((not np.isfinite(v)) or v < 0 for v in w.values()):
        raise ValueError(f"op_weights must be finite and >= 0, got {w}")
    if w.get("unary", 0) + w.get("binary", 0) <= 0:
        raise ValueError("op_weights needs a positive 'unary' or 'binary' weight")
    total = sum(w.values())
    return {k: w.get(k, 0.0) / total for k in DEFAULT_OP_WEIGHTS}


def _check_shape(s: Any, max_dim: int) -> Shape:
    try:
        shape = tuple(int(d) for d in s)
    except TypeError:
        raise ValueError(f"an input shape must be a tuple of ints, got {s!r}") from None
    if len(shape) > 2 or any(d < 1 or d > max_dim for d in shape):
        raise ValueError(
            f"input shape {shape} not supported: rank <= 2 and every dimension in 1..{max_dim}"
        )
    return shape


class _Draw:
    """State of one generation attempt (a mutable shell around the pure catalogue)."""

    def __init__(self, rng, shapes, values, weights, max_dim):
        self.rng = rng
        self.shapes: list[Shape] = list(shapes)
        self.vals: list[np.ndarray] = list(values)
        self.weights = weights
        self.max_dim = max_dim
        self.ops: list[Op] = []
        self.unused: list[int] = list(range(len(shapes)))
        self.avail: list[int] = list(range(len(shapes)))

    # -- candidate construction --------------------------------------------------------------

    def _eval(self, kind, operands, params) -> tuple[Op, np.ndarray] | None:
        xs = [self.vals[i] for i in operands]
        if kind in _UNARY and _UNARY[kind][2] is not None and not _UNARY[kind][2](*xs):
            return None
        if kind in _BINARY and _BINARY[kind][2] is not None and not _BINARY[kind][2](*xs):
            return None
        with np.errstate(all="ignore"):
            val = np.asarray(_apply(Op(kind, operands, params, ()), xs, "np"), np.float64)
        if val.ndim > 2 or not np.all(np.isfinite(val)) or np.max(np.abs(val), initial=0) > _BOUND:
            return None
        if any(d > self.max_dim for d in val.shape):
            return None
        return Op(kind, tuple(operands), tuple(params), tuple(val.shape)), val

    def _unary_ops(self, x: int) -> list[tuple[str, tuple, tuple]]:
        return [(k, (x,), ()) for k in _UNARY]

    def _binary_ops(self, x: int, y: int) -> list[tuple[str, tuple, tuple]]:
        """Two-operand candidates for the pair (x, y): elementwise, dot_general, concatenate."""
        sx, sy = self.shapes[x], self.shapes[y]
        out: list[tuple[str, tuple, tuple]] = []
        if sx == sy:
            out += [(k, (x, y), ()) for k in _BINARY]
        if self.weights["dot_general"] > 0 or sx != sy:
            for a, b in product(range(len(sx)), range(len(sy))):
                if sx[a] == sy[b] and len(sx) + len(sy) - 2 <= 2:
                    out.append(("dot_general", (x, y), (a, b)))
        if self.weights["structural"] > 0 or sx != sy:
            if len(sx) == len(sy) >= 1:
                for d in range(len(sx)):
                    if all(sx[i] == sy[i] for i in range(len(sx)) if i != d):
                        out.append(("concatenate", (x, y), (d,)))
        return out

    def _adapters(self, x: int) -> list[tuple[str, tuple, tuple]]:
        """One-operand shape changes of x: reduce, transpose, reshape, slice, broadcast."""
        s = self.shapes[x]
        out: list[tuple[str, tuple, tuple]] = []
        if len(s) >= 1:
            axes_options = [(d,) for d in range(len(s))] + (
                [tuple(range(len(s)))] if len(s) > 1 else []
            )
            for axes in axes_options:
                for k in ("reduce_sum", "reduce_max", "reduce_min"):
                    out.append((k, (x,), (axes,)))
        if len(s) == 2:
            out.append(("transpose", (x,), ()))
            if 1 in s:
                out.append(("reshape", (x,), ((s[0] * s[1],),)))
            lo = tuple(int(self.rng.integers(0, d)) for d in s)
            hi = tuple(int(self.rng.integers(a + 1, d + 1)) for a, d in zip(lo, s, strict=True))
            if hi != s or any(lo):
                out.append(("slice", (x,), (lo, hi)))
        if len(s) == 1:
            n = s[0]
            out += [("reshape", (x,), ((n, 1),)), ("reshape", (x,), ((1, n),))]
            if n > 1:
                a = int(self.rng.integers(0, n - 1))
                b = int(self.rng.integers(a + 1, n + 1))
                if (a, b) != (0, n):
                    out.append(("slice", (x,), ((a,), (b,))))
            m = int(self.rng.integers(1, self.max_dim + 1))
            out += [
                ("broadcast_in_dim", (x,), ((n, m), (0,))),
                ("broadcast_in_dim", (x,), ((m, n), (1,))),
            ]
        if len(s) == 0:
            n = int(self.rng.integers(1, self.max_dim + 1))
            m = int(self.rng.integers(1, self.max_dim + 1))
            out += [
                ("broadcast_in_dim", (x,), ((n,), ())),
                ("broadcast_in_dim", (x,), ((n, m), ())),
            ]
        return out

    def _adapters_towards(self, x: int, y: int) -> list[tuple[str, tuple, tuple]]:
        """Adapters of x after which x and y admit a two-operand op (concrete shape targets)."""
        sx, sy = self.shapes[x], self.shapes[y]
        out: list[tuple[str, tuple, tuple]] = []
        if len(sx) == 0:  # a scalar: broadcast it to y's shape
            out.append(("broadcast_in_dim", (x,), (sy, ())))
        if len(sx) == len(sy) and all(a >= b for a, b in zip(sx, sy, strict=True)) and sx != sy:
            out.append(("slice", (x,), (tuple(0 for _ in sx), sy)))
        for cand in self._adapters(x):
            shape = self._shape_of(cand)
            if shape is not None and self._compatible(shape, sy):
                out.append(cand)
        return out

    def _shape_of(self, cand) -> Shape | None:
        kind, (x,), params = cand
        with np.errstate(all="ignore"):
            val = _apply(Op(kind, (x,), params, ()), [self.vals[x]], "np")
        return tuple(np.shape(val))

    @staticmethod
    def _compatible(sx: Shape, sy: Shape) -> bool:
        if sx == sy:
            return True
        if any(
            sx[a] == sy[b] and len(sx) + len(sy) - 2 <= 2
            for a, b in product(range(len(sx)), range(len(sy)))
        ):
            return True
        return len(sx) == len(sy) >= 1 and any(
            all(sx[i] == sy[i] for i in range(len(sx)) if i != d) for d in range(len(sx))
        )

    # -- one step ------------------------------------------------------------------------------

    def _pick(self, cands) -> tuple[Op, np.ndarray] | None:
        """Evaluate candidates in random order; return the first in the safe domain."""
        for i in self.rng.permutation(len(cands)):
            got = self._eval(*cands[int(i)])
            if got is not None:
                return got
        return None

    def _category_candidates(self, x: int) -> list[tuple[str, tuple, tuple]]:
        """Candidates with first operand x, by a category drawn from the weights."""
        cats = [c for c, w in self.weights.items() if w > 0]
        probs = np.array([self.weights[c] for c in cats])
        for c in self.rng.choice(cats, size=len(cats), replace=False, p=probs / probs.sum()):
            if c == "unary":
                cands = self._unary_ops(x)
            elif c == "binary":
                ys = [y for y in self.avail if y != x and self.shapes[y] == self.shapes[x]]
                cands = [b for y in ys for b in self._binary_ops(x, y) if b[0] in _BINARY]
            elif c == "dot_general":
                ys = [y for y in self.avail if y != x]
                cands = [b for y in ys for b in self._binary_ops(x, y) if b[0] == "dot_general"]
            elif c == "reduce":
                cands = [a for a in self._adapters(x) if a[0].startswith("reduce")]
            else:
                cands = [a for a in self._adapters(x) if not a[0].startswith("reduce")]
                ys = [y for y in self.avail if y != x]
                cands += [b for y in ys for b in self._binary_ops(x, y) if b[0] == "concatenate"]
            if cands:
                got = self._pick(cands)
                if got is not None:
                    return got
        return self._pick(self._unary_ops(x))

    def _double(self) -> tuple[Op, np.ndarray] | None:
        """An op consuming two unused values, or an adapter that prepares one; None if neither."""
        u = self.unused
        pairs = [(x, y) for x in u for y in u if x != y]
        self.rng.shuffle(pairs)
        for x, y in pairs:
            got = self._pick(self._binary_ops(x, y))
            if got is not None:
                return got
        for x, y in pairs:
            got = self._pick(self._adapters_towards(x, y))
            if got is not None:
                return got
        return None

    def step(self, is_output: bool, outputs_left: int, steps_left: int) -> None:
        """Append one operation (``outputs_left``/``steps_left`` count this step too)."""
        excess = len(self.unused) - outputs_left
        got = None
        if len(self.unused) >= 2 and excess > 0:
            pressure = excess / max(steps_left - outputs_left, 1)
            if pressure >= 0.3 or self.rng.random() < 0.25 + pressure:
                got = self._double()
        if got is None:
            x = (
                int(self.rng.choice(self.unused))
                if self.unused
                else int(self.rng.choice(self.avail))
            )
            got = self._category_candidates(x)
        if got is None:  # pragma: no cover - sin/neg/tanh never leave the safe domain
            raise RuntimeError("no admissible operation")
        op, val = got
        self.ops.append(op)
        new = len(self.shapes)
        self.shapes.append(op.shape)
        self.vals.append(val)
        for i in set(op.operands):
            if i in self.unused:
                self.unused.remove(i)
        if not is_output:
            self.unused.append(new)
            self.avail.append(new)


def random_program(
    seed: int,
    num_inputs: int,
    num_intermediates: int,
    num_outputs: int,
    *,
    input_shapes: Sequence[Sequence[int]] | None = None,
    rank_probs: Sequence[float] = (0.2, 0.4, 0.4),
    max_dim: int = 4,
    op_weights: Mapping[str, float] | None = None,
    input_range: tuple[float, float] = (0.2, 1.0),
) -> RandomProgram:
    """Generate a :class:`RandomProgram` (see :func:`random_function` for the arguments)."""
    seed = _check_int(seed, "seed", 0)
    ni = _check_int(num_inputs, "num_inputs", 1)
    nint = _check_int(num_intermediates, "num_intermediates", 0)
    no = _check_int(num_outputs, "num_outputs", 1)
    max_dim = _check_int(max_dim, "max_dim", 1)
    weights = _weights(op_weights)
    if ni > nint + 2 * no:
        raise ValueError(
            f"cannot use all {ni} inputs: {nint + no} operations of at most two operands can "
            f"consume at most {nint + 2 * no} values ({nint} of them intermediates); "
            f"need num_inputs <= num_intermediates + 2 * num_outputs"
        )
    lo, hi = (float(v) for v in input_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"input_range must be two finite floats lo < hi, got {input_range!r}")
    if input_shapes is not None:
        shapes_fixed = tuple(_check_shape(s, max_dim) for s in input_shapes)
        if len(shapes_fixed) != ni:
            raise ValueError(f"{len(shapes_fixed)} input_shapes given for num_inputs={ni}")
    else:
        shapes_fixed = None
        rp = np.asarray(rank_probs, float)
        if rp.shape != (3,) or np.any(rp < 0) or not np.isfinite(rp).all() or rp.sum() <= 0:
            raise ValueError(
                f"rank_probs must be three weights (scalar, vector, matrix), got {rank_probs!r}"
            )
        rp = rp / rp.sum()

    n_ops = nint + no
    for attempt in range(_MAX_TRIES):
        rng = np.random.default_rng([seed, attempt])
        if shapes_fixed is None:
            ranks = rng.choice(3, size=ni, p=rp)
            shapes = tuple(
                tuple(int(d) for d in rng.integers(1, max_dim + 1, size=r)) for r in ranks
            )
        else:
            shapes = shapes_fixed
        values = [rng.uniform(lo, hi, size=s).astype(np.float32).astype(np.float64) for s in shapes]
        out_pos = set(rng.choice(n_ops - 1, size=no - 1, replace=False).tolist()) | {n_ops - 1}
        draw = _Draw(rng, shapes, values, weights, max_dim)
        outputs = []
        outputs_left = no
        for k in range(n_ops):
            is_out = k in out_pos
            draw.step(is_out, outputs_left, n_ops - k)
            if is_out:
                outputs.append(ni + k)
                outputs_left -= 1
        if draw.unused:
            continue  # some value was left unconsumed: draw again
        prog = RandomProgram(
            seed=seed,
            input_shapes=tuple(shapes),
            ops=tuple(draw.ops),
            outputs=tuple(outputs),
            input_values=tuple(np.asarray(v, np.float32) for v in values),
        )
        if _verify(prog):
            return prog
    raise ValueError(
        f"no program with {ni} inputs, {nint} intermediates and {no} outputs found in "
        f"{_MAX_TRIES} draws (seed {seed}); the shapes may leave too little room to consume "
        "every value: allow more intermediates or outputs, or use scalar inputs"
    )


def _verify(prog: RandomProgram) -> bool:
    """One jaxpr equation per op, and every output finite when replayed in float32.

    The float32 replay uses NumPy (compiling the program with XLA would cost seconds per
    draw); the safe-domain margins and the 1e3 bound are far from float32 round-off, and the
    tests check the outputs with JAX itself.
    """
    jaxpr = jax.make_jaxpr(prog)(*prog.example_args)
    if len(jaxpr.eqns) != len(prog.ops):
        return False
    vals: list[np.ndarray] = [np.asarray(v, np.float32) for v in prog.input_values]
    with np.errstate(all="ignore"):
        for op in prog.ops:
            out = _apply(op, [vals[i] for i in op.operands], "np")
            vals.append(np.asarray(out, np.float32))
    return all(bool(np.all(np.isfinite(vals[i]))) for i in prog.outputs)


def random_function(
    seed: int,
    num_inputs: int,
    num_intermediates: int,
    num_outputs: int,
    *,
    input_shapes: Sequence[Sequence[int]] | None = None,
    rank_probs: Sequence[float] = (0.2, 0.4, 0.4),
    max_dim: int = 4,
    op_weights: Mapping[str, float] | None = None,
    input_range: tuple[float, float] = (0.2, 1.0),
) -> tuple[Callable[..., tuple[Any, ...]], tuple[jax.Array, ...]]:
    """A random JAX function and example inputs whose graph has exactly the requested sizes.

    Args:
        seed: any int >= 0; the same arguments always give the same function and inputs.
        num_inputs: number of input arrays (graph inputs); every input is used.
        num_intermediates: number of eliminable vertices; every one is used later.
        num_outputs: number of outputs (graph output vertices); the function returns a tuple.
            Requires ``num_inputs <= num_intermediates + 2 * num_outputs``.
        input_shapes: explicit input shapes (rank <= 2, dims in 1..max_dim); otherwise ranks
            are drawn with ``rank_probs`` (scalar, vector, matrix) and dims from 1..max_dim.
        max_dim: largest dimension of any value.
        op_weights: probabilities of the categories of :data:`DEFAULT_OP_WEIGHTS`.
        input_range: example input values are uniform in this range (float32).

    Returns:
        ``(fn, example_args)``: ``fn(*example_args)`` is a tuple of ``num_outputs`` finite
        arrays, and ``make_graph(fn, *example_args)`` has the requested sizes.

    Raises:
        ValueError: bad arguments, or sizes that cannot be met (the message says why).
    """
    prog = random_program(
        seed,
        num_inputs,
        num_intermediates,
        num_outputs,
        input_shapes=input_shapes,
        rank_probs=rank_probs,
        max_dim=max_dim,
        op_weights=op_weights,
        input_range=input_range,
    )
    return prog, prog.example_args


PRESET_F: dict[str, Any] = {
    "num_inputs": 4,
    "num_intermediates": 75,
    "num_outputs": 5,
    "input_shapes": ((4,), (2, 3), (4, 4), (4, 1)),
    "op_weights": {
        "unary": 0.35,
        "binary": 0.2,
        "reduce": 0.1,
        "structural": 0.15,
        "dot_general": 0.2,
    },
}
"""Sizes and shapes of the paper's f (4 / 75 / 5; inputs (4,), (2, 3), (4, 4), (4, 1)) and a
primitive mix with many dot_generals, reductions and reshapes, like f's."""

PRESET_G: dict[str, Any] = {
    "num_inputs": 15,
    "num_intermediates": 85,
    "num_outputs": 20,
    "input_shapes": ((),) * 15,
    "op_weights": {"unary": 0.2, "binary": 0.8},
}
"""Sizes of the paper's g (15 / 85 / 20, all scalars) and its generator settings
(``primitive_p = [.2, .8, 0, 0, 0]``: 20 % one-operand, 80 % two-operand primitives)."""


def preset_f(seed: int = 0) -> tuple[Callable[..., tuple[Any, ...]], tuple[jax.Array, ...]]:
    """A random function shaped like the paper's f (vectors and matrices, 4 / 75 / 5)."""
    return random_function(seed, **PRESET_F)


def preset_g(seed: int = 0) -> tuple[Callable[..., tuple[Any, ...]], tuple[jax.Array, ...]]:
    """A random function shaped like the paper's g (15 scalars in, 85 intermediates, 20 out)."""
    return random_function(seed, **PRESET_G)
