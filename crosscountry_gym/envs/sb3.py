"""``SB3VecEnv``: the native vector env as a Stable-Baselines3 ``VecEnv`` (``docs/envs.md``).

Imports stable-baselines3, so it is imported only on use (``crosscountry_gym.envs.SB3VecEnv``
resolves lazily; ``import crosscountry_gym`` never loads it)::

    venv = SB3VecEnv("CrossCountry/RoeFlux_1d-v0", num_envs=64, reward_scale=0.01)
    venv = SB3VecEnv(gym.make_vec("CrossCountry/RoeFlux_1d-v0", 64,
                                  vectorization_mode="vector_entry_point"))
    MaskablePPO("MultiInputPolicy", venv).learn(2000)

SB3's conventions on top of :class:`~crosscountry_gym.envs.vector_env.CrossCountryVectorEnv`
(whose autoreset is already SB3's: a finished env restarts in the same step):

* ``reset()`` returns the observation only (a dict of arrays with a leading axis N); seeds from
  :meth:`seed` and options from ``set_options`` apply to that reset;
* ``step_wait()`` returns ``(obs, rewards float32 [N], dones bool [N], infos)``, ``dones =
  terminated | truncated``; ``infos`` is a list of N dicts, empty except where an episode
  ended, which hold ``terminal_observation`` (the finished episode's last observation),
  ``TimeLimit.truncated`` (truncated and not terminated: SB3 bootstraps from those), ``episode``
  ``{"r": return, "l": length, "t": seconds}`` as SB3's ``Monitor`` writes it (``t`` is the
  episode's duration), ``cost`` (multiplications of the finished episode), ``order`` (tuple of
  vertex ids) and ``invalid_action`` (whether an illegal action ended it);
* :meth:`action_masks` (bool [N, V]) and ``env_method("action_masks")`` (N masks [V]) for
  sb3-contrib's ``MaskablePPO`` and its ``evaluate_policy``.

The N envs are lanes of one native env: ``get_attr`` returns its attribute once per index,
``env_method`` calls its method once and hands lane i its row i when the result is an array with
a leading axis N (so ``env_method("action_masks")`` gives one mask per env), ``set_attr`` sets it
for all lanes at once. ``env_is_wrapped(Monitor)`` is True: the infos carry the ``episode`` entry
that SB3's ``Monitor`` would add (so ``evaluate_policy`` reads the true returns from it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from .vector_env import CrossCountryVectorEnv

__all__ = ["SB3VecEnv"]


class SB3VecEnv(VecEnv):
    """A Stable-Baselines3 ``VecEnv`` over one :class:`CrossCountryVectorEnv` (module docstring).

    Args:
        venv: a :class:`CrossCountryVectorEnv` (e.g. from ``gym.make_vec(...,
            vectorization_mode="vector_entry_point")``) or a registered id, which is then built
            with ``gym.make_vec(venv, num_envs, vectorization_mode="vector_entry_point",
            **kwargs)``.
        num_envs: number of envs when ``venv`` is an id (default 1).
        kwargs: env options when ``venv`` is an id (``cost_model``, ``reward_scale``,
            ``observation_mode``, ...).
    """

    def __init__(self, venv: CrossCountryVectorEnv | str, num_envs: int | None = None,
                 **kwargs: Any) -> None:
        if isinstance(venv, str):
            venv = gym.make_vec(venv, num_envs=1 if num_envs is None else num_envs,
                                vectorization_mode="vector_entry_point", **kwargs)
        elif num_envs is not None or kwargs:
            raise ValueError("num_envs and env options go with an env id, not with an env")
        base = getattr(venv, "unwrapped", venv)
        if not isinstance(base, CrossCountryVectorEnv):
            raise TypeError(
                f"SB3VecEnv wraps a CrossCountryVectorEnv (gym.make_vec(..., vectorization_mode="
                f"'vector_entry_point')), got {type(venv).__name__}"
            )
        self.venv = base
        self._actions: np.ndarray | None = None
        super().__init__(base.num_envs, base.single_observation_space, base.single_action_space)

    # -- VecEnv API ------------------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        seeds = [s for s in self._seeds if s is not None]
        options = self._options[0] if self._options and self._options[0] else None
        obs, _ = self.venv.reset(seed=seeds or None, options=options)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return _writable(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("call step_async() before step_wait()")
        acts = np.asarray(self._actions).reshape(self.num_envs)
        self._actions = None
        obs, rew, term, trunc, info = self.venv.step(acts.astype(np.int64, copy=False))
        dones = term | trunc
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            fin, ep, final_obs = info["final_info"], info.get("episode"), info["final_obs"]
            for i in np.flatnonzero(dones):
                d = infos[i]
                d["terminal_observation"] = {k: np.array(v) for k, v in final_obs[i].items()}
                d["TimeLimit.truncated"] = bool(trunc[i] and not term[i])
                if ep is not None:
                    d["episode"] = {"r": float(ep["r"][i]), "l": int(ep["l"][i]),
                                    "t": float(ep["t"][i])}
                d["cost"] = int(fin["cost"][i])
                d["order"] = tuple(int(v) for v in fin["order"][i] if v)
                d["invalid_action"] = bool(info["invalid_action"][i])
        return _writable(obs), rew.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def action_masks(self) -> np.ndarray:
        """bool [N, V]: the legal actions of every env."""
        return self.venv.action_masks()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)  # AttributeError if absent, as SB3 expects
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        idx = list(self._get_indices(indices))
        if sorted(idx) != list(range(self.num_envs)):
            raise ValueError("the envs are lanes of one vector env: set_attr applies to all of "
                             "them (indices=None)")
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        idx = list(self._get_indices(indices))
        if method_name == "action_masks":
            masks = self.venv.action_masks()
            return [masks[i] for i in idx]
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        if isinstance(result, np.ndarray) and result.ndim and result.shape[0] == self.num_envs:
            return [result[i] for i in idx]
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper],
                       indices: VecEnvIndices = None) -> list[bool]:
        return [wrapper_class is Monitor for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        raise NotImplementedError("CrossCountryVectorEnv does not render; use CrossCountryEnv")


def _writable(obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Writable copies (the native env returns read-only views of JAX buffers, which torch
    warns about)."""
    return {k: np.array(v) for k, v in obs.items()}
