"""Self-play and the training loop: search, one compiled iteration, the learner, checkpoints.

Reads top to bottom:

1. **Search** (:func:`make_search`): ``mctx.gumbel_muzero_policy`` with the functional
   environment (:func:`crosscountry_gym.envs.jax_env.step_env`) as the recurrent function, i.e.
   a perfect model: reward = -(multiplications of the step), discount 1 (0 once the game is
   over), ``invalid_actions`` = the env's action mask at the root and illegal logits at
   :data:`.network.NEG_LOGIT` inside the tree (mctx's interior selection then never picks them:
   the scores of the legal children sum to a positive number, an illegal child scores ~0).
   Q-values use ``qtransform_completed_by_mix_value(value_scale, maxvisit_init,
   rescale_values=True)``. Executed action: ``policy_output.action``; policy target:
   ``policy_output.action_weights`` (``docs/rl.md`` §P2.1).
2. **Self-play** (:func:`make_self_play`): ``num_envs`` complete episodes, the search at every
   move, under one ``lax.scan``; returns the transitions and the Monte-Carlo return-to-go.
3. **One iteration** (:func:`make_iteration`): self-play, replay write, ``updates_per_iteration``
   gradient steps (:func:`.learner.learn`), all one compiled call. Data parallel with
   ``jax.sharding``: a 1-D ``Mesh`` over the devices (axis ``"data"``), the iteration wrapped in
   ``jax.shard_map``. Environments and the replay buffer are split across devices; parameters
   and optimiser state are replicated; gradients are averaged with ``lax.pmean``. Every
   environment's randomness is derived from its *global* index, so self-play gives the same
   episodes on 1 or N devices (tested with ``XLA_FLAGS=--xla_force_host_platform_device_count=2``).
   Multi-host: call ``jax.distributed.initialize(...)`` first (``docs/rl.md``, *Data
   parallelism and multi-host training*); the mesh then spans ``jax.devices()`` of all processes.
4. **The learner object** (:class:`AlphaZero`): builds the state, runs iterations
   (``iterate()``) and checkpoints the full training state (``save`` / ``load``).
5. **The training loop** (:func:`train`): iterations until the wall-time budget is spent, with
   the best order kept by :class:`..training.RunRecorder`, which re-costs every new best with the
   NumPy reference (bugs 2 and 3 of ``docs/rl.md`` §P8); :func:`moves_per_second` measures
   self-play throughput. A compiled iteration cannot be cut, so the loop starts an iteration
   only if the last one's duration (compile time excluded) and the final checkpoint still fit
   in the budget; SIGINT / SIGTERM end the run after the running iteration, with a checkpoint.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import mctx
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from crosscountry_gym import core
from crosscountry_gym.envs import jax_env as E
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, check_model
from crosscountry_gym.tasks import Task

from ..training import RunRecorder, TrainResult
from .config import AZConfig
from .learner import (
    Buffer,
    empty_buffer,
    inverse_value_transform,
    learn,
    make_optimizer,
    replay_add,
    transitions,
)
from .network import AZNet, init_params

__all__ = ["AlphaZero", "TrainState", "make_search", "make_self_play", "make_iteration",
           "train", "moves_per_second"]

AXIS = "data"
"""Name of the device axis of the data-parallel mesh."""
_COMPILED: dict[tuple, Callable] = {}  # jitted iteration per (graph, config, model, devices)
_EXECUTABLES: dict[tuple, Any] = {}  # its compiled executable (same keys), built on first use


class TrainState(NamedTuple):
    """Everything an iteration reads and writes (checkpointed leaf by leaf)."""

    params: Any  # equinox array leaves of AZNet (replicated)
    opt_state: Any  # replicated
    buffer: Buffer  # sharded over devices along the capacity axis
    pos: jax.Array  # int32 [] next write position in each device's buffer (replicated)
    filled: jax.Array  # int32 [] transitions held in each device's buffer (replicated)
    key: jax.Array  # uint32 [2] replicated
    step: jax.Array  # int32 [] iterations done


# -- 1. search ----------------------------------------------------------------------------------


def make_search(env_params: E.EnvParams, static: Any, config: AZConfig):
    """``search(params, keys, state) -> (action int32 [B], action_weights f32 [B, V])``: Gumbel
    MuZero from a batch of env states, one key per state.

    Each state is searched as its own batch of one (vmapped), so its result depends only on its
    own key: self-play is identical however the batch is split over devices.
    """

    def evaluate(params, obs):
        """Batched network: logits [B, V], value [B] in return units (h^-1 applied)."""
        logits, v = jax.vmap(eqx.combine(params, static))(obs)
        return logits, inverse_value_transform(v, config.value_transform)

    def recurrent_fn(params, rng, action, state: E.EnvState):
        del rng
        was_over = jax.vmap(core.is_terminal)(state.core)
        new, reward, term, _, _ = jax.vmap(E.step_env, (0, 0, None))(state, action, env_params)
        logits, value = evaluate(params, jax.vmap(E.observation)(new))
        over = term | was_over
        out = mctx.RecurrentFnOutput(
            reward=jnp.where(was_over, 0.0, reward),
            discount=jnp.where(over, 0.0, 1.0),
            prior_logits=logits,
            value=jnp.where(over, 0.0, value),
        )
        return out, new

    qtransform = functools.partial(
        mctx.qtransform_completed_by_mix_value, value_scale=config.value_scale,
        maxvisit_init=config.maxvisit_init, rescale_values=True,
    )

    def search_one(params, key, st):
        st1 = jax.tree.map(lambda x: x[None], st)
        logits, value = evaluate(params, jax.vmap(E.observation)(st1))
        root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=st1)
        out = mctx.gumbel_muzero_policy(
            params, key, root, recurrent_fn, config.num_simulations,
            invalid_actions=~jax.vmap(E.action_mask)(st1),
            qtransform=qtransform,
            max_num_considered_actions=config.max_num_considered_actions,
            gumbel_scale=config.gumbel_scale,
        )
        return out.action[0], out.action_weights[0]

    def search(params, keys: jax.Array, state: E.EnvState):
        return jax.vmap(functools.partial(search_one, params))(keys, state)

    return search


# -- 2. self-play -------------------------------------------------------------------------------


def make_self_play(env_params: E.EnvParams, search, num_envs: int, horizon: int):
    """``self_play(params, key, first_env) -> (final state, obs, weights, return_to_go,
    active)``: ``num_envs`` episodes of ``horizon`` searched moves (time-major ``[T, n, ...]``).

    Environment ``i`` of the batch is global environment ``first_env + i``; its reset and move
    keys are ``fold_in(key, first_env + i)`` and splits of it.
    """

    def self_play(params, key: jax.Array, first_env: jax.Array):
        env_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(first_env + jnp.arange(num_envs))
        move_keys = jax.vmap(lambda k: jax.random.split(k, horizon))(env_keys)
        _, st0 = jax.vmap(E.reset, (0, None))(env_keys, env_params)

        def move(st, keys):
            obs = jax.vmap(E.observation)(st)
            active = ~jax.vmap(core.is_terminal)(st.core)
            action, weights = search(params, keys, st)
            new, reward, _, _, _ = jax.vmap(E.step_env, (0, 0, None))(st, action, env_params)
            return new, (obs, weights, jnp.where(active, reward, 0.0), active)

        final, (obs, weights, rewards, active) = jax.lax.scan(
            move, st0, jnp.swapaxes(move_keys, 0, 1)
        )
        rtg = jnp.cumsum(rewards[::-1], axis=0)[::-1]  # return-to-go from each state [T, n]
        return final, obs, weights, rtg, active

    return self_play


# -- 3. one iteration ---------------------------------------------------------------------------

_OUT_SPEC = {"cost": P(AXIS), "order": P(AXIS), "length": P(AXIS), "invalid": P(AXIS),
             "policy_loss": P(), "policy_kl": P(), "value_loss": P()}


def make_iteration(self_play, *, static: Any, config: AZConfig, optimizer, mesh: Mesh,
                   state_sharding: TrainState, local_envs: int):
    """The jitted, sharded iteration ``TrainState -> (TrainState, results)``: self-play on every
    device, replay write, gradient steps with gradients averaged over the devices.

    Results (global arrays): ``cost``, ``order``, ``length``, ``invalid`` per environment and the
    mean ``policy_loss``, ``policy_kl``, ``value_loss``.
    """
    local_batch = config.batch_size // mesh.size

    def device_iteration(ts: TrainState):
        dev = jax.lax.axis_index(AXIS)
        key, k_play, k_upd = jax.random.split(ts.key, 3)
        final, obs, weights, rtg, active = self_play(ts.params, k_play, dev * local_envs)
        block = transitions(obs, weights, rtg, active, config.value_transform)
        buf, pos, filled = replay_add(ts.buffer, ts.pos, ts.filled, block)
        params, opt_state, metrics = learn(
            ts.params, ts.opt_state, buf, filled, k_upd, static=static, config=config,
            optimizer=optimizer, batch_size=local_batch, shard=dev, axis_name=AXIS,
        )
        out = {"cost": final.cost, "order": final.order, "length": final.length,
               "invalid": final.invalid, **metrics}
        return TrainState(params, opt_state, buf, pos, filled, key, ts.step + 1), out

    spec = jax.tree.map(lambda s: s.spec, state_sharding)
    fn = jax.shard_map(device_iteration, mesh=mesh, in_specs=(spec,),
                       out_specs=(spec, _OUT_SPEC), check_vma=False)
    return jax.jit(fn, donate_argnums=0)


# -- 4. the learner object ----------------------------------------------------------------------


class AlphaZero:
    """An AlphaZero learner for one graph, data-parallel over ``devices``.

    Args:
        graph: the graph to optimise (a task's ``.graph`` or any :class:`Graph`).
        config: :class:`AZConfig` (default ``AZConfig()``).
        seed: the run's seed (initialisation, search noise, sampling).
        cost_model: a cost model of :data:`crosscountry_gym.sparsity.MODELS` (default "exact").
        devices: devices for the data-parallel mesh (default: ``jax.devices()``, all devices of
            all processes). ``config.num_envs`` and ``config.batch_size`` must be multiples of
            their number.

    ``iterate()`` runs one compiled iteration and returns host-side results;
    ``save(dir)`` / ``load(dir)`` checkpoint the full training state (parameters, optimiser,
    replay buffer, random key), so a resumed run continues exactly.
    """

    def __init__(self, graph: Graph, config: AZConfig | None = None, *, seed: int = 0,
                 cost_model: str = DEFAULT_MODEL,
                 devices: list[jax.Device] | None = None) -> None:
        config = config or AZConfig()
        if not isinstance(graph, Graph):
            raise ValueError(f"graph must be a Graph, got {type(graph).__name__}")
        if graph.num_intermediates < 1:
            raise ValueError("the graph has no eliminable vertex: nothing to learn")
        self.graph, self.config, self.seed = graph, config, int(seed)
        self.cost_model = check_model(cost_model)
        devices = list(jax.devices() if devices is None else devices)
        nd = len(devices)
        if config.num_envs % nd or config.batch_size % nd:
            raise ValueError(
                f"num_envs ({config.num_envs}) and batch_size ({config.batch_size}) must be "
                f"multiples of the number of devices ({nd})"
            )
        self.mesh = Mesh(np.asarray(devices), (AXIS,))
        self.num_devices = nd
        self.env_params = E.make_params(graph, cost_model=self.cost_model)
        self.horizon = graph.num_intermediates  # every episode has exactly this many moves
        self.local_envs = config.num_envs // nd
        self.local_capacity = config.buffer_iterations * self.local_envs * self.horizon
        params, self.static = init_params(config, self.seed)
        self.optimizer = make_optimizer(config)
        self.search = make_search(self.env_params, self.static, config)

        repl, shard = NamedSharding(self.mesh, P()), NamedSharding(self.mesh, P(AXIS))
        new_buffer = functools.partial(empty_buffer, E.observation_shapes(self.env_params),
                                       self.env_params.max_vertices)
        self.state_sharding = TrainState(
            params=jax.tree.map(lambda _: repl, params),
            opt_state=jax.tree.map(lambda _: repl, jax.eval_shape(self.optimizer.init, params)),
            buffer=jax.tree.map(lambda _: shard, jax.eval_shape(lambda: new_buffer(1))),
            pos=repl, filled=repl, key=repl, step=repl,
        )

        def init_state(params) -> TrainState:
            return TrainState(
                params=params, opt_state=self.optimizer.init(params),
                buffer=new_buffer(self.local_capacity * nd),
                pos=jnp.int32(0), filled=jnp.int32(0),
                key=jax.random.PRNGKey(self.seed + 1), step=jnp.int32(0),
            )

        self.state = jax.jit(init_state, out_shardings=self.state_sharding)(params)
        cache_key = (graph.fingerprint, config, self.cost_model, tuple(d.id for d in devices))
        if cache_key not in _COMPILED:  # a resumed run in the same process reuses the compile
            self_play = make_self_play(self.env_params, self.search, self.local_envs,
                                       self.horizon)
            _COMPILED[cache_key] = make_iteration(
                self_play, static=self.static, config=config, optimizer=self.optimizer,
                mesh=self.mesh, state_sharding=self.state_sharding, local_envs=self.local_envs,
            )
        self._iterate = _COMPILED[cache_key]
        self._cache_key = cache_key
        self.compile_s = 0.0  # seconds the first iterate() spent compiling (0 if cached)
        self.iteration_s = 0.0  # seconds the last iterate() took, compile time excluded

    def model(self, params=None) -> AZNet:
        """The current network (host copy of replicated parameters)."""
        return eqx.combine(self.state.params if params is None else params, self.static)

    def iterate(self) -> dict[str, Any]:
        """Run one iteration; returns host NumPy ``cost`` [num_envs], ``order`` [num_envs, V]
        (complete orders, 0-padded), ``length``, ``invalid`` and the mean losses.

        The first call in a process compiles the iteration (timed apart, as ``compile_s``);
        ``iteration_s`` is the duration of the last call without it."""
        exe = _EXECUTABLES.get(self._cache_key)
        if exe is None:
            t = time.perf_counter()
            exe = _EXECUTABLES[self._cache_key] = self._iterate.lower(self.state).compile()
            self.compile_s = time.perf_counter() - t
        t = time.perf_counter()
        self.state, out = exe(self.state)
        out = _to_host(out)
        self.iteration_s = time.perf_counter() - t
        if np.any(out["invalid"]) or np.any(out["length"] != self.horizon):
            raise RuntimeError("self-play took an illegal action or stopped early; this is a bug")
        return out

    def _meta(self) -> dict[str, Any]:
        """What a checkpoint must agree on to be resumed by this learner."""
        return {"config": self.config.as_dict(), "num_devices": self.num_devices,
                "cost_model": self.cost_model, "fingerprint": self.graph.fingerprint}

    def save(self, directory: str | Path) -> None:
        """Write ``alphazero.npz`` (all state leaves) and ``alphazero.json`` (config) to
        ``directory``."""
        directory = Path(directory)
        leaves = _to_host(jax.tree.leaves(self.state))
        if jax.process_index() == 0:
            np.savez(directory / "alphazero.npz", *leaves)
            meta = {**self._meta(), "seed": self.seed}
            (directory / "alphazero.json").write_text(json.dumps(meta, indent=1))

    def load(self, directory: str | Path) -> None:
        """Restore a state written by :meth:`save` (same graph, config and device count)."""
        directory = Path(directory)
        meta = json.loads((directory / "alphazero.json").read_text())
        for k, v in self._meta().items():
            if meta.get(k) != v:
                raise ValueError(f"checkpoint {directory} has {k}={meta.get(k)!r}, this run "
                                 f"has {k}={v!r}; resume with the same settings")
        with np.load(directory / "alphazero.npz") as z:
            leaves = [z[f"arr_{i}"] for i in range(len(z.files))]
        treedef = jax.tree.structure(self.state)
        cur = jax.tree.leaves(self.state)
        if len(leaves) != len(cur) or any(
            a.shape != b.shape or a.dtype != b.dtype for a, b in zip(leaves, cur, strict=True)
        ):
            raise ValueError(f"checkpoint {directory} does not match this model's state layout")
        shardings = jax.tree.leaves(self.state_sharding,
                                    is_leaf=lambda x: isinstance(x, NamedSharding))
        self.state = jax.tree.unflatten(
            treedef, [jax.device_put(x, s) for x, s in zip(leaves, shardings, strict=True)]
        )


def _to_host(tree):
    """Global arrays -> NumPy on every process (an all-gather when there are several)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


# -- 5. the training loop -----------------------------------------------------------------------


def train(
    task: str | Task | Graph,
    *,
    seed: int = 0,
    budget_s: float,
    out_dir: str | Path,
    resume: bool = False,
    config: AZConfig | None = None,
    cost_model: str = DEFAULT_MODEL,
    max_iterations: int | None = None,
    checkpoint_every_s: float = 120.0,
    on_log: Callable[[RunRecorder, dict[str, Any]], None] | None = None,
    clock_start: float | None = None,
) -> TrainResult:
    """Train AlphaZero on ``task`` (a task name, a :class:`Task` or a :class:`Graph`) until
    ``budget_s`` seconds of run time (or ``max_iterations``) are used; writes the run directory
    (see :class:`RunRecorder`).

    ``on_log(recorder, row)`` is called after every iteration (the CLI's progress bar).
    Checkpoints after the first iteration and every ``checkpoint_every_s``; an iteration is
    started only if it is expected to end within the budget (module docstring). SIGINT /
    SIGTERM stop the run after the running iteration with a final checkpoint and raise
    :class:`RunInterrupted` (``docs/rl.md``). ``clock_start``: see :class:`RunRecorder`.
    """
    config = config or AZConfig()
    rec = RunRecorder(
        out_dir, task, method="alphazero", seed=seed, cost_model=cost_model, budget_s=budget_s,
        extra_fields=("policy_loss", "policy_kl", "value_loss"),
        config=config.as_dict(), resume=resume, clock_start=clock_start,
    )
    with rec.catch_signals():
        agent = AlphaZero(rec.graph, config, seed=seed, cost_model=cost_model)
        if resume:
            agent.load(rec.checkpoint_dir)
        done = 0
        while not rec.should_stop(agent.iteration_s) and (
            max_iterations is None or done < max_iterations
        ):
            out = agent.iterate()
            done += 1
            orders = [o[: agent.horizon] for o in out["order"]]
            rec.add_env_steps(len(orders) * agent.horizon)
            rec.record_episodes(orders, out["cost"])
            row = rec.log(out["cost"], policy_loss=out["policy_loss"],
                          policy_kl=out["policy_kl"], value_loss=out["value_loss"])
            if on_log is not None:
                on_log(rec, row)
            if max_iterations is None or done < max_iterations:
                rec.maybe_checkpoint(agent.save, checkpoint_every_s,
                                     upcoming_s=agent.iteration_s)
        return rec.finish(agent.save)


def moves_per_second(graph: Graph, config: AZConfig, *, seed: int = 0, repeats: int = 2) -> float:
    """Self-play throughput: moves (searched env steps) per second of one jitted iteration,
    compile time excluded (measures ``repeats`` iterations after a warm-up one)."""
    agent = AlphaZero(graph, config, seed=seed)
    agent.iterate()
    t = time.perf_counter()
    for _ in range(repeats):
        agent.iterate()
    dt = time.perf_counter() - t
    return repeats * config.num_envs * agent.horizon / dt
