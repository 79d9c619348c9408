"""Survey: how many CUTEst problems of ``sif2jax`` the tracer and the executor handle.

    nice python scripts/sif2jax_survey.py                       # nonlinear equations, n <= 200
    nice python scripts/sif2jax_survey.py --kind constrained    # constraint functions
    python scripts/sif2jax_survey.py --limit 10 --names BOOTH,HS1NE   # quick runs

For every problem with ``y0.size <= --max-n`` the function ``y -> c(y)`` is traced with
``crosscountry_gym.make_graph`` and, if it traces, ``crosscountry_gym.jacobian(c, order="rev")``
at ``y0`` (eager) is compared with ``jax.jacrev(c)`` in float64: relative error
``max|a - b| / max(1, max|b|)``, pass at ``<= 1e-10``. The reference is jitted for speed; a
mismatch is re-checked against the eager ``jax.jacrev``.

``c`` is the problem's ``constraint(y)`` with its non-None parts (equalities, inequalities)
raveled and concatenated. For a nonlinear-equation problem that is its residual
(``constraint`` returns ``(residual, None)``). ``constraint`` is what the problems have in
common: ``residual`` is not part of sif2jax's abstract API, some problems lack it, and its
signature differs between problems (``residual(y, args)`` or ``residual(y)``).

Statuses, one per problem:

* ``ok``: traces, and the executor's Jacobian equals ``jax.jacrev``;
* ``problem-error``: ``c(y0)`` or ``jax.jacrev(c)(y0)`` itself fails (not the tracer's fault);
* ``too-large``: the jaxpr, with every sub-jaxpr counted, has more than ``--max-eqns``
  equations; not traced;
* ``trace-refused``: ``make_graph`` raised ``UnsupportedPrimitiveError`` (``primitive``
  recorded);
* ``trace-error``: ``make_graph`` raised anything else;
* ``executor-error``: traced, but ``jacobian`` raised;
* ``mismatch``: the Jacobians differ (shape, non-finite pattern, or relative error);
* ``timeout``: one step ran past ``--timeout`` seconds (SIGALRM; 0 turns it off).

Writes ``--out`` (JSON: settings and one record per problem) and ``--md`` (the Markdown summary,
also printed): counts per status, refusals per primitive and every non-ok problem with its reason.
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import crosscountry_gym
from crosscountry_gym.tracer import UnsupportedPrimitiveError

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TOL = 1e-10
STATUSES = (
    "ok",
    "trace-refused",
    "trace-error",
    "executor-error",
    "mismatch",
    "problem-error",
    "too-large",
    "timeout",
)
KINDS = {
    "nonlinear": "nonlinear_equations_problems",
    "constrained": "constrained_minimisation_problems",
}


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


def load_problems(kind: str) -> tuple[Any, ...]:
    """The problem instances of ``kind`` ("nonlinear" or "constrained").

    ``import sif2jax`` takes about 45 s on two cores: the package ``__init__`` imports every
    problem module, and one constrained problem (CLEUVEN7) builds a dense matrix with ~100k
    eager ``.at[].add`` calls at import time. The nonlinear-equation problems only need
    ``sif2jax._problem`` and their own subpackage, so those are imported alone (about 2 s)
    behind two placeholder parent packages that are removed again; a later ``import sif2jax``
    then runs the real ``__init__`` and reuses the same problem classes. Any failure of that
    shortcut (a layout change in sif2jax) falls back to the plain import.
    """
    if kind == "nonlinear" and "sif2jax" not in sys.modules:
        try:
            return tuple(_import_nonlinear_alone().nonlinear_equations_problems)
        except Exception:
            pass
    import sif2jax

    return tuple(getattr(sif2jax, KINDS[kind]))


def _import_nonlinear_alone() -> Any:
    import importlib
    import importlib.util
    import types

    spec = importlib.util.find_spec("sif2jax")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("sif2jax is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    placeholders = {}
    for name, path in (("sif2jax", root), ("sif2jax.cutest", root / "cutest")):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        placeholders[name] = sys.modules[name] = module
    try:
        return importlib.import_module("sif2jax.cutest._nonlinear_equations")
    except Exception:
        for name in [m for m in sys.modules if m == "sif2jax" or m.startswith("sif2jax.")]:
            del sys.modules[name]
        raise
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


def constraint_fn(problem: Any):
    """``y -> constraint(y)`` with the non-None parts raveled and concatenated (1-D)."""

    def c(y):
        parts = [p for p in problem.constraint(y) if p is not None]
        leaves = [jnp.ravel(leaf) for p in parts for leaf in jax.tree.leaves(p)]
        return leaves[0] if len(leaves) == 1 else jnp.concatenate(leaves)

    c.__name__ = problem.name
    return c


def count_eqns(jaxpr: Any) -> int:
    """Equations of ``jaxpr`` (a Jaxpr or ClosedJaxpr), every sub-jaxpr included."""
    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for sub in jax_core.jaxprs_in_params(eqn.params):
            total += count_eqns(sub)
    return total


# ---------------------------------------------------------------------------------------------
# One problem
# ---------------------------------------------------------------------------------------------


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def compare(a: Any, b: Any) -> tuple[bool, float | None, str]:
    """(pass, relative error, reason) of the executor's ``a`` against ``jax.jacrev``'s ``b``."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    if len(la) != len(lb):
        return False, None, f"{len(la)} Jacobian leaves, jax.jacrev has {len(lb)}"
    worst = 0.0
    for x, y in zip(la, lb, strict=True):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.shape != y.shape:
            return False, None, f"shape {x.shape}, jax.jacrev has {y.shape}"
        fin = np.isfinite(y)
        if not np.array_equal(fin, np.isfinite(x)) or not np.array_equal(x[~fin], y[~fin]):
            # NaN != NaN, so compare the non-finite pattern by kind
            same = np.array_equal(np.isnan(x), np.isnan(y)) and np.array_equal(
                np.where(np.isinf(y), y, 0), np.where(np.isinf(x), x, 0)
            )
            if not same:
                return False, None, "non-finite entries differ from jax.jacrev"
        if fin.any():
            scale = max(1.0, float(np.max(np.abs(y[fin]))))
            worst = max(worst, float(np.max(np.abs(x[fin] - y[fin]))) / scale)
    return worst <= TOL, worst, "" if worst <= TOL else f"relative error {worst:.3g} > {TOL:g}"


