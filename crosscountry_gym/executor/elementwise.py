"""Primal values and diagonal partials of elementwise primitives with shared expensive terms.

Why this exists: on a CPU a batched per-sample Jacobian is a few hundred elementwise operations
on short vectors, and XLA:CPU cuts a new loop kernel at every *expensive* value (divide, sqrt,
rsqrt, log, ...) that has several consumers, so the run time follows the number of distinct
expensive values far more than the number of multiplications. JAX's own JVP rules spend several
of them per primitive (``a / b`` has the primal divide, ``1 / b`` and ``a / b**2``; ``sqrt(x)``
has the primal and ``0.5 / sqrt(x)``). The rules below spend one reciprocal (or one ``rsqrt``)
per distinct denominator and reuse it for the primal value, for every partial that needs it and
for every other division by the same value (``SharedTerms`` caches them by value identity).

The values agree with JAX's to a few ulps; ``sqrt`` keeps JAX's exact results at 0 and +inf.
Nothing here is counted by the cost model: partials are inputs of the accumulation, and only the
accumulation's multiplications are the cost (``docs/cost_model.md``).

Shapes: every rule takes the primal operands of one equation (all of the output's shape, or
literals) and returns arrays of the output's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from jax import lax

__all__ = ["SharedTerms", "has_partial_rule", "has_primal_rule", "partial", "primal"]

Array = Any


class SharedTerms:
    """Per-evaluation cache of derived terms (reciprocals, reciprocal square roots, shared
    denominators), keyed by the kind of term and the identity of what it is derived from.

    One instance lives for one evaluation of the partials (one trace of the Jacobian program),
    so identities are stable: every entry also keeps its source alive.
    """

    def __init__(self) -> None:
        self._terms: dict[tuple[str, int], tuple[Any, Array]] = {}

    def term(self, kind: str, source: Any, make: Any) -> Array:
        """``make()``, built once per (``kind``, ``source``)."""
        key = (kind, id(source))
        if key not in self._terms:
            self._terms[key] = (source, make())
        return self._terms[key][1]

    def recip(self, x: Array) -> Array:
        """``1 / x``, computed once per value."""
        return self.term("recip", x, lambda: 1 / jnp.asarray(x))

    def rsqrt(self, x: Array) -> Array:
        """``1 / sqrt(x)``, computed once per value."""
        return self.term("rsqrt", x, lambda: lax.rsqrt(x))

    def know_recip(self, x: Array, r: Array) -> None:
        """Record that ``r`` is ``1 / x`` (e.g. ``rsqrt(y)`` for ``x = sqrt(y)``)."""
        self._terms.setdefault(("recip", id(x)), (x, r))


def _is_float(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


# ---------------------------------------------------------------------------------------------
# Primal values
# ---------------------------------------------------------------------------------------------


def _div_primal(sh: SharedTerms, eqn: Any, a: Array, b: Array) -> Array:
    return a * sh.recip(b)


def _sqrt_primal(sh: SharedTerms, eqn: Any, x: Array) -> Array:
    r = sh.rsqrt(x)
    # x * rsqrt(x) is sqrt(x) up to an ulp, except at 0 (0 * inf) and +inf (inf * 0).
    special = (x == 0) | (x == jnp.inf)
    out = jnp.where(special, x, x * r)
    sh.know_recip(out, r)
    return out


def _integer_pow_primal(sh: SharedTerms, eqn: Any, x: Array) -> Array | None:
    n = int(eqn.params["y"])
    if n >= 0:
        return None
    r = sh.recip(x)
    return r if n == -1 else lax.integer_pow(r, -n)


_PRIMAL = {"div": _div_primal, "sqrt": _sqrt_primal, "integer_pow": _integer_pow_primal}


def has_primal_rule(eqn: Any) -> bool:
    return eqn.primitive.name in _PRIMAL and all(_is_float(v.aval.dtype) for v in eqn.invars)


def primal(sh: SharedTerms, eqn: Any, invals: Sequence[Array]) -> Array | None:
    """The output of a one-output elementwise ``eqn`` via shared terms, or None (use ``bind``)."""
    if not has_primal_rule(eqn):
        return None
    return _PRIMAL[eqn.primitive.name](sh, eqn, *invals)


# ---------------------------------------------------------------------------------------------
# Diagonal partials d out / d operand j (elementwise: one value per output element)
# ---------------------------------------------------------------------------------------------


def _div_partial(sh, eqn, out, j, a, b):
    r = sh.recip(b)
    return r if j == 0 else -(out * r)


def _sqrt_partial(sh, eqn, out, j, x):
    return 0.5 * sh.rsqrt(x)


def _rsqrt_partial(sh, eqn, out, j, x):
    # d x^(-1/2) = -1/2 x^(-3/2) = -1/2 out^3
    return -0.5 * (out * (out * out))


def _log_partial(sh, eqn, out, j, x):
    return sh.recip(x)


def _integer_pow_partial(sh, eqn, out, j, x):
    n = int(eqn.params["y"])
    if n >= 0:
        return None  # JAX's rule is multiplications only
    # d x^n = n x^(n-1) = n * out * (1/x); right at x = +-0 too (n < 0: both infinite)
    return float(n) * (out * sh.recip(x))


def _atan2_partial(sh, eqn, out, j, y, x):
    # atan2(y, x): d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2); one reciprocal for both.
    r = sh.term("atan2 denominator", eqn, lambda: 1 / (x * x + y * y))
    return x * r if j == 0 else -(y * r)


_PARTIAL = {
    "div": _div_partial,
    "sqrt": _sqrt_partial,
    "rsqrt": _rsqrt_partial,
    "log": _log_partial,
    "integer_pow": _integer_pow_partial,
    "atan2": _atan2_partial,
}


def has_partial_rule(eqn: Any) -> bool:
    return eqn.primitive.name in _PARTIAL and all(
        _is_float(v.aval.dtype) for v in eqn.invars
    )


def partial(
    sh: SharedTerms, eqn: Any, invals: Sequence[Array], out: Array, slots: Sequence[int]
) -> Array | None:
    """Sum over ``slots`` of ``d out / d operand_j`` (elementwise, the output's shape), or None.

    ``out`` is the equation's primal output; operands must all have the output's shape or be
    scalars (literals), which broadcast.
    """
    if not has_partial_rule(eqn):
        return None
    shape = tuple(eqn.outvars[0].aval.shape)
    if any(tuple(v.aval.shape) not in (shape, ()) for v in eqn.invars):
        return None
    rule = _PARTIAL[eqn.primitive.name]
    total = None
    for j in slots:
        d = rule(sh, eqn, out, j, *invals)
        if d is None:
            return None
        d = jnp.broadcast_to(d, shape)
        total = d if total is None else total + d
    return total
