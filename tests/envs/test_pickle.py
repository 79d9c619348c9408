"""Every env pickles, unpickles and deep-copies to an equivalent env: same graph, same state,
same RNG state, so the copy and the original continue identically (spawn-based
multiprocessing, Ray and saved env state rely on this)."""

from __future__ import annotations

import copy
import pickle

import gymnasium as gym
import jax
import numpy as np
import pytest

import crosscountry_gym  # noqa: F401
from crosscountry_gym.envs.gym_env import CrossCountryEnv, RandomCrossCountryEnv
from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv
from crosscountry_gym.envs.wrappers import LegalActionWrapper


def _round_trips(env):
    return [pickle.loads(pickle.dumps(env)), copy.deepcopy(env)]


def _same(a, b) -> None:
    """Recursive equality of observations / infos (dicts, tuples, arrays, scalars)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            if k == "episode":  # wall-clock durations differ; returns and lengths must not
                assert np.array_equal(a[k]["r"], b[k]["r"]) and np.array_equal(a[k]["l"], b[k]["l"])
                continue
            _same(a[k], b[k])
    elif isinstance(a, np.ndarray) and a.dtype == object:
        for x, y in zip(a, b, strict=True):
            assert (x is None) == (y is None)
            if x is not None:
                _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    else:
        assert a == b


def _play_single(env, actions_seed: int, steps: int) -> list:
    """Steps with actions drawn from the legal ones (own RNG), resetting without a seed: the
    env's own RNG draws the next graph."""
    rng = np.random.default_rng(actions_seed)
    out = []
    mask = env.unwrapped.action_masks()
    for _ in range(steps):
        legal = np.flatnonzero(mask)
        a = int(rng.choice(legal)) if len(legal) else 0
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info))
        if term or trunc:
            obs, info = env.reset()
            out.append((obs, info, env.unwrapped.graph))
        mask = env.unwrapped.action_masks()
    return out


SINGLE = {
    "gym.make": lambda m: gym.make("CrossCountry/PropaneCombustion-v0", observation_mode=m),
    "CrossCountryEnv": lambda m: CrossCountryEnv("MLP", observation_mode=m, cost_model="alphagrad"),
    "RandomCrossCountryEnv": lambda m: RandomCrossCountryEnv(
        num_inputs=3, num_vertices=(6, 10), num_outputs=2, tensor=True, observation_mode=m),
    "Random-v0": lambda m: gym.make("CrossCountry/Random-v0", num_vertices=8, num_outputs=2,
                                    observation_mode=m),
    "LegalActionWrapper": lambda m: LegalActionWrapper(gym.make("CrossCountry/MLP-v0",
                                                                observation_mode=m)),
}


@pytest.mark.parametrize("mode", ["dense", "graph"])
@pytest.mark.parametrize("kind", list(SINGLE))
def test_single_envs_round_trip_to_equivalent_envs(kind, mode):
    env = SINGLE[kind](mode)
    env.reset(seed=3)
    _play_single(env, 0, 5)  # mid-episode
    for twin in _round_trips(env):
        assert type(twin) is type(env)
        u, tu = env.unwrapped, twin.unwrapped
        assert tu.graph == u.graph and tu.current_graph() == u.current_graph()
        assert np.array_equal(tu.action_masks(), u.action_masks())
        assert tu.np_random.bit_generator.state == u.np_random.bit_generator.state
        assert tu._ref.same_as(u._ref) and tu._order == u._order and tu._cost == u._cost
    a, b = _round_trips(env)
    runs = [_play_single(e, 1, 40) for e in (env, a, b)]  # across resets: same next graphs
    for other in runs[1:]:
        assert len(other) == len(runs[0])
        for x, y in zip(runs[0], other, strict=True):
            for p, q in zip(x, y, strict=True):
                _same(p, q)


@pytest.mark.parametrize("source", ["task", "random"])
def test_vector_env_round_trips_to_an_equivalent_env(source):
    if source == "task":
        venv = CrossCountryVectorEnv(3, ["MLP", "PropaneCombustion"], observation_mode="graph")
    else:
        venv = CrossCountryVectorEnv(3, num_inputs=2, num_vertices=(6, 9), num_outputs=1)
    venv.reset(seed=5)

    def play(env, seed, steps):
        r = np.random.default_rng(seed)
        out = []
        for _ in range(steps):
            m = env.action_masks()
            out.append(env.step(np.array([r.choice(np.flatnonzero(x)) for x in m])))
        return out

    play(venv, 0, 4)
    twins = _round_trips(venv)
    for t in twins:  # the typed PRNG key survives as a key with the same data
        assert jax.dtypes.issubdtype(t._key.dtype, jax.dtypes.prng_key)
        assert np.array_equal(jax.random.key_data(t._key), jax.random.key_data(venv._key))
        assert np.array_equal(t.action_masks(), venv.action_masks())
        assert t.params.max_edges == venv.params.max_edges
    runs = [play(e, 1, 70) for e in (venv, *twins)]  # several autoresets: the key must match
    for other in runs[1:]:
        for x, y in zip(runs[0], other, strict=True):
            for p, q in zip(x, y, strict=True):
                _same(p, q)


def test_sb3_adapter_round_trips():
    pytest.importorskip("stable_baselines3")
    from crosscountry_gym.envs.sb3 import SB3VecEnv

    venv = SB3VecEnv("CrossCountry/MLP-v0", num_envs=2)
    venv.seed(4)
    venv.reset()
    twins = _round_trips(venv)
    assert all(isinstance(t, SB3VecEnv) for t in twins)
    for _ in range(45):  # past the end of the first episodes (38 steps)
        acts = venv.action_masks().argmax(axis=1)
        a = venv.step(acts)
        for twin in twins:
            b = twin.step(acts)
            _same(a[0], b[0])
            assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
            for x, y in zip(a[3], b[3], strict=True):
                _same(x, y)
            assert np.array_equal(venv.action_masks(), twin.action_masks())
