"""``CrossCountryVectorEnv``: a native ``gymnasium.vector.VectorEnv`` backed by the JAX env.

All ``num_envs`` games advance in one jitted, vmapped call of :func:`.jax_env.step_env`; actions
come in and observations, rewards and infos go out as NumPy arrays (read-only views of the JAX
buffers: copy them before writing).

Autoreset: ``AutoresetMode.SAME_STEP`` (``metadata["autoreset_mode"]``), unlike Gymnasium's
``SyncVectorEnv`` and ``AsyncVectorEnv`` (``gym.make_vec(id, n, vectorization_mode="sync")``),
which use ``AutoresetMode.NEXT_STEP``. ``gym.make_vec(id, n)`` without a mode picks this env,
because every id registers it as its ``vector_entry_point``. When env i terminates or is
truncated during ``step``:

* ``obs[i]`` is already the first observation of its next episode, and ``infos["action_mask"]
  [i]``, ``infos["cost"][i]`` (0) and ``infos["order"][i]`` describe that new episode;
* ``rewards[i]``, ``terminations[i]``, ``truncations[i]`` describe the finished transition;
* ``infos["final_obs"][i]`` (object array, ``None`` elsewhere; mask ``infos["_final_obs"]``) is
  the last observation of the finished episode and ``infos["final_info"]`` holds its
  ``cost``, ``order`` (int32 [V], 0-padded), ``episode_length`` and ``action_mask``;
* ``infos["episode"]`` holds the finished episode's statistics as Gymnasium's
  ``RecordEpisodeStatistics`` writes them: ``r`` (return, float64 [N]), ``l`` (length, int64
  [N]), ``t`` (seconds since the episode began, float64 [N]), zero for the other envs, with the
  mask ``infos["_episode"]`` bool [N] (``record_episode_statistics=False`` turns this off, e.g.
  to wrap the env in ``RecordEpisodeStatistics`` itself).

So no step is wasted on a reset, unlike ``NEXT_STEP``.

Infos every step (arrays over envs): ``action_mask`` int8 [N, V], ``cost`` int64 [N]
(multiplications so far), ``order`` int32 [N, V] (0-padded), ``step_cost`` int64 [N],
``invalid_action`` bool [N]. :meth:`action_masks` returns the bool mask [N, V].

Graph source: ``graph`` (a Graph, a task name, or a list of them: each reset draws one
uniformly) or random-graph options (``random_spec=`` or ``num_inputs=``, ``num_vertices=``, ...).
``invalid_action`` is "terminate" (default), "mask", "penalty" (see :mod:`.jax_env`) or "raise"
(checked on the host before the step; raises :class:`InvalidActionError` naming the env and the
reason). ``observation_mode`` is "dense" (default) or "graph" (:mod:`.types`);
``max_episode_steps`` (default ``"auto"`` = 2 * max_vertices, ``None`` = no limit) truncates
an episode after that many steps. For Stable-Baselines3 wrap it in
:class:`crosscountry_gym.envs.sb3.SB3VecEnv`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ..graph import Graph
from ..sparsity import DEFAULT_MODEL
from . import jax_env
from .random_graphs import RandomGraphSpec
from .types import DEFAULT_INVALID_ACTION, InvalidActionError, check_invalid_action, load_graph

__all__ = ["CrossCountryVectorEnv"]


@partial(jax.jit, static_argnums=(2,))
def _reset_batch(key, params, n):
    key, sub = jax.random.split(key)
    obs, state = jax.vmap(jax_env.reset, in_axes=(0, None))(jax.random.split(sub, n), params)
    return key, obs, state, _infos(state)


@jax.jit
def _step_batch(key, state, actions, params):
    n = actions.shape[0]
    key, sub = jax.random.split(key)
    keys = jax.random.split(sub, n)
    pre, reward, term, trunc, tinfo = jax.vmap(jax_env.step_env, in_axes=(0, 0, None))(
        state, actions, params
    )
    fresh_obs, fresh = jax.vmap(jax_env.reset, in_axes=(0, None))(keys, params)
    done = term | trunc
    out = jax.tree.map(
        lambda a, b: jnp.where(done.reshape(done.shape + (1,) * (a.ndim - 1)), a, b), fresh, pre
    )
    info = _infos(out)
    info["step_cost"] = tinfo["step_cost"]
    info["invalid_action"] = tinfo["invalid_action"]
    info["overflow"] = tinfo["overflow"]
    final = {"cost": pre.cost, "order": pre.order, "episode_length": pre.length,
             "action_mask": jax.vmap(jax_env.action_mask)(pre).astype(jnp.int8)}
    return key, out, reward, term, trunc, info, final, pre


@jax.jit
def _observe_dense(state, params):
    return jax.vmap(jax_env.observation, in_axes=(0, None))(state, params)


@jax.jit
def _slot_values_batch(state, params):
    return jax.vmap(jax_env.slot_values, in_axes=(0, None))(state, params)


@partial(jax.jit, static_argnums=(3,))
def _graph_obs_batch(state, values, params, skip):
    obs = jax.vmap(jax_env.graph_observation, in_axes=(0, None, 0))(state, params, values)
    return {k: v for k, v in obs.items() if k not in skip}  # dropped by XLA


def _observe_batch(state, params, constants=None):
    """Observations of a batch of states. Separate executables on purpose: compiled into the
    step, XLA:CPU ran the byte-unpacking loop of the dense mode about 3x slower (measured; see
    benchmarks/results/core_env.md), and the graph mode's gathers fused with its outputs about
    15x slower (:func:`.jax_env.graph_observation`). ``constants`` (graph mode): host arrays
    of the keys that never change, returned as read-only broadcasts instead of computed."""
    if params.observation_mode != "graph":
        return _observe_dense(state, params)
    constants = constants or {}
    obs = _graph_obs_batch(state, _slot_values_batch(state, params), params,
                           tuple(sorted(constants)))
    n = state.cost.shape[0]
    return {**obs, **{k: np.broadcast_to(c, (n, *c.shape)) for k, c in constants.items()}}


def _infos(state):
    return {
        "action_mask": jax.vmap(jax_env.action_mask)(state).astype(jnp.int8),
        "cost": state.cost,
        "order": state.order,
    }


@jax.jit
def _take(pre, idx):
    return jax.tree.map(lambda x: x[idx], pre)


@jax.jit
def _final_obs(pre, idx, params):
    sub = jax.tree.map(lambda x: x[idx], pre)
    return jax.vmap(jax_env.observation, in_axes=(0, None))(sub, params)


class CrossCountryVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` elimination games stepped together in JAX.

    Autoreset mode ``AutoresetMode.SAME_STEP`` (``SyncVectorEnv`` uses ``NEXT_STEP``): a
    finished env's ``obs`` is already its next episode's first observation, the finished one is
    in ``infos["final_obs"]`` (module docstring).

    Args:
        num_envs: number of games N.
        graph: a Graph, a task name or a list of them (each reset draws one), or ``None`` with
            random-graph options (``random_spec=`` or the :class:`RandomGraphSpec` fields).
        cost_model, reward_scale, max_vertices, max_inputs, invalid_penalty, observation_mode,
            max_edges: as for :class:`crosscountry_gym.envs.gym_env.CrossCountryEnv`.
        invalid_action: "terminate" (default), "mask", "penalty" or "raise".
        max_episode_steps: step limit per episode, ``"auto"`` (default) = 2 * max_vertices,
            ``None`` = none (``gym.make_vec`` passes the id's registered value).
        record_episode_statistics: put ``infos["episode"]`` / ``infos["_episode"]`` at the end
            of every episode, as ``RecordEpisodeStatistics`` does (default True).

    Observations are dicts of arrays with a leading axis N in the layout of :mod:`.types`.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        graph: Graph | str | Sequence[Graph | str] | None = None,
        *,
        random_spec: RandomGraphSpec | None = None,
        cost_model: str = DEFAULT_MODEL,
        reward_scale: float = 1.0,
        max_vertices: int | None = None,
        max_inputs: int | None = None,
        invalid_action: str = DEFAULT_INVALID_ACTION,
        invalid_penalty: float | None = None,
        observation_mode: str = "dense",
        max_edges: int | None = None,
        max_episode_steps: int | str | None = "auto",
        record_episode_statistics: bool = True,
        render_mode: str | None = None,
        **spec_kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        check_invalid_action(invalid_action)
        if render_mode is not None:
            raise ValueError("CrossCountryVectorEnv does not render; use CrossCountryEnv")
        jax_mode = "mask" if invalid_action == "raise" else invalid_action
        common = dict(
            cost_model=cost_model, reward_scale=reward_scale, invalid_action=jax_mode,
            invalid_penalty=invalid_penalty, max_vertices=max_vertices, max_inputs=max_inputs,
            observation_mode=observation_mode, max_edges=max_edges,
            max_episode_steps=max_episode_steps,
        )
        if graph is not None:
            if random_spec is not None or spec_kwargs:
                raise ValueError("give either `graph` or random-graph options, not both")
            graphs = [graph] if isinstance(graph, Graph | str) else list(graph)
            self.params = jax_env.make_params([load_graph(g) for g in graphs], **common)
        else:
            if random_spec is None:
                try:
                    random_spec = RandomGraphSpec(**spec_kwargs)
                except TypeError as err:
                    raise ValueError(f"bad random-graph option: {err}") from None
            elif spec_kwargs:
                raise ValueError("give either random_spec= or size options, not both")
            self.params = jax_env.make_params(random=random_spec, **common)
        self.num_envs = int(num_envs)
        self.invalid_action = invalid_action
        self.cost_model = cost_model
        self.observation_mode = self.params.observation_mode
        self.max_edges = self.params.max_edges or None
        self.max_episode_steps = self.params.max_episode_steps
        self.record_episode_statistics = bool(record_episode_statistics)
        mv = self.params.max_vertices
        self.single_observation_space = jax_env.observation_space(self.params)
        self.single_action_space = spaces.Discrete(mv)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._key = None
        self._state = None
        self._mask: np.ndarray | None = None
        self._ep_return = np.zeros(self.num_envs)
        self._ep_length = np.zeros(self.num_envs, np.int64)
        self._ep_start = np.zeros(self.num_envs)
        self._constants = None
        if self.observation_mode == "graph":
            self._constants = jax_env.graph_constants(self.params)
            for c in self._constants.values():
                c.setflags(write=False)

    # -- VectorEnv API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | Sequence[int] | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if seed is not None:
            seeds = [seed] if isinstance(seed, int | np.integer) else list(seed)
            key = jax.random.key(int(seeds[0]))
            for s in seeds[1:]:
                key = jax.random.fold_in(key, int(s))
            self._key = key
            self._np_random, _ = gym.utils.seeding.np_random(int(seeds[0]))
        elif self._key is None:
            self._key = jax.random.key(int(np.random.SeedSequence().generate_state(1)[0]))
        self._key, obs, self._state, info = _reset_batch(self._key, self.params, self.num_envs)
        obs, info = _to_numpy(obs), _to_numpy(info)
        self._mask = info["action_mask"].astype(bool)
        info["cost"] = info["cost"].astype(np.int64)
        self._ep_return[:] = 0.0
        self._ep_length[:] = 0
        self._ep_start[:] = time.perf_counter()
        return obs, info

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        acts = np.asarray(actions)
        if acts.shape != (self.num_envs,) or not np.issubdtype(acts.dtype, np.integer):
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), got "
                f"{acts.dtype} {acts.shape}"
            )
        if self.invalid_action == "raise":
            self._check_actions(acts)
        acts = np.clip(acts, -1, self.params.max_vertices).astype(np.int32)  # -1/V: illegal
        (self._key, self._state, rew, term, trunc, info, final, pre) = _step_batch(
            self._key, self._state, jnp.asarray(acts), self.params
        )
        obs = _observe_batch(self._state, self.params, self._constants)
        obs, info = _to_numpy(obs), _to_numpy(info)
        rew = np.asarray(rew, np.float64)
        term, trunc = np.asarray(term), np.asarray(trunc)
        self._mask = info["action_mask"].astype(bool)
        for k in ("cost", "step_cost"):
            info[k] = info[k].astype(np.int64)
        done = term | trunc
        self._ep_return += rew
        self._ep_length += 1
        if done.any():
            idx = np.nonzero(done)[0]
            size = 1 << int(len(idx) - 1).bit_length()  # bucket sizes bound recompilation
            padded = np.pad(idx, (0, size - len(idx)), mode="edge")
            if self.observation_mode == "graph":  # the split path of _observe_batch
                sub = _take(pre, jnp.asarray(padded))
                fobs = _to_numpy(_observe_batch(sub, self.params, self._constants))
            else:
                fobs = _to_numpy(_final_obs(pre, jnp.asarray(padded), self.params))
            final_obs = np.full(self.num_envs, None, dtype=object)
            for j, i in enumerate(idx):
                final_obs[i] = {k: v[j] for k, v in fobs.items()}
            info["final_obs"], info["_final_obs"] = final_obs, done.copy()
            fin = _to_numpy(final)
            fin["cost"] = fin["cost"].astype(np.int64)
            fin.update({f"_{k}": done.copy() for k in list(fin)})
            info["final_info"], info["_final_info"] = fin, done.copy()
            if self.record_episode_statistics:
                now = time.perf_counter()
                info["episode"] = {
                    "r": np.where(done, self._ep_return, 0.0),
                    "l": np.where(done, self._ep_length, 0),
                    "t": np.where(done, np.round(now - self._ep_start, 6), 0.0),
                }
                info["_episode"] = done.copy()
            self._ep_return[done] = 0.0
            self._ep_length[done] = 0
            self._ep_start[done] = time.perf_counter()
        return obs, rew, term, trunc, info

    def action_masks(self) -> np.ndarray:
        """bool [N, V]: legal actions of every env (for masked policies)."""
        if self._mask is None:
            raise RuntimeError("call reset() before action_masks()")
        return self._mask.copy()

    def _check_actions(self, acts: np.ndarray) -> None:
        v = self.params.max_vertices
        for i, a in enumerate(acts):
            if not 0 <= a < v:
                raise InvalidActionError(f"env {i}: action {int(a)} is out of range 0..{v - 1}")
            if not self._mask[i, a]:
                raise InvalidActionError(
                    f"env {i}: action {int(a)} (vertex {int(a) + 1}) is not legal now: padding, an "
                    "output, or already eliminated"
                )


def _to_numpy(tree):
    return jax.tree.map(np.asarray, tree)
