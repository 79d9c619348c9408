"""The reference engine against independent oracles: a naive scalar eliminator written here, the
generic skeleton driven by the sparsity rules directly, copy-on-write isolation, pickling, and
the paper's numbers through ``reference_costs``."""

import copy
import pickle
import random

import numpy as np
import pytest
from random_dags import scalar_dag, typed_dag

from crosscountry_gym import tasks
from crosscountry_gym.engine import (
    EliminationState,
    InvalidOrderError,
    ScalarBitsetState,
    cost,
    eliminate_vertex,
    is_scalar,
    validate_order,
)
from crosscountry_gym.graph import Edge, Graph
from crosscountry_gym.orders import reference_costs
from crosscountry_gym.sparsity import MODELS, merge_rule, product_rule


def naive_scalar_cost(graph: Graph, order) -> int:
    """Textbook vertex elimination on a scalar dense graph: |P(v)| * |Q(v)| per step, edges as
    sets (every edge valued)."""
    ni = graph.num_inputs
    pred: dict[int, set[int]] = {}
    succ: dict[int, set[int]] = {}
    for e in graph.edges:
        t = ni + e.target
        pred.setdefault(t, set()).add(e.source)
        succ.setdefault(e.source, set()).add(t)
    total = 0
    for v in order:
        row = ni + v
        p, q = pred.pop(row, set()), succ.pop(row, set())
        total += len(p) * len(q)
        for r in p:
            succ[r].discard(row)
            succ[r] |= q
        for t in q:
            pred[t].discard(row)
            pred[t] |= p
    return total


def dense_scalar(seed: int) -> Graph:
    g = scalar_dag(seed, nv=16, copy_prob=0.0)
    assert all(e.type == 1 for e in g.edges)
    return g


@pytest.mark.parametrize("seed", range(25))
def test_reference_cost_equals_naive_textbook_elimination(seed):
    g = dense_scalar(seed)
    rng = random.Random(seed)
    for _ in range(4):
        order = list(g.eliminable)
        rng.shuffle(order)
        want = naive_scalar_cost(g, order)
        assert cost(g, order) == want  # the dense-scalar fast path of cost()
        st = EliminationState(g)
        assert sum(st.eliminate(v) for v in order) == want  # the general engine
        assert cost(g, order, "alphagrad") == want  # no deviation touches dense scalars
        st = ScalarBitsetState(g)
        assert sum(st.eliminate(v) for v in order) == want


def _record_product(e_in, e_out, cost_model):
    tin, _, _, s1, s2 = e_in
    tout, t1, t2, v1, v2 = e_out
    pr = product_rule(tin, tout, cost_model)
    return (pr.result, t1, t2, s1, s2), pr.evaluate((t1, t2, v1, v2, s1, s2))


def _skeleton_run(graph: Graph, order, cost_model):
    """Eliminate with the generic skeleton, the sparsity rules called directly (no lookups)."""
    ni = graph.num_inputs
    succ: dict[int, dict] = {}
    pred: dict[int, dict] = {}
    for e in graph.edges:
        rec = (e.type, *e.out_shape, *e.in_shape)
        succ.setdefault(e.source, {})[ni + e.target] = rec
        pred.setdefault(ni + e.target, {})[e.source] = rec

    def merge(old, new):
        return new if old is None else (merge_rule(old[0], new[0], cost_model), *new[1:])

    steps = [
        eliminate_vertex(succ, pred, ni + v, lambda a, b: _record_product(a, b, cost_model), merge)
        for v in order
    ]
    edges = [Edge(r, t - ni, rec[0], rec[1:3], rec[3:5]) for r, d in succ.items() for t, rec in d.items()]
    return steps, sorted(edges)


def _graphs():
    out = [(n, tasks.load(n).graph) for n in tasks.names()]
    out += [(f"typed{s}", typed_dag(s, nv=9)) for s in range(12)]
    out += [(f"scalar{s}", scalar_dag(s, nv=12, copy_prob=0.3)) for s in range(6)]
    out += [(f"dense{s}", dense_scalar(s)) for s in range(4)]
    return out


