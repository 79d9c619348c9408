"""Everyday per-sample Jacobians: ``jacobian(f, order="auto")`` vs ``jax.jacfwd`` / ``jax.jacrev``.

One command (``python benchmarks/executor/everyday.py``; the repository's measurements pin it
to one core: ``taskset -c 1 nice python benchmarks/executor/everyday.py``). A suite of small
functions a JAX user differentiates every day (``jax.nn`` activations, ``optax`` losses,
``equinox`` layers, ODE steps, least-squares residuals, a small linear solve), each a function of
one float32 vector (n = 3..64) closing over fixed, seeded weights. For each, at batch
``--batch`` (256), three variants, all ``jax.jit``-compiled and timed side by side in one run:

* (a) ``jax.vmap(crosscountry_gym.jacobian(f, order="auto"))``,
* (b) ``jax.vmap(jax.jacfwd(f))``, (c) ``jax.vmap(jax.jacrev(f))``.

Timing follows ``benchmarks/executor/run.py`` (its ``_time_all``: interleaved rounds of 8
consecutive calls after 2 warm-up calls, medians, ``block_until_ready`` inside the timed
region; synchronous CPU dispatch). Reported per function: median times, ratio = t(a) /
min(t(b), t(c)) (below 1: ours is faster), the exact-model multiplication count of the auto,
forward and reverse orders on ``make_graph(f, x0)``, the check (a) == (c) to 1e-4 relative, and
the equation count of ``jax.make_jaxpr(jax.vmap(variant))(batch)`` (before XLA's optimisation;
counted recursively through nested jaxprs, container equations included) with a breakdown of
the glue primitives of (a). A function that ``jacobian`` refuses keeps its row, with the
error's first line.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import math
import os
import platform
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.extend import core as jcore

import crosscountry_gym as ccg
from crosscountry_gym.orders import heuristic_order, resolve_order

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VARIANTS = ("auto", "jacfwd", "jacrev")
GLUE = (
    "reshape",
    "broadcast_in_dim",
    "transpose",
    "gather",
    "scatter-add",
    "concatenate",
    "mul",
    "dot_general",
)
TOL = 1e-4


def _load_time_all() -> Callable:
    """``_time_all`` of ``benchmarks/executor/run.py`` (the repository's timing protocol)."""
    spec = importlib.util.spec_from_file_location("_executor_run_bench", HERE / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod._time_all


# ---------------------------------------------------------------------------------------------
# The suite: name -> (f, n). Every f takes one float32 vector and closes over fixed weights.
# ---------------------------------------------------------------------------------------------


def _keys(seed: int, k: int) -> list:
    return list(jax.random.split(jax.random.PRNGKey(seed), k))


def _w(key, *shape, scale=None):
    scale = 1.0 / math.sqrt(shape[-1]) if scale is None else scale
    return (scale * jax.random.normal(key, shape)).astype(jnp.float32)


def _suite() -> dict[str, tuple[Callable, int]]:
    s: dict[str, tuple[Callable, int]] = {}
    k = _keys(0, 40)

    # -- jax.nn activations --------------------------------------------------------------
    w1, b1, w2, b2 = _w(k[0], 48, 32), _w(k[1], 48, scale=0.1), _w(k[2], 16, 48), _w(k[3], 16)

    def mlp_relu_tanh(x):
        return jnp.tanh(w2 @ jax.nn.relu(w1 @ x + b1) + b2)

    s["nn_mlp_relu_tanh"] = (mlp_relu_tanh, 32)
    s["nn_gelu"] = (lambda x: jax.nn.gelu(x), 32)
    s["nn_softplus"] = (lambda x: jax.nn.softplus(x), 32)
    s["nn_silu"] = (lambda x: jax.nn.silu(x), 32)
    s["nn_softmax"] = (lambda x: jax.nn.softmax(x), 32)
    s["nn_log_softmax"] = (lambda x: jax.nn.log_softmax(x), 32)
    s["nn_logsumexp"] = (lambda x: jax.nn.logsumexp(x), 32)

    # -- optax losses ---------------------------------------------------------------------
    labels = jax.nn.one_hot(jax.random.randint(k[4], (4,), 0, 10), 10)

    def softmax_xent(x):  # 4 samples of 10 logits -> mean loss
        return optax.softmax_cross_entropy(x.reshape(4, 10), labels).mean()

    s["optax_softmax_xent"] = (softmax_xent, 40)
    xs, ys = _w(k[5], 32, 16, scale=1.0), (jax.random.uniform(k[6], (32,)) > 0.5)
    ys = ys.astype(jnp.float32)

    def logreg(w):  # logistic regression: weights -> mean loss over 32 fixed points
        return optax.sigmoid_binary_cross_entropy(xs @ w, ys).mean()

    s["optax_logreg_bce"] = (logreg, 16)
    targ = _w(k[7], 24, scale=1.0)
    s["optax_huber"] = (lambda x: optax.huber_loss(x, targ, delta=0.5), 24)
    a_l2, b_l2 = _w(k[8], 32, 24), _w(k[9], 32, scale=1.0)
    s["optax_l2_lsq"] = (lambda x: optax.l2_loss(a_l2 @ x, b_l2).sum(), 24)

    # -- equinox layers -------------------------------------------------------------------
    lin = eqx.nn.Linear(32, 16, key=k[10])
    s["eqx_linear"] = (lambda x: lin(x), 32)
    mlp = eqx.nn.MLP(8, 4, width_size=16, depth=2, activation=jax.nn.tanh, key=k[11])
    s["eqx_mlp"] = (lambda x: mlp(x), 8)
    gru = eqx.nn.GRUCell(12, 16, key=k[12])
    h0, x0 = _w(k[13], 16, scale=0.5), _w(k[14], 12, scale=1.0)
    s["eqx_gru_input"] = (lambda x: gru(x, h0), 12)
    s["eqx_gru_hidden"] = (lambda h: gru(x0, h), 16)
    ln = eqx.nn.LayerNorm(32)
    ln = eqx.tree_at(
        lambda m: (m.weight, m.bias), ln, (1.0 + _w(k[15], 32, scale=0.2), _w(k[16], 32, scale=0.2))
    )
    s["eqx_layernorm"] = (lambda x: ln(x), 32)

    # -- ODE steps ------------------------------------------------------------------------
    def lorenz(u):
        sigma, rho, beta = 10.0, 28.0, 8.0 / 3.0
        return jnp.stack(
            [sigma * (u[1] - u[0]), u[0] * (rho - u[2]) - u[1], u[0] * u[1] - beta * u[2]]
        )

    def lorenz_rk4(u, dt=0.01):
        k1 = lorenz(u)
        k2 = lorenz(u + 0.5 * dt * k1)
        k3 = lorenz(u + 0.5 * dt * k2)
        k4 = lorenz(u + dt * k3)
        return u + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    s["ode_lorenz_rk4"] = (lorenz_rk4, 3)

    def pendulum_euler(p):  # p = (theta, omega, g/L, damping) -> 20 Euler steps of (th, om)
        def body(_, st):
            th, om = st
            return th + 0.05 * om, om + 0.05 * (-p[2] * jnp.sin(th) - p[3] * om)

        th, om = lax.fori_loop(0, 20, body, (p[0], p[1]))
        return jnp.stack([th, om])

    s["ode_pendulum_fori"] = (pendulum_euler, 4)

    # -- classic least-squares residuals (Moré, Garbow, Hillstrom) ------------------------
    def ext_rosenbrock(x):
        xo, xe = x[0::2], x[1::2]
        return jnp.stack([10.0 * (xe - xo**2), 1.0 - xo], axis=1).reshape(-1)

    s["lsq_ext_rosenbrock"] = (ext_rosenbrock, 32)

    def powell_singular(x):
        x1, x2, x3, x4 = x[0::4], x[1::4], x[2::4], x[3::4]
        r = [
            x1 + 10.0 * x2,
            math.sqrt(5.0) * (x3 - x4),
            (x2 - 2.0 * x3) ** 2,
            math.sqrt(10.0) * (x1 - x4) ** 2,
        ]
        return jnp.stack(r, axis=1).reshape(-1)

    s["lsq_powell_singular"] = (powell_singular, 32)

    def brown_almost_linear(x):
        n = x.shape[0]
        head = x[:-1] + jnp.sum(x) - (n + 1.0)
        return jnp.concatenate([head, (jnp.prod(x) - 1.0)[None]])

    s["lsq_brown_almost_linear"] = (brown_almost_linear, 16)

    def broyden_tridiagonal(x):
        left = jnp.concatenate([jnp.zeros(1, x.dtype), x[:-1]])
        right = jnp.concatenate([x[1:], jnp.zeros(1, x.dtype)])
        return (3.0 - 2.0 * x) * x - left - 2.0 * right + 1.0

    s["lsq_broyden_tridiagonal"] = (broyden_tridiagonal, 32)

    def chained_wood(x):  # Wood's 6 residuals on every overlapping block x[j:j+4], j even
        a, b, c, d = x[0:-3:2], x[1:-2:2], x[2:-1:2], x[3::2]
        r = [
            10.0 * (b - a**2),
            1.0 - a,
            math.sqrt(90.0) * (d - c**2),
            1.0 - c,
            math.sqrt(10.0) * (b + d - 2.0),
            (b - d) / math.sqrt(10.0),
        ]
        return jnp.stack(r, axis=1).reshape(-1)

    s["lsq_chained_wood"] = (chained_wood, 16)

    # -- a small linear solve -------------------------------------------------------------
    rhs = _w(k[17], 8, scale=1.0)

    def tridiag_solve(x):  # A(x) tridiagonal, diagonally dominant; solve A y = b
        a = jnp.diag(4.0 + x**2) + jnp.diag(0.5 * x[1:], 1) + jnp.diag(0.5 * x[:-1], -1)
        return jnp.linalg.solve(a, rhs)

    s["linalg_tridiag_solve"] = (tridiag_solve, 8)

    # -- a few more everyday ones ---------------------------------------------------------
    wq = _w(k[18], 16, 16)

    def attention_row(x):  # softmax(q . K) V for one query, K = V = fixed 16 x 16
        return jax.nn.softmax(wq @ x / 4.0) @ wq

    s["nn_attention_row"] = (attention_row, 16)

    def gaussian_nll(p):  # (mu, log sigma) of 8 Gaussians vs fixed data
        mu, log_s = p[:8], p[8:]
        z = (targ[:8] - mu) * jnp.exp(-log_s)
        return jnp.sum(0.5 * z**2 + log_s)

    s["gaussian_nll"] = (gaussian_nll, 16)
    return s


# ---------------------------------------------------------------------------------------------
# Jaxpr statistics
# ---------------------------------------------------------------------------------------------


def _sub_jaxprs(value):
    if isinstance(value, jcore.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jcore.Jaxpr):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _sub_jaxprs(v)


def count_eqns(jaxpr, counter: Counter | None = None) -> Counter:
    """Primitive name -> equations, recursively through nested jaxprs (containers counted)."""
    counter = Counter() if counter is None else counter
    for eqn in jaxpr.eqns:
        counter[eqn.primitive.name] += 1
        for p in eqn.params.values():
            for sub in _sub_jaxprs(p):
                count_eqns(sub, counter)
    return counter


# ---------------------------------------------------------------------------------------------
# One function
# ---------------------------------------------------------------------------------------------


def _first_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0] if msg else ''}"[:160]


