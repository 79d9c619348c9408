"""Fidelity of the re-traced tasks to the frozen paper graphs, and order translation.

The table is computed here and checked against an independent comparison written in this file
(edge-by-edge dictionaries, not fingerprints); nothing about a task's status is hard-coded
except the structural claims that the task functions are responsible for (same vertices and
edges as the paper for every task but BlackScholes_Jacobian, whose paper graph is Graphax
output).
"""

from __future__ import annotations

import re
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from crosscountry_gym.engine import cost
from crosscountry_gym.graph import Graph
from crosscountry_gym.tasks import fidelity, load, names
from crosscountry_gym.tasks.fidelity import (
    DIFFERS,
    IDENTICAL,
    ISOMORPHIC,
    check_task,
    check_vertex_map,
    compare_graphs,
    fidelity_table,
    find_vertex_map,
    markdown_table,
    translate_order,
)
from crosscountry_gym.tracer import make_graph

DOC = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"


def _records(g: Graph) -> dict:
    return {(e.source, e.target): (e.type, e.out_shape, e.in_shape) for e in g.edges}


def _same_structure(a: Graph, b: Graph) -> bool:
    return (a.num_inputs, a.num_vertices, a.outputs) == (
        b.num_inputs,
        b.num_vertices,
        b.outputs,
    ) and set(_records(a)) == set(_records(b))


@pytest.fixture(scope="module")
def table():
    return fidelity_table()


def test_table_has_a_row_per_task_with_a_known_status(table):
    assert [r[0] for r in table] == names()
    assert all(r[1] in (IDENTICAL, ISOMORPHIC, DIFFERS) for r in table)
    print("\n" + markdown_table(table))  # the table, for `pytest -s`


@pytest.mark.parametrize("name", names())
def test_each_row_agrees_with_an_independent_comparison(table, name):
    status = dict((t, s) for t, s, _ in table)[name]
    task = load(name)
    traced = make_graph(task.fn, *task.args, cost_model="alphagrad")
    paper = task.graph
    same = (traced.num_inputs, traced.num_vertices, traced.outputs) == (
        paper.num_inputs,
        paper.num_vertices,
        paper.outputs,
    ) and _records(traced) == _records(paper)
    if status == IDENTICAL:
        assert same
    elif status == ISOMORPHIC:
        assert not same
        m = check_task(name).comparison.vertex_map
        ni = paper.num_inputs
        row = lambda r: r if r <= ni else ni + m[r - ni - 1]  # noqa: E731
        mapped = {(row(s), m[t - 1]): rec for (s, t), rec in _records(paper).items()}
        assert mapped == _records(traced)
        assert {m[o - 1] for o in paper.outputs} == set(traced.outputs)
    else:
        assert not same
        detail = dict((t, d) for t, _, d in table)[name]
        assert detail, "a 'differs' row must say why"


@pytest.mark.parametrize("name", [n for n in names() if n != "BlackScholes_Jacobian"])
def test_task_functions_reproduce_the_paper_structure(name):
    """Typing rules aside, every task emits the paper's equations in the paper's order."""
    task = load(name)
    for rules in ("alphagrad", "exact"):
        assert _same_structure(make_graph(task.fn, *task.args, cost_model=rules), task.graph), rules


@pytest.mark.parametrize(
    "name", ["RoeFlux_1d", "RobotArm_6DOF", "HumanHeartDipole", "PropaneCombustion", "g"]
)
def test_all_scalar_tasks_are_identical(table, name):
    """Their graphs are type 1 only, so equal structure means identical graphs."""
    assert dict((t, s) for t, s, _ in table)[load(name).name] == IDENTICAL


def test_blackscholes_differs_and_says_why(table):
    status, detail = next((s, d) for t, s, d in table if t == "BlackScholes_Jacobian")
    assert status == DIFFERS
    assert "sizes: traced 5/" in detail and "paper 5/129/5" in detail and "Graphax" in detail


