"""Small random DAGs for the search tests (pure Python, seeded; independent of the env package).

* :func:`scalar_dag`: every edge dense scalar (type 1, shape (1, 1)), optionally some copy edges
  (type -1): the set-exact model of ``docs/cost_model.md`` section 10.1, where subset DP is ground truth.
* :func:`typed_dag`: tensor shapes and random sparsity codes (consistent records: out dims of an
  edge = its target's shape, in dims = its source's shape). The paper's tables are not an
  algebra here, so ground truth is brute force over all orders (:func:`brute_force`).
"""

from __future__ import annotations

import itertools
import random

from crosscountry_gym.engine import cost
from crosscountry_gym.graph import Graph

TYPED_CODES = (1, 1, 1, 2, 3, 6, 6, 8, -8, -2, -3, -4, -5, -6, -7, 4, 5, 7, 9, -9, 10, -10, -1, 11)
SHAPES = ((1, 1), (2, 1), (1, 2), (2, 3), (3, 2), (2, 2))


def _structure(rng: random.Random, ni: int, nv: int, max_in: int):
    """(source_row, target_vertex) pairs of a random DAG in which vertex k reads 1..max_in rows
    among the inputs and the vertices before it (recent ones more likely)."""
    pairs = []
    for k in range(1, nv + 1):
        rows = list(range(1, ni + k))  # inputs 1..ni, vertices 1..k-1 as rows ni+1..ni+k-1
        weights = [1.0 if r <= ni else 1.0 + 3.0 * (r - ni > k - 4) for r in rows]
        deg = rng.randint(1, min(max_in, len(rows)))
        chosen: set[int] = set()
        while len(chosen) < deg:
            chosen.add(rng.choices(rows, weights)[0])
        pairs += [(r, k) for r in sorted(chosen)]
    return pairs


def _outputs(rng: random.Random, nv: int, no: int) -> list[int]:
    outs = {nv}
    while len(outs) < no:
        outs.add(rng.randint(max(1, nv // 2), nv))
    return sorted(outs)


def scalar_dag(seed: int, ni: int = 3, nv: int = 10, no: int = 2, max_in: int = 3,
               copy_prob: float = 0.0) -> Graph:
    rng = random.Random(seed)
    recs = [
        [r, t, -1 if rng.random() < copy_prob else 1, 1, 1, 1, 1]
        for r, t in _structure(rng, ni, nv, max_in)
    ]
    return Graph.from_records(ni, nv, recs, _outputs(rng, nv, no), name=f"scalar{seed}")


def typed_dag(seed: int, ni: int = 2, nv: int = 7, no: int = 1, max_in: int = 2) -> Graph:
    rng = random.Random(seed)
    shape = {r: rng.choice(SHAPES) for r in range(1, ni + nv + 1)}
    recs = []
    for r, t in _structure(rng, ni, nv, max_in):
        o, p = shape[ni + t], shape[r]
        recs.append([r, t, rng.choice(TYPED_CODES), *o, *p])
    return Graph.from_records(ni, nv, recs, _outputs(rng, nv, no), name=f"typed{seed}")


def brute_force(graph: Graph, model: str) -> int:
    """Optimal cost by enumerating every order (tiny graphs only)."""
    return min(cost(graph, p, model) for p in itertools.permutations(graph.eliminable))
