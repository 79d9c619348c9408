"""Wrappers for algorithms that cannot mask actions (``docs/envs.md``, "Invalid actions").

:class:`LegalActionWrapper` turns the game into one without illegal actions: action k of
``Discrete(n)`` means "the k-th legal vertex, counting in ascending id order, k taken modulo the
number of legal moves". Every action is then legal in every state, so value-based methods such
as DQN need neither masks nor penalties. Two actions k and k + (number of legal moves) name the
same vertex; :meth:`LegalActionWrapper.action_masks` marks the first ``number of legal moves``
actions, one per legal vertex, for algorithms that do mask.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .types import InvalidActionError

__all__ = ["LegalActionWrapper"]


class LegalActionWrapper(gym.ActionWrapper):
    """Action k -> the ``(k mod L)``-th legal vertex in ascending id order, ``L`` = number of
    legal moves now (module docstring).

    Wraps any env of this package with a ``Discrete(V)`` action space and an
    ``action_masks()`` method (``gym.make(...)`` envs, :class:`.gym_env.CrossCountryEnv`); the
    action space stays ``Discrete(V)``. ``info["vertex_action"]`` is the env action taken (vertex
    id - 1). In a state without legal moves (only after the episode ended) the action is passed
    through unchanged, so the env reports the end as usual.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(f"LegalActionWrapper needs a Discrete action space, got "
                             f"{env.action_space}")
        try:
            env.get_wrapper_attr("action_masks")
        except AttributeError:
            raise ValueError("LegalActionWrapper needs an env with action_masks()") from None
        self.action_space = spaces.Discrete(int(env.action_space.n))

    def _legal(self) -> np.ndarray:
        return np.flatnonzero(self.env.get_wrapper_attr("action_masks")())

    def action(self, action: Any) -> int:
        """The env action (vertex id - 1) for wrapper action ``action``."""
        k = _as_int(action)
        legal = self._legal()
        if not len(legal):
            return k
        return int(legal[k % len(legal)])

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        a = self.action(action)
        obs, reward, terminated, truncated, info = self.env.step(a)
        info = dict(info, vertex_action=a)
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """bool [n]: actions ``0 .. L-1`` (each names a different legal vertex)."""
        mask = np.zeros(int(self.action_space.n), bool)
        mask[: len(self._legal())] = True
        return mask


def _as_int(action: Any) -> int:
    """An integer scalar action as an int; :class:`InvalidActionError` for anything else."""
    if not isinstance(action, bool | np.bool_):
        if isinstance(action, int | np.integer):
            return int(action)
        arr = np.asarray(action)
        if arr.shape == () and np.issubdtype(arr.dtype, np.integer):
            return int(arr)
    raise InvalidActionError(f"malformed action {action!r}: an action is one integer")