def _rel_err(a, c) -> float:
    la, lc = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(c)
    worst = 0.0
    for x, y in zip(la, lc, strict=True):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape != y.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(y), initial=0.0)), 1e-30)
        worst = max(worst, float(np.max(np.abs(x - y), initial=0.0)) / scale)
    return worst


def bench_one(name, f, n, a, time_all) -> dict:
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # fixed per function
    xb = jnp.asarray(rng.standard_normal((a.batch, n)), dtype=jnp.float32)
    x0 = xb[0]
    row: dict = {
        "name": name,
        "n": n,
        "m": None,
        "errors": {},
        "times": {},
        "eqns": {},
        "glue": {},
        "costs": {},
        "compile_s": {},
        "rel_err": None,
    }
    out0 = jax.eval_shape(f, x0)
    row["m"] = sum(int(np.prod(o.shape)) for o in jax.tree_util.tree_leaves(out0))
    try:
        graph = ccg.make_graph(f, x0)
        for o in ("auto", "fwd", "rev"):
            ids = heuristic_order(graph, "auto") if o == "auto" else resolve_order(graph, o)
            row["costs"][o] = ccg.cost(graph, ids, "exact")
    except Exception as e:  # noqa: BLE001 - recorded in the table
        row["errors"]["graph"] = _first_line(e)
    jacs = {
        "auto": ccg.jacobian(f, order="auto"),
        "jacfwd": jax.jacfwd(f),
        "jacrev": jax.jacrev(f),
    }
    variants, outs = {}, {}
    for k, jac in jacs.items():
        try:
            closed = jax.make_jaxpr(jax.vmap(jac))(xb)
            fn = jax.jit(jax.vmap(jac))
            t0 = time.perf_counter()
            outs[k] = jax.block_until_ready(fn(xb))
            row["compile_s"][k] = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - recorded in the table
            row["errors"][k] = _first_line(e)
            continue
        variants[k] = fn
        counter = count_eqns(closed.jaxpr)
        row["eqns"][k] = sum(counter.values())
        row["glue"][k] = dict(counter)
    if "auto" in outs and "jacrev" in outs:
        row["rel_err"] = _rel_err(outs["auto"], outs["jacrev"])
    calls = a.rounds * 8
    res = time_all(variants, (xb,), a.warmup, calls, a.budget)
    for k, (ms, ncalls, _) in res.items():
        row["times"][k] = ms
        comp = row["compile_s"][k]
        print(
            f"  {name:26s} {k:7s} {ms * 1e3:9.1f} us  ({ncalls} calls, trace+compile {comp:.2f} s)",
            flush=True,
        )
    return row