def survey_one(problem: Any, *, max_eqns: int, timeout: float) -> dict[str, Any]:
    """The record of one problem (see the module docstring for the statuses)."""
    rec: dict[str, Any] = {"name": problem.name, "n": None, "status": None}
    times: dict[str, float] = {}
    rec["seconds"] = times
    step = "setup"
    t0 = time.perf_counter()

    def done(status: str, exc: BaseException | None = None, reason: str = "") -> dict:
        rec["status"] = status
        if exc is not None:
            rec["exc_type"] = type(exc).__name__
            rec["exc_msg"] = first_line(exc)
            reason = reason or f"{type(exc).__name__}: {first_line(exc)}"
        rec["reason"] = reason
        times["total"] = round(time.perf_counter() - t0, 4)
        return rec

    def lap(name: str, t: float) -> None:
        times[name] = round(time.perf_counter() - t, 4)

    if timeout > 0:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        step = "reference"
        t = time.perf_counter()
        try:
            y0 = jnp.asarray(problem.y0, dtype=jnp.float64)
            rec["n"] = int(y0.size)
            fn = constraint_fn(problem)
            out = fn(y0)
            rec["m"] = int(jnp.size(out))
            # jitted: eager jacrev of a long unrolled residual takes seconds per problem
            ref = jax.block_until_ready(jax.jit(jax.jacrev(fn))(y0))
        except _Timeout:
            raise
        except Exception as exc:  # the problem itself fails: not the tracer's fault
            return done("problem-error", exc)
        lap("jacrev", t)

        step = "jaxpr"
        t = time.perf_counter()
        rec["eqns"] = count_eqns(jax.make_jaxpr(fn)(y0))
        lap("jaxpr", t)
        if rec["eqns"] > max_eqns:
            return done("too-large", reason=f"{rec['eqns']} jaxpr equations > {max_eqns}")

        step = "trace"
        t = time.perf_counter()
        try:
            graph = crosscountry_gym.make_graph(fn, y0)
        except _Timeout:
            raise
        except UnsupportedPrimitiveError as exc:
            rec["primitive"] = exc.primitive
            reason = f"{exc.primitive}: {first_line(exc)}" if exc.primitive else ""
            return done("trace-refused", exc, reason)
        except Exception as exc:
            rec["traceback"] = traceback.format_exc(limit=-3)
            return done("trace-error", exc)
        lap("trace", t)
        rec["vertices"] = graph.num_vertices
        rec["edges"] = len(graph.edges)
        rec["graph_outputs"] = len(graph.outputs)

        step = "executor"
        t = time.perf_counter()
        try:
            jac = jax.block_until_ready(crosscountry_gym.jacobian(fn, order="rev")(y0))
        except _Timeout:
            raise
        except Exception as exc:
            rec["traceback"] = traceback.format_exc(limit=-3)
            return done("executor-error", exc)
        lap("executor", t)

        ok, err, reason = compare(jac, ref)
        if not ok:  # XLA fusion may round differently: the eager jax.jacrev decides
            step = "eager reference"
            ok, err, reason = compare(jac, jax.block_until_ready(jax.jacrev(fn)(y0)))
            rec["eager_reference"] = True
        rec["rel_err"] = err
        return done("ok" if ok else "mismatch", reason=reason)
    except _Timeout:
        return done("timeout", reason=f"{step} ran past {timeout:g} s")
    finally:
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)


# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------


def summarize(records: list[dict], settings: dict) -> str:
    counts = collections.Counter(r["status"] for r in records)
    prims = collections.Counter(
        r.get("primitive") or "(none)" for r in records if r["status"] == "trace-refused"
    )
    total = len(records)
    checked = total - counts["problem-error"]
    traced = sum(counts[s] for s in ("ok", "executor-error", "mismatch"))
    lines = [
        f"# sif2jax survey: {settings['kind']} problems with n <= {settings['max_n']}",
        "",
        f"`{settings['command']}`",
        "",
        f"sif2jax {settings['sif2jax']}, jax {settings['jax']}, {settings['date']}; "
        f"{settings['seconds']:.0f} s.",
        "",
        f"* problems: {total} ({counts['problem-error']} fail under `jax.jacrev` themselves)",
        f"* traced: {traced} of {checked} that `jax.jacrev` handles "
        f"({100 * traced / max(checked, 1):.1f}%)",
        f"* match `jax.jacrev` (rel. err <= {TOL:g}): {counts['ok']} of {traced} traced",
        "",
        "| status | problems |",
        "|---|---:|",
    ]
    lines += [f"| {s} | {counts[s]} |" for s in STATUSES if counts[s]]
    if prims:
        lines += ["", "## Refusals per primitive", "", "| primitive | problems |", "|---|---:|"]
        lines += [f"| `{p}` | {k} |" for p, k in prims.most_common()]
    bad = [r for r in records if r["status"] != "ok"]
    if bad:
        lines += [
            "",
            "## Problems not ok",
            "",
            "| problem | n | status | reason |",
            "|---|---:|---|---|",
        ]
        for r in sorted(bad, key=lambda r: (r["status"], r["name"])):
            reason = (r.get("reason") or "").replace("|", "\\|")
            if len(reason) > 160:
                reason = reason[:157] + "..."
            lines.append(f"| {r['name']} | {r['n']} | {r['status']} | {reason} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    # float64 for the comparison; switched here, not at import, so that importing this
    # module (tests/tracer/test_sif2jax.py does) changes no global setting
    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=sorted(KINDS), default="nonlinear")
    ap.add_argument("--max-n", type=int, default=200, help="largest y0.size surveyed")
    ap.add_argument("--names", default="", help="comma-separated problem names only")
    ap.add_argument("--limit", type=int, default=0, help="first N selected problems only")
    ap.add_argument("--max-eqns", type=int, default=20_000, help="larger jaxprs: too-large")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per problem (0: off)")
    ap.add_argument("--out", type=Path, default=None, help="JSON results")
    ap.add_argument("--md", type=Path, default=None, help="Markdown summary")
    args = ap.parse_args(argv)
    suffix = "" if args.kind == "nonlinear" else f"_{args.kind}"
    out = args.out or RESULTS / f"sif2jax_survey{suffix}.json"
    md = args.md or RESULTS / f"sif2jax_survey{suffix}.md"

    t_import = time.perf_counter()
    problems = load_problems(args.kind)
    selected = [p for p in problems if jnp.size(p.y0) <= args.max_n]
    if args.names:
        wanted = {s.strip().upper() for s in args.names.split(",") if s.strip()}
        selected = [p for p in selected if p.name.upper() in wanted]
        missing = wanted - {p.name.upper() for p in selected}
        if missing:
            print(f"not found (or n > {args.max_n}): {', '.join(sorted(missing))}", file=sys.stderr)
    if args.limit:
        selected = selected[: args.limit]

    t_start = time.perf_counter()
    records = []
    bar = tqdm(selected, desc=args.kind, unit="problem", dynamic_ncols=True)
    for i, problem in enumerate(bar, 1):
        bar.set_postfix_str(problem.name)
        records.append(survey_one(problem, max_eqns=args.max_eqns, timeout=args.timeout))
        if i % 25 == 0:
            jax.clear_caches()  # bound the compilation caches over hundreds of functions
    bar.close()

    settings = {
        "kind": args.kind,
        "max_n": args.max_n,
        "max_eqns": args.max_eqns,
        "timeout_s": args.timeout,
        "tolerance": TOL,
        "problems_of_kind": len(problems),
        "selected": len(selected),
        "command": " ".join(
            ["python", "scripts/sif2jax_survey.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "sif2jax": _dist_version("sif2jax"),
        "jax": jax.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "seconds": time.perf_counter() - t_start,
        "load_seconds": t_start - t_import,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"settings": settings, "problems": records}, indent=1) + "\n")
    text = summarize(records, settings)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(text)
    print(text)
    print(f"wrote {out} and {md}", file=sys.stderr)
    return 0


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, _alarm)
    sys.exit(main())
