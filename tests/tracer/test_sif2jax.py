"""The tracer and the executor on CUTEst nonlinear equations (the ``sif2jax`` package).

The function of a problem is ``y -> constraint(y)`` (its residual: sif2jax's nonlinear-equation
problems return ``(residual, None)``; ``residual`` itself is not uniform across problems). The
executor's reverse-order Jacobian at ``y0`` must equal ``jax.jacrev`` in float64 (relative error
``max|a - b| / max(1, max|b|) <= 1e-10``).

* fast: a fixed sample of ten small problems;
* slow: every problem with ``y0.size <= 200``: at least 95% of those that ``jax.jacrev`` itself
  handles must trace, and every one that traces must match.

``scripts/sif2jax_survey.py`` is the same check as a report (statuses, refusals per primitive).
Everything runs inside ``jax.enable_x64(True)``, the sif2jax import included (its module-level
constants are then float64, as in the survey); the global setting is never switched.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import crosscountry_gym
from crosscountry_gym.tracer import UnsupportedPrimitiveError

# not pytest.importorskip: that would run the full 45 s ``import sif2jax``
if importlib.util.find_spec("sif2jax") is None:
    pytest.skip("sif2jax is not installed (pip install '.[cutest]')", allow_module_level=True)

def _load_survey() -> types.ModuleType:
    """``scripts/sif2jax_survey.py`` (its loader skips the 45 s full ``import sif2jax``)."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "sif2jax_survey.py"
    spec = importlib.util.spec_from_file_location("sif2jax_survey", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


SURVEY = _load_survey()
TOL = 1e-10
MAX_N = 200
TRACE_FRACTION = 0.95
# ten problems (n = 2 .. 200, chosen by hand) that trace and match jax.jacrev
SAMPLE = (
    "BOOTH",
    "BEALENE",
    "HS1NE",
    "DENSCHNBNE",
    "EXP2NE",
    "BARDNE",
    "BOX3NE",
    "BIGGS6NE",
    "AIRCRFTA",
    "ARGLBLE",
)


@pytest.fixture(scope="module")
def all_problems() -> dict:
    """name -> problem, every nonlinear-equation problem (``y0`` not evaluated: some are big)."""
    with jax.enable_x64(True):
        problems = SURVEY.load_problems("nonlinear")
    return {p.name: p for p in problems}


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _fn(problem):
    return SURVEY.constraint_fn(problem)


def _rel_err(a, b) -> float:
    """``max|a - b| / max(1, max|b|)`` over the finite entries; inf on any other difference
    (the survey's :func:`compare`)."""
    _, err, _ = SURVEY.compare(a, b)
    return float("inf") if err is None else err


def _reference(fn, y0, *, jit: bool):
    return jax.block_until_ready((jax.jit(jax.jacrev(fn)) if jit else jax.jacrev(fn))(y0))


def _executor(fn, y0, *, jit: bool):
    g = crosscountry_gym.jacobian(fn, order="rev")
    return jax.block_until_ready((jax.jit(g) if jit else g)(y0))


def _check(problem, *, jit: bool) -> float:
    """Relative error of the executor against ``jax.jacrev`` (a jitted reference that
    disagrees is replaced by the eager one: XLA fusion may round differently)."""
    fn, y0 = _fn(problem), jnp.asarray(problem.y0, dtype=jnp.float64)
    jac = _executor(fn, y0, jit=jit)
    err = _rel_err(jac, _reference(fn, y0, jit=True))
    if err > TOL:
        err = _rel_err(jac, _reference(fn, y0, jit=False))
    return err


@pytest.mark.parametrize("name", SAMPLE)
def test_sample_matches_jacrev(x64, all_problems, name):
    problem = all_problems[name]
    err = _check(problem, jit=True)  # small problems: compiling beats eager dispatch
    assert err <= TOL, f"{name} (n={jnp.size(problem.y0)}): relative error {err:.3g}"


@pytest.mark.slow
def test_all_small_problems(x64, all_problems):
    handled, traced, refused, failed = [], [], [], []
    for name, problem in sorted(all_problems.items()):
        fn, y0 = _fn(problem), jnp.asarray(problem.y0, dtype=jnp.float64)
        if y0.size > MAX_N:
            continue
        try:
            _reference(fn, y0, jit=True)
        except Exception:
            continue  # the problem itself fails under jax.jacrev: not the tracer's fault
        handled.append(name)
        try:
            crosscountry_gym.make_graph(fn, y0)
        except UnsupportedPrimitiveError as exc:
            refused.append(f"{name}: {exc.primitive}")
            continue
        except Exception as exc:
            refused.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            continue
        traced.append(name)
        try:
            err = _check(problem, jit=False)  # eager: jit compiles long unrolled programs slowly
        except Exception as exc:
            failed.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            continue
        if err > TOL:
            failed.append(f"{name}: relative error {err:.3g}")
        jax.clear_caches()
    assert handled, "no nonlinear-equation problem with n <= 200"
    fraction = len(traced) / len(handled)
    assert not failed, f"{len(failed)} traced problems do not match jax.jacrev:\n" + "\n".join(
        failed
    )
    assert fraction >= TRACE_FRACTION, (
        f"{len(traced)} of {len(handled)} problems trace ({100 * fraction:.1f}% < "
        f"{100 * TRACE_FRACTION:.0f}%); not traced:\n" + "\n".join(refused)
    )