def _ratio(r) -> float | None:
    t = r["times"]
    if "auto" not in t or not [k for k in ("jacfwd", "jacrev") if k in t]:
        return None
    return t["auto"] / min(t[k] for k in ("jacfwd", "jacrev") if k in t)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown(rows, meta) -> str:
    us = lambda r, k: f"{r['times'][k] * 1e3:.1f}" if k in r["times"] else "-"  # noqa: E731
    ratios = [(r["name"], _ratio(r)) for r in rows]
    ok = [x for _, x in ratios if x is not None]
    within = sum(x <= 1.1 for x in ok)
    worst = max(((x, nm) for nm, x in ratios if x is not None), default=(float("nan"), "-"))
    gmean = math.exp(sum(math.log(x) for x in ok) / len(ok)) if ok else float("nan")
    refused = [r["name"] for r in rows if "auto" in r["errors"]]
    bad = [r["name"] for r in rows if r["rel_err"] is not None and r["rel_err"] > TOL]
    lines = [
        '# Executor on everyday functions: `jacobian(f, order="auto")` vs jacfwd / jacrev',
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}  ",
        f"Machine: {meta['cpu']}, nproc {meta['nproc']} (affinity: {meta['affinity']} core(s)), "
        f"{meta['system']}; jax {meta['jax']}, equinox {meta['eqx']}, optax {meta['optax']}; "
        f"load average (1 min) start / end {meta['load_start']:.2f} / {meta['load_end']:.2f} "
        "(shared machine; figures are noisy).  ",
        f"Batch {meta['batch']}, float32, `jax.jit(jax.vmap(...))` of each variant; medians of "
        f"{meta['rounds']} interleaved rounds x 8 calls (`_time_all` of "
        "`benchmarks/executor/run.py`), synchronous dispatch. Wall time of the run: "
        f"{meta['wall_s']:.0f} s.",
        "",
        f"**Summary: {within} / {len(ok)} functions within 1.1x (ratio = t(auto) / "
        f"min(t(jacfwd), t(jacrev)) <= 1.1); geometric-mean ratio {gmean:.3f}; worst "
        f"{worst[0]:.2f}x ({worst[1]}).** "
        + (f"Refused by `jacobian`: {', '.join(refused)}. " if refused else "Refused: none. ")
        + (
            f"Mismatch vs jacrev above {TOL:g}: {', '.join(bad)}."
            if bad
            else f"All (a) match (c) to {TOL:g} relative."
        ),
        "",
        "Times in microseconds per call (whole batch). mults = exact-model multiplications per "
        "sample of the auto / forward / reverse order on `make_graph(f, x0)`. eqns = equations of "
        "`jax.make_jaxpr(jax.vmap(variant))(batch)` before XLA optimisation, counted through "
        "nested jaxprs. Glue of (a): reshape / broadcast_in_dim / transpose / gather / "
        "scatter-add / concatenate / mul / dot_general equations.",
        "",
        "| function | n -> m | (a) auto us | (b) jacfwd us | (c) jacrev us | ratio | "
        "mults auto / fwd / rev | eqns a / b / c | glue of (a): rsh / bcast / tr / gath / scat+ "
        "/ cat / mul / dot | rel err (a) vs (c) / note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        x = _ratio(r)
        c = r["costs"]
        mults = " / ".join(str(c.get(o, "-")) for o in ("auto", "fwd", "rev")) if c else "-"
        eq = " / ".join(str(r["eqns"].get(k, "-")) for k in VARIANTS)
        g = r["glue"].get("auto")
        glue = " / ".join(str(g.get(p, 0)) for p in GLUE) if g else "-"
        note = (
            []
            if r["rel_err"] is None
            else [f"{r['rel_err']:.1e}" + ("" if r["rel_err"] <= TOL else " MISMATCH")]
        )
        note += [f"{k}: {e}" for k, e in r["errors"].items()]
        lines.append(
            f"| {r['name']} | {r['n']} -> {r['m']} | {us(r, 'auto')} | {us(r, 'jacfwd')} | "
            f"{us(r, 'jacrev')} | {'-' if x is None else f'{x:.2f}'} | {mults} | {eq} | {glue} "
            f"| {'; '.join(note).replace('|', '/')} |"
        )
    # the worst five: full per-variant breakdown of the glue primitives (+ the largest others)
    worst5 = sorted([r for r in rows if _ratio(r) is not None], key=_ratio, reverse=True)[:5]
    lines += [
        "",
        "## Worst five ratios: equation breakdown of (a) / (b) / (c)",
        "",
        "Counts of `jax.make_jaxpr(jax.vmap(variant))(batch)` equations per primitive (the glue "
        "primitives, then every other primitive where (a) differs from the fewer of (b), (c) by "
        "at least 4).",
        "",
    ]
    for r in worst5:
        ga, gb, gc = (r["glue"].get(k, {}) for k in VARIANTS)
        cells = [f"{p} {ga.get(p, 0)} / {gb.get(p, 0)} / {gc.get(p, 0)}" for p in GLUE]
        others = sorted(set(ga) | set(gb) | set(gc))
        extra = [
            f"{p} {ga.get(p, 0)} / {gb.get(p, 0)} / {gc.get(p, 0)}"
            for p in others
            if p not in GLUE and abs(ga.get(p, 0) - min(gb.get(p, 0), gc.get(p, 0))) >= 4
        ]
        lines.append(
            f"* **{r['name']}** ({_ratio(r):.2f}x; eqns "
            + " / ".join(str(r["eqns"].get(k, "-")) for k in VARIANTS)
            + "): "
            + ", ".join(cells)
            + ("; other: " + ", ".join(extra) if extra else "")
        )
    return "\n".join(lines) + "\n"


