"""Both observation modes carry the whole current graph: a Graph rebuilt from the observation
alone equals the env's current graph at several points of an episode, in the Gymnasium env, the
native vector env and the functional JAX env; the graph mode agrees between the envs and its size
follows the edges the graph can hold."""

from __future__ import annotations

import gymnasium as gym
import jax
import numpy as np
import pytest

import crosscountry_gym  # noqa: F401
from crosscountry_gym import Graph, tasks
from crosscountry_gym.engine import EliminationState, max_edge_count
from crosscountry_gym.envs import jax_env as E
from crosscountry_gym.envs.gym_env import CrossCountryEnv, RandomCrossCountryEnv
from crosscountry_gym.envs.random_graphs import RandomGraphSpec, random_graph
from crosscountry_gym.envs.types import GRAPH_OBSERVATION_KEYS, OBSERVATION_KEYS, ordered_edge_slots
from crosscountry_gym.envs.vector_env import CrossCountryVectorEnv


def graph_from_obs(obs: dict[str, np.ndarray]) -> Graph:
    """Rebuild the current Graph from one observation of either mode (no other input)."""
    obs = {k: np.asarray(v) for k, v in obs.items()}
    src, tgt = obs["source_shapes"], obs["vertex_shapes"]
    mi = src.shape[0] - tgt.shape[0]
    ni = int(src[:mi].any(axis=1).sum())
    nv = int(tgt.any(axis=1).sum())

    def row(p: int) -> int:  # padded row -> graph row
        return p + 1 if p < mi else ni + p - mi + 1

    recs = []
    if "senders" in obs:
        for j in np.flatnonzero(obs["edge_mask"]):
            s, r = int(obs["senders"][j]), int(obs["receivers"][j])
            recs.append([row(s), r - mi + 1, int(obs["edge_types"][j]),
                         *map(int, obs["edge_shapes"][j])])
    else:
        for p, c in zip(*np.nonzero(obs["edge_types"]), strict=True):
            recs.append([row(int(p)), int(c) + 1, int(obs["edge_types"][p, c]),
                         *map(int, tgt[c]), *map(int, src[p])])
    outputs = [int(k) + 1 for k in np.flatnonzero(obs["output_mask"])]
    return Graph.from_records(ni, nv, recs, outputs)


def same_graph(a: Graph, b: Graph) -> bool:
    return (a.num_inputs, a.num_vertices, a.edges, a.outputs) == (
        b.num_inputs, b.num_vertices, b.edges, b.outputs)


def test_the_rebuild_is_able_to_fail():
    g = tasks.load("MLP").graph
    env = CrossCountryEnv(g, observation_mode="graph")
    obs, _ = env.reset()
    assert same_graph(graph_from_obs(obs), g)
    obs["edge_types"][np.flatnonzero(obs["edge_mask"])[0]] = 11
    assert not same_graph(graph_from_obs(obs), g)


@pytest.mark.parametrize("name", ["PropaneCombustion", "MLP", "BlackScholes_Jacobian",
                                  "RandomFunction_f"])
@pytest.mark.parametrize("mode", ["dense", "graph"])
def test_gym_env_observation_rebuilds_the_current_graph(name, mode):
    g = tasks.load(name).graph
    env = gym.make(f"CrossCountry/{name}-v0", observation_mode=mode, max_vertices=g.num_vertices + 3,
                   max_inputs=g.num_inputs + 2)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert set(obs) == set(GRAPH_OBSERVATION_KEYS if mode == "graph" else OBSERVATION_KEYS)
    rng = np.random.default_rng(1)
    checks = 0
    for t in range(g.num_intermediates):
        if t % 7 == 0 or t == g.num_intermediates - 1:
            assert same_graph(graph_from_obs(obs), env.unwrapped.current_graph()), t
            checks += 1
        obs, *_, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        assert env.observation_space.contains(obs)
    assert same_graph(graph_from_obs(obs), env.unwrapped.current_graph())
    assert checks >= 3


def test_graph_mode_size_follows_the_reachable_pairs():
    for name in tasks.names():
        g = tasks.load(name).graph
        env = CrossCountryEnv(g, observation_mode="graph")
        assert env.max_edges == max_edge_count(g)
        obs, _ = env.reset()
        assert obs["edge_types"].shape == (max_edge_count(g),)
        assert obs["edge_mask"].sum() == len(g.edges)
        padded = CrossCountryEnv(g, observation_mode="graph", max_edges=max_edge_count(g) + 10)
        obs2, _ = padded.reset()
        assert not obs2["edge_mask"][-10:].any() and same_graph(graph_from_obs(obs2), g)
    with pytest.raises(ValueError, match="max_edges"):
        CrossCountryEnv("MLP", observation_mode="graph", max_edges=10)
    with pytest.raises(ValueError, match="max_edges"):
        CrossCountryEnv("MLP", max_edges=1000)
    with pytest.raises(ValueError, match="observation_mode"):
        CrossCountryEnv("MLP", observation_mode="sparse")
    # the random family: every (earlier row, later vertex) pair
    rows, cols = ordered_edge_slots(4, 30, 4)
    assert RandomCrossCountryEnv(observation_mode="graph").max_edges == len(rows) == 4 * 30 + 435