# --- translate_order ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", names())
def test_translated_paper_orders_keep_their_cost(name):
    res = check_task(load(name).name)
    task = load(name)
    for order in (task.paper.best_order, task.paper.markowitz_order):
        if res.comparison.vertex_map is None and res.comparison.structural_map is None:
            with pytest.raises(ValueError, match="no vertex map"):
                translate_order(name, order)
            continue
        mapped = translate_order(name, order)
        want = cost(task.graph, order, "alphagrad")
        got = cost(res.traced, mapped, "alphagrad")
        if res.status in (IDENTICAL, ISOMORPHIC):
            assert got == want
        if order == task.paper.best_order:
            assert want == task.paper.best_cost


def test_translate_order_rejects_an_invalid_paper_order():
    with pytest.raises(ValueError, match="output vertex"):
        translate_order("RoeFlux_1d", [97])
    assert translate_order("RoeFlux_1d", [3, 1]) == (3, 1)  # partial orders are fine


# --- the isomorphism machinery on graphs that really are renumbered ------------------------------


def _renumber(g: Graph, seed: int) -> tuple[Graph, tuple[int, ...]]:
    """``g`` with its vertices renumbered along a random topological order; the map old->new."""
    rng = np.random.default_rng(seed)
    ni = g.num_inputs
    preds = {v: {e.source - ni for e in g.edges if e.target == v and e.source > ni}
             for v in range(1, g.num_vertices + 1)}  # fmt: skip
    done: list[int] = []
    left = set(preds)
    while left:
        ready = sorted(v for v in left if preds[v] <= set(done))
        v = int(rng.choice(ready))
        done.append(v)
        left.remove(v)
    new = {old: k + 1 for k, old in enumerate(done)}
    row = lambda r: r if r <= ni else ni + new[r - ni]  # noqa: E731
    records = [[row(e.source), new[e.target], e.type, *e.out_shape, *e.in_shape] for e in g.edges]
    out = Graph.from_records(ni, g.num_vertices, records, [new[o] for o in g.outputs])
    return out, tuple(new[v] for v in range(1, g.num_vertices + 1))


@pytest.mark.parametrize("name", ["RoeFlux_3d", "MLP", "RandomFunction_g"])
def test_find_vertex_map_recovers_a_renumbering(name):
    paper = load(name).graph
    renumbered, truth = _renumber(paper, seed=1)
    assert renumbered.fingerprint != paper.fingerprint
    cmp = compare_graphs(paper, renumbered)
    assert cmp.status == ISOMORPHIC and cmp.map_source == "computed"
    assert check_vertex_map(paper, renumbered, cmp.vertex_map) is None
    best = load(name).paper.best_order
    mapped = [cmp.vertex_map[v - 1] for v in best]
    assert cost(renumbered, mapped, "alphagrad") == cost(paper, best, "alphagrad")
    # the known renumbering is also accepted as a stored map
    stored = compare_graphs(paper, renumbered, truth)
    assert stored.status == ISOMORPHIC and stored.map_source == "stored"


def test_a_stale_stored_map_is_reported_not_trusted():
    paper = load("RoeFlux_1d").graph
    renumbered, truth = _renumber(paper, seed=2)
    wrong = (truth[1], truth[0], *truth[2:])  # vertices 1 and 2 swapped
    assert "outputs do not map" in check_vertex_map(paper, renumbered, tuple(reversed(truth)))
    assert "edge records do not correspond" in (check_vertex_map(paper, renumbered, wrong) or "")
    cmp = compare_graphs(paper, renumbered, wrong)
    assert cmp.status == ISOMORPHIC and "stored map is stale" in cmp.detail
    assert (
        check_vertex_map(paper, renumbered, [1, 1, 2]) == "the map is not a permutation of 1..101"
    )