def _command(argv) -> str:
    cmd = "python benchmarks/executor/everyday.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) == 1:
        nice = " nice" if os.nice(0) > 0 else ""
        cmd = f"taskset -c {min(os.sched_getaffinity(0))}{nice} {cmd}"
    return cmd.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=25, help="interleaved rounds of 8 calls")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument(
        "--budget",
        type=float,
        default=4.0,
        help="max seconds of timed calls per variant (then >= 3 calls)",
    )
    ap.add_argument("--only", default="", help="comma list of function names")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/executor_everyday.md"))
    a = ap.parse_args(argv)
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    suite = _suite()
    names = a.only.split(",") if a.only else list(suite)
    unknown = [nm for nm in names if nm not in suite]
    if unknown:
        print(f"unknown function(s) {unknown}; choose from {list(suite)}", file=sys.stderr)
        return 2
    time_all = _load_time_all()
    t0, load_start = time.perf_counter(), os.getloadavg()[0]
    rows = []
    for nm in names:
        f, n = suite[nm]
        rows.append(bench_one(nm, f, n, a, time_all))
    aff = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    meta = {
        "command": _command(argv),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "affinity": aff,
        "system": platform.system(),
        "jax": jax.__version__,
        "eqx": eqx.__version__,
        "optax": optax.__version__,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "batch": a.batch,
        "rounds": a.rounds,
        "wall_s": time.perf_counter() - t0,
    }
    text = markdown(rows, meta)
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
