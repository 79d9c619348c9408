"""A trained AlphaZero network on any graph: load the parameters, search, play one order.

:class:`~.loop.AlphaZero` checkpoints are tied to their graph (``load`` refuses another
fingerprint, because a *resumed run* must continue the same training). The network itself is
size-agnostic (vertex tokens, ``docs/rl.md``, *The networks*), so for evaluation
:func:`load_network` reads only its parameters, and :func:`search_order` runs the same Gumbel
MuZero search (:func:`.loop.make_search`) over the JAX env of any other graph, with any number
of simulations and ``gumbel_scale = 0`` (no sampling noise: the order is deterministic given the
seed), playing the search's chosen move at every step (``docs/rl.md``, *Portable policies*).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from crosscountry_gym.engine import cost, validate_order
from crosscountry_gym.envs import jax_env as E
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL
from crosscountry_gym.tasks import Task, resolve_graph

from .config import AZConfig
from .loop import make_search
from .network import init_params

__all__ = ["TrainedNetwork", "load_network", "search_order"]


@dataclasses.dataclass(frozen=True)
class TrainedNetwork:
    """The parameters of a trained network with its configuration and checkpoint metadata."""

    config: AZConfig
    params: Any
    static: Any
    meta: dict[str, Any]


def load_network(directory: str | Path) -> TrainedNetwork:
    """The network of an AlphaZero checkpoint directory (``alphazero.npz`` +
    ``alphazero.json``; a run directory's ``checkpoint/`` also works), without its optimiser,
    replay buffer or graph."""
    d = Path(directory)
    if not (d / "alphazero.npz").is_file() and (d / "checkpoint" / "alphazero.npz").is_file():
        d = d / "checkpoint"
    meta = json.loads((d / "alphazero.json").read_text())
    config = AZConfig(**meta["config"])
    params, static = init_params(config, 0)
    ref = jax.tree.leaves(params)
    with np.load(d / "alphazero.npz") as z:
        if len(z.files) < len(ref):
            raise ValueError(f"{d}: the checkpoint holds fewer arrays than the network")
        leaves = [z[f"arr_{i}"] for i in range(len(ref))]  # TrainState.params come first
    if any(a.shape != b.shape or a.dtype != b.dtype for a, b in zip(leaves, ref, strict=True)):
        raise ValueError(f"{d}: the parameters do not match the network of its configuration")
    params = jax.tree.unflatten(jax.tree.structure(params), [jax.numpy.asarray(x) for x in leaves])
    return TrainedNetwork(config, params, static, meta)


def search_order(net: TrainedNetwork, graph: str | Task | Graph, *, simulations: int | None = None,
                 cost_model: str = DEFAULT_MODEL, seed: int = 0) -> tuple[list[int], int]:
    """``(order, cost)``: the order the network's search plays on ``graph`` with
    ``simulations`` per move (default: its training setting) and ``gumbel_scale = 0``; the
    cost re-computed with :func:`crosscountry_gym.cost`."""
    _, g = resolve_graph(graph)
    sims = net.config.num_simulations if simulations is None else int(simulations)
    if sims < 1:
        raise ValueError(f"simulations must be >= 1, got {sims}")
    config = dataclasses.replace(net.config, num_simulations=sims, gumbel_scale=0.0)
    env_params = E.make_params(g, cost_model=cost_model)
    search = make_search(env_params, net.static, config)

    @jax.jit
    def move(params, key, state):
        batch = jax.tree.map(lambda x: x[None], state)
        action, _ = search(params, key[None], batch)
        new, _, term, _, _ = E.step_env(state, action[0], env_params)
        return new, term

    _, state = E.reset(jax.random.PRNGKey(seed), env_params)
    key = jax.random.PRNGKey(seed)
    for i in range(g.num_intermediates):
        state, term = move(net.params, jax.random.fold_in(key, i), state)
        if bool(term):
            break
    order = [int(v) for v in np.asarray(state.order) if v]
    validate_order(g, order)
    return order, int(cost(g, order, cost_model))
