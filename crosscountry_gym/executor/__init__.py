"""The JAX executor: run an elimination order for real (``docs/executor.md``).

Public API::

    jacobian(f, order="rev", argnums=0)(*args)          # like jax.jacrev(f, argnums)(*args)
    count_multiplications(f, order, argnums=0)(*args)    # scalar multiplications emitted
    verify_order(task_or_fn, order, *args, ...)          # costs, errors vs jax.jacrev, pass/fail

Modules, in the order a call uses them:

* :mod:`.program`: the Jacobian program (prepare, partials phase, elimination through
  :func:`crosscountry_gym.engine.eliminate_vertex`, assembly) and :func:`jacobian`;
* :mod:`.partials`: every edge's local partial in the compact layout of its type, with the
  shared-term rules of :mod:`.elementwise`;
* :mod:`.compact`: the compact edge algebra (product, merge, dense expansion);
* :mod:`.counting`: :func:`count_multiplications` and :func:`count_jaxpr_multiplications`;
* :mod:`.verify`: :func:`verify_order` and :class:`VerifyResult`.

Orders are named or listed as :mod:`crosscountry_gym.orders` parses them
(:func:`resolve_order` is re-exported from there).
"""

from __future__ import annotations

from ..orders import resolve_order
from .counting import UncountedArithmeticError, count_jaxpr_multiplications, count_multiplications
from .program import jacobian
from .verify import VerifyResult, verify_order

__all__ = [
    "jacobian",
    "count_multiplications",
    "verify_order",
    "VerifyResult",
    "resolve_order",
    "count_jaxpr_multiplications",
    "UncountedArithmeticError",
]
