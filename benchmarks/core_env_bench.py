"""Elimination core and environments on RoeFlux_1d, measured side by side in one run.

    .venv/bin/python benchmarks/core_env_bench.py [--task RoeFlux_1d] [--envs 1024] [--quick]

Prints one table:

1. NumPy reference: ``cost(graph, order)`` of one full random order (ms per order).
2. JAX core: a jitted ``vmap(eliminate_order)`` over 1,024 random full orders (steps/s), for the
   bitset ("dense") kernel and the general ("typed") kernel.
3. Single Gymnasium env from ``gym.make`` (wrappers included), fixed random orders (steps/s).
4. Native vector env (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) at 1,024
   envs, actions from precomputed random orders, NumPy in/out (env-steps/s), once with the
   dense observation (default) and once with ``observation_mode="graph"`` (edge list).
5. Fully jitted ``lax.scan`` rollout of the functional env (``jax_env.step`` with auto-reset)
   at 1,024 envs with a uniformly random masked policy (one uniform per env and step):
   once with the policy reading only the action mask (XLA then drops the unused
   observation), once with a policy that reads every byte of the observation.

Timings exclude compilation (one warm-up call each) and take the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from functools import partial

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

import crosscountry_gym  # noqa: F401  (registers the ids)
from crosscountry_gym import core, cost, tasks
from crosscountry_gym.envs import jax_env as E


def best_of(fn, repeats: int) -> float:
    """Best wall time of ``fn()`` over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="RoeFlux_1d")
    ap.add_argument("--envs", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    args = ap.parse_args()
    reps = 2 if args.quick else args.repeats
    n = args.envs
    g = tasks.load(args.task).graph
    steps = g.num_intermediates
    rng = np.random.default_rng(0)
    orders = np.stack([rng.permutation(g.eliminable) for _ in range(n)]).astype(np.int32)
    rows: list[tuple[str, str, str]] = []

    # 1. NumPy reference
    order0 = [int(v) for v in orders[0]]
    k = 200
    t = best_of(lambda: [cost(g, order0) for _ in range(k)], reps) / k
    rows.append(("NumPy reference cost, one full order", f"{t * 1e3:.3f} ms/order",
                 f"{steps / t:,.0f} steps/s"))

    # 2. JAX core, batch of random full orders
    run = jax.jit(jax.vmap(core.eliminate_order))
    jorders = jnp.asarray(orders)
    for kind in ("dense", "typed"):
        if kind == "dense" and core.kind_of(g) != "dense":
            continue
        batch = core.stack_states([core.init_state(g, kind=kind)] * n)
        t = best_of(lambda b=batch: jax.block_until_ready(run(b, jorders)), reps)
        rows.append((f"JAX core ({kind} kernel), {n} orders", f"{t * 1e3:.1f} ms/batch",
                     f"{n * steps / t:,.0f} steps/s"))
        if kind == "dense":
            ref = cost(g, order0)
            got = int(run(batch, jorders)[1][0].sum())
            assert got == ref, (got, ref)

    # 3. single Gymnasium env (gym.make, default wrappers)
    env = gym.make(f"CrossCountry/{args.task}-v0")
    acts = [[int(v) - 1 for v in o] for o in orders[:20]]

    def single():
        for o in acts:
            env.reset()
            for a in o:
                env.step(a)

    t = best_of(single, reps)
    rows.append(("Gymnasium env (gym.make), 1 env", f"{t / (20 * steps) * 1e6:.1f} us/step",
                 f"{20 * steps / t:,.0f} steps/s"))

    # 4. native vector env, dense and graph observations
    vacts = orders.T - 1  # [steps, n]: column i is env i's order; all envs reset together
    for mode in ("dense", "graph"):
        venv = gym.make_vec(f"CrossCountry/{args.task}-v0", num_envs=n,
                            vectorization_mode="vector_entry_point", observation_mode=mode)

        def vector(venv=venv):
            venv.reset(seed=0)
            for a in vacts:
                venv.step(a)

        t = best_of(vector, reps)
        width = venv.single_observation_space["edge_types"].shape
        rows.append((f"native vector env, {n} envs, {mode} obs {width} (incl. reset)",
                     f"{t / steps * 1e3:.2f} ms/step", f"{n * steps / t:,.0f} env-steps/s"))

    # 5. fully jitted lax.scan rollout of the functional env
    params = E.make_params(g)

    @partial(jax.jit, static_argnums=(1, 2))
    def rollout(key, consume_obs: bool, n_steps: int):
        def step(carry, k):
            states, acc = carry
            k_act, k_env = jax.random.split(k)
            mask = jax.vmap(E.action_mask)(states)  # [n, V]
            # uniform random legal action from one uniform per env: the k-th legal column
            u = jax.random.uniform(k_act, (n,))
            if consume_obs:  # make the observation live: a policy that reads it
                obs = jax.vmap(E.observation, in_axes=(0, None))(states, params)
                obs = jax.lax.optimization_barrier(obs)  # materialise it, as a network would
                # a consumer that reads every byte; int8 max, because XLA:CPU widening
                # conversions of large int8 arrays are slow (see results/core_env.md)
                feat = jnp.max(obs["edge_types"], axis=(1, 2))  # [n]
                u = jnp.where(feat > 11, 0.0, u)  # never true; keeps the dependence
            k = jnp.floor(u * mask.sum(axis=1)).astype(jnp.int32)
            a = jnp.argmax(jnp.cumsum(mask, axis=1) > k[:, None], axis=1)
            _, states, r, *_ = jax.vmap(E.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_env, n), states, a, params
            )
            return (states, acc + r.sum()), None

        k0, k1 = jax.random.split(key)
        _, states = jax.vmap(E.reset, in_axes=(0, None))(jax.random.split(k0, n), params)
        (_, acc), _ = jax.lax.scan(step, (states, 0.0), jax.random.split(k1, n_steps))
        return acc

    n_steps = 2 * steps
    key = jax.random.key(0)
    for consume in (False, True):
        t = best_of(lambda c=consume: jax.block_until_ready(rollout(key, c, n_steps)), reps)
        label = "policy reads full obs" if consume else "policy reads action mask"
        rows.append((f"jitted lax.scan rollout, {n} envs ({label})",
                     f"{t / n_steps * 1e3:.2f} ms/step", f"{n * n_steps / t:,.0f} env-steps/s"))

    base = float(rows[0][2].split()[0].replace(",", ""))
    w = max(len(r[0]) for r in rows)
    print(f"task {args.task}: {g.num_inputs} inputs, {steps} eliminable vertices; "
          f"jax {jax.__version__} on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.1f}")
    print(f"{'':<{w}}  {'time':>16}  {'throughput':>22}  {'vs NumPy ref':>12}")
    for name, a, b in rows:
        ratio = float(b.split()[0].replace(",", "")) / base
        print(f"{name:<{w}}  {a:>16}  {b:>22}  {ratio:>11.1f}x")


if __name__ == "__main__":
    main()