def test_traced_reordering_is_isomorphic_not_identical():
    """Two programs with the same operations in another order trace to isomorphic graphs."""

    def a(x, y):
        u = jnp.sin(x) * y
        v = jnp.cos(y) + x
        return u * v, v - u

    def b(x, y):
        v = jnp.cos(y) + x
        u = jnp.sin(x) * y
        return u * v, v - u

    ga, gb = make_graph(a, 0.3, 0.4), make_graph(b, 0.3, 0.4)
    cmp = compare_graphs(ga, gb)
    assert cmp.status == ISOMORPHIC
    assert compare_graphs(ga, ga).status == IDENTICAL
    assert translate_like(ga, gb, cmp.vertex_map)


def translate_like(paper: Graph, traced: Graph, m) -> bool:
    """Every order of ``paper`` maps to an order of ``traced`` with the same exact cost."""
    from itertools import permutations

    return all(
        cost(traced, [m[v - 1] for v in order]) == cost(paper, order)
        for order in permutations(paper.eliminable)
    )


def test_structurally_equal_graphs_with_other_types_differ_with_a_structural_map():
    paper = load("RoeFlux_3d").graph
    recs = [e.record for e in paper.edges]
    i = next(k for k, r in enumerate(recs) if r[2] == 11)
    recs[i][2] = -1
    other = Graph.from_records(paper.num_inputs, paper.num_vertices, recs, paper.outputs)
    cmp = compare_graphs(paper, other)
    assert cmp.status == DIFFERS and cmp.vertex_map is None
    assert cmp.structural_map == tuple(range(1, paper.num_vertices + 1))
    assert "1 edge record(s) differ" in cmp.detail and "type 11" in cmp.detail
    assert find_vertex_map(paper, other) is None


def test_stored_map_path_through_check_task(monkeypatch):
    """A task whose traced graph is renumbered is 'isomorphic (mapped)' via its stored map, and
    translate_order carries the paper's best order over with the same cost."""
    paper = load("HumanHeartDipole").graph
    renumbered, truth = _renumber(paper, seed=3)
    monkeypatch.setattr(fidelity, "_trace", lambda name, rules: renumbered)
    monkeypatch.setattr(fidelity, "load_vertex_map", lambda name, cost_model="alphagrad": truth)
    fidelity.check_task.cache_clear()
    try:
        res = check_task("HumanHeartDipole")
        assert (res.status, res.detail) == (ISOMORPHIC, "stored vertex map verified")
        best = load("HumanHeartDipole").paper.best_order
        mapped = translate_order("HumanHeartDipole", best)
        assert mapped == tuple(truth[v - 1] for v in best)
        assert cost(renumbered, mapped, "alphagrad") == load("HumanHeartDipole").paper.best_cost
    finally:
        fidelity.check_task.cache_clear()


def test_write_and_load_vertex_map(tmp_path):
    path = fidelity.write_vertex_map("RoeFlux_1d", [2, 1, 3], directory=tmp_path)
    text = path.read_text()
    assert '"paper_to_traced": [' in text and '"jax_version"' in text
    assert fidelity.load_vertex_map("NoSuchTask") is None


def test_unknown_rules_and_tasks():
    with pytest.raises(ValueError, match="unknown cost model"):
        check_task("RoeFlux_1d", "textbook")
    with pytest.raises(ValueError, match="unknown task"):
        check_task("NoSuchTask")


# --- the documentation shows the current table --------------------------------------------------


def test_docs_table_is_current(table):
    text = DOC.read_text()
    block = re.search(r"<!-- fidelity:start -->\n(.*?)\n<!-- fidelity:end -->", text, re.S)
    assert block, "docs/tasks.md lacks the fidelity block"
    want = markdown_table([(t, s, "") for t, s, _ in table], details=False)
    assert block.group(1) == want, (
        "docs/tasks.md's fidelity table is stale; replace the block with the output of "
        "`python -m crosscountry_gym.tasks.fidelity --markdown --no-details`:\n" + want
    )


def test_docs_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "RoeFlux_1d identical" in out