@pytest.mark.parametrize("name,graph", _graphs(), ids=lambda x: x if isinstance(x, str) else "")
@pytest.mark.parametrize("cost_model", MODELS)
def test_state_equals_generic_skeleton_step_by_step(name, graph, cost_model):
    rng = random.Random(hash(name) % 1000)
    order = list(graph.eliminable)
    rng.shuffle(order)
    want_steps, want_edges = _skeleton_run(graph, order, cost_model)
    st = EliminationState(graph, cost_model)
    got = []
    for v in order:
        predicted = st.step_cost(v)
        got.append(st.eliminate(v))
        assert predicted == got[-1]
    assert got == want_steps
    assert sorted(st.to_graph().edges) == want_edges
    assert cost(graph, order, cost_model) == sum(want_steps)  # cost() and its fast paths
    if is_scalar(graph):
        fast = ScalarBitsetState(graph, cost_model)
        assert [fast.eliminate(v) for v in order] == want_steps
        assert fast.to_graph().edges == st.to_graph().edges


def test_copy_on_write_keeps_states_and_the_shared_graph_apart():
    g = tasks.load("RoeFlux_3d").graph
    order = list(g.eliminable)
    before = cost(g, order)
    a = EliminationState(g)
    for v in order[:20]:
        a.eliminate(v)
    key_a = a.key()
    b = a.copy()
    c = copy.deepcopy(a)
    for v in order[20:40]:
        b.eliminate(v)
    for v in reversed(order[20:]):
        c.eliminate(v)
    assert a.key() == key_a  # neither copy wrote into a's dicts
    assert b.key() != key_a and c.key() != key_a
    rest = sum(a.eliminate(v) for v in order[20:])
    fresh = EliminationState(g)
    assert rest == cost(g, order) - sum(fresh.eliminate(v) for v in order[:20])
    assert cost(g, order) == before  # the memoised initial adjacency is untouched


def test_pickle_round_trip_gives_the_same_state():
    g = tasks.load("MLP").graph
    order = list(g.eliminable)
    st = EliminationState(g, "alphagrad")
    for v in order[:7]:
        st.eliminate(v)
    back = pickle.loads(pickle.dumps(st))
    assert back.key() == st.key() and back.cost_model == "alphagrad"
    assert [back.eliminate(v) for v in order[7:]] == [st.eliminate(v) for v in order[7:]]


def test_set_exact_keys_of_the_bitset_state():
    g = scalar_dag(3, nv=12, copy_prob=0.3)
    a, b = ScalarBitsetState(g), ScalarBitsetState(g)
    first = list(g.eliminable)[:5]
    for v in first:
        a.eliminate(v)
    for v in reversed(first):
        b.eliminate(v)
    assert a.key() == b.key() and a.same_as(b)


def test_illegal_steps_raise_and_change_nothing():
    g = tasks.load("HumanHeartDipole").graph
    for st in (EliminationState(g), ScalarBitsetState(g)):
        key = st.key()
        for v in (0, -1, g.num_vertices + 1, g.outputs[0]):
            with pytest.raises(InvalidOrderError, match="cannot be eliminated"):
                st.eliminate(v)
        v = g.eliminable[0]
        st.eliminate(v)
        with pytest.raises(InvalidOrderError):
            st.eliminate(v)
        assert st.key() != key


@pytest.mark.parametrize(
    "order,match",
    [
        ({1, 2}, "sequence"),
        (np.zeros((2, 2), int), "one-dimensional"),
        ([1.5], "not an integer"),
        ([True], "not an integer"),
    ],
)
def test_validator_refuses_orders_that_are_not_sequences_of_ids(order, match):
    g = tasks.load("RoeFlux_1d").graph
    with pytest.raises(InvalidOrderError, match=match):
        validate_order(g, order)


def test_cost_names_a_missing_graph():
    with pytest.raises(TypeError, match="Graph"):
        cost(None, [1, 2])


@pytest.mark.parametrize("name", tasks.names())
def test_reference_costs_are_the_papers(name, paper_reference):
    task = tasks.load(name)
    want = paper_reference["tasks"][tasks.PAPER_NAMES[name]]
    ref = reference_costs(task.graph, "alphagrad")
    assert (ref["forward"], ref["reverse"], ref["markowitz"]) == (want["fwd"], want["rev"], want["markowitz"])
    assert ref.best == min(want["fwd"], want["rev"], want["markowitz"])
    assert reference_costs(task.graph, "alphagrad") is ref  # computed once


def test_deprecated_model_keyword_still_works():
    g = tasks.load("RoeFlux_1d").graph
    order = tasks.load("RoeFlux_1d").paper.best_order
    with pytest.warns(DeprecationWarning, match="cost_model"):
        assert cost(g, order, model="alphagrad") == cost(g, order, cost_model="alphagrad")
    with pytest.raises(ValueError, match="unknown cost model 'fast'"):
        cost(g, order, "fast")
