"""Run by tests/rl/test_alphazero_loop.py in a subprocess (XLA_FLAGS must be set before JAX starts).

Trains AlphaZero on the tiny test graph on every local device, checkpoints, resumes, and prints
one JSON line of results for the test to check.
"""

import csv
import json
import sys
from pathlib import Path

import jax
import numpy as np

from crosscountry_gym.baselines.rl import alphazero as az
from crosscountry_gym.envs.random_graphs import RandomGraphSpec, random_graph

out = Path(sys.argv[1])
SPEC = RandomGraphSpec(num_inputs=4, num_vertices=16, num_outputs=3, degree_probs=(0.3, 0.7))
g = random_graph(0, SPEC)
cfg = az.AZConfig(num_envs=8, num_simulations=8, d_model=16, num_layers=1, num_heads=2,
                  ff_dim=32, batch_size=64, updates_per_iteration=2, buffer_iterations=2)
# interrupted run: 2 iterations, then resumed for 1 more
az.train(g, seed=0, budget_s=900, out_dir=out / "a", config=cfg, max_iterations=2)
ra = az.train(g, seed=0, budget_s=900, out_dir=out / "a", config=cfg, max_iterations=1,
              resume=True)
# the same run without interruption
rb = az.train(g, seed=0, budget_s=900, out_dir=out / "b", config=cfg, max_iterations=3)


def rows(d):
    with open(d / "metrics.csv") as fh:
        return [{k: v for k, v in r.items() if k not in ("wall_s", "episodes_per_s")}
                for r in csv.DictReader(fh)]


agent = az.AlphaZero(g, cfg, seed=5)
first = agent.iterate()
replicated = all(
    all(np.array_equal(np.asarray(s.data), np.asarray(leaf.addressable_shards[0].data))
        for s in leaf.addressable_shards)
    for leaf in jax.tree.leaves(agent.state.params)
)
print(json.dumps({
    "devices": len(jax.devices()),
    "a": ra.as_dict(), "b": rb.as_dict(),
    "rows_equal": rows(out / "a") == rows(out / "b"),
    "n_rows": len(rows(out / "a")),
    "replicated": replicated,
    "buffer_sharding": str(agent.state.buffer.valid.sharding.spec),
    "first_costs": first["cost"].tolist(),
    "first_orders": first["order"].tolist(),
}))