@pytest.mark.parametrize("mode", ["dense", "graph"])
def test_random_env_observation_rebuilds_the_graph(mode):
    env = RandomCrossCountryEnv(num_inputs=3, num_vertices=(6, 12), num_outputs=2, tensor=True,
                                observation_mode=mode, max_inputs=5)
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        assert same_graph(graph_from_obs(obs), env.graph)
        obs, *_ = env.step(int(np.flatnonzero(info["action_mask"])[-1]))
        assert same_graph(graph_from_obs(obs), env.current_graph())


@pytest.mark.parametrize("mode", ["dense", "graph"])
def test_vector_env_observation_rebuilds_the_graph_and_matches_single_envs(mode):
    g = tasks.load("RandomFunction_f").graph  # a typed graph
    n = 3
    venv = CrossCountryVectorEnv(n, g, observation_mode=mode)
    envs = [CrossCountryEnv(g, observation_mode=mode) for _ in range(n)]
    vobs, _ = venv.reset(seed=0)
    assert venv.observation_space.contains(vobs)
    for e in envs:
        e.reset()
    rng = np.random.default_rng(0)
    for t in range(g.num_intermediates + 5):  # past the first autoreset
        if t % 9 == 0:
            for i, e in enumerate(envs):
                one = {k: v[i] for k, v in vobs.items()}
                assert same_graph(graph_from_obs(one), e.current_graph())
        masks = venv.action_masks()
        acts = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        vobs, _, term, _, info = venv.step(acts)
        for i, e in enumerate(envs):
            o, _, done, _, _ = e.step(int(acts[i]))
            if done:
                for k in o:
                    assert np.array_equal(info["final_obs"][i][k], o[k]), k
                o, _ = e.reset()
            for k in o:
                assert np.array_equal(vobs[k][i], o[k]), (t, k)


def test_jax_env_graph_observation_for_pools_and_random_graphs():
    graphs = [tasks.load("PropaneCombustion").graph, tasks.load("MLP").graph]
    params = E.make_params(graphs, observation_mode="graph", kind="typed")
    counts = [max_edge_count(g) for g in graphs]  # the pool's slots: the union of both graphs'
    assert max(counts) <= params.max_edges <= sum(counts)
    space = E.observation_space(params)
    assert E.action_space(params) == gym.spaces.Discrete(62)
    reset, step = jax.jit(E.reset), jax.jit(E.step_env)
    for i in range(4):
        obs, s = reset(jax.random.key(i), params)
        assert space.contains(jax.device_get(obs))
        g = next(g for g in graphs if g.num_vertices == int(s.core.num_vertices))
        ref = EliminationState(g)
        rng = np.random.default_rng(i)
        for _ in range(5):
            assert same_graph(graph_from_obs(E.observation(s, params)), ref.to_graph())
            a = int(rng.choice(np.flatnonzero(np.asarray(E.action_mask(s)))))
            s = step(s, a, params)[0]
            ref.eliminate(a + 1)
    spec = RandomGraphSpec(num_inputs=3, num_vertices=(5, 9), num_outputs=2, tensor=True)
    params = E.make_params(random=spec, observation_mode="graph")
    for i in range(3):
        key = jax.random.key(i)
        obs, s = reset(key, params)
        g = random_graph(key, spec)
        assert same_graph(graph_from_obs(obs), g)
        ref = EliminationState(g)
        for a in (np.flatnonzero(np.asarray(E.action_mask(s))))[:3]:
            s = step(s, int(a), params)[0]
            ref.eliminate(int(a) + 1)
            assert same_graph(graph_from_obs(E.observation(s, params)), ref.to_graph())
    # observation_space / action_space follow the params in both modes
    dense = E.make_params(graphs[0])
    assert E.observation_space(dense) == CrossCountryEnv(graphs[0]).observation_space
    assert set(E.observation_shapes(dense)) == set(OBSERVATION_KEYS)
    assert E.observation_space(E.make_params(graphs[0], observation_mode="graph")) == \
        CrossCountryEnv(graphs[0], observation_mode="graph").observation_space
