"""Graph model: validation, JSON round trip, fingerprint, networkx export."""

import json

import pytest

from crosscountry_gym import Graph, GraphFormatError, tasks

S = [1, 1, 1, 1]


def small() -> Graph:
    return Graph.from_records(2, 3, [[1, 1, 1, *S], [2, 1, 1, *S], [3, 2, 6, 4, 1, 4, 1], [4, 3, 1, *S]], [3])


@pytest.mark.parametrize("name", tasks.names())
def test_json_round_trip_and_fingerprint(name, tmp_path):
    g = tasks.load(name).graph
    path = tmp_path / "g.json"
    g.to_json(path)
    g2 = Graph.from_json(path)
    assert g2 == g and g2.fingerprint == g.fingerprint
    assert Graph.from_json(g.to_json()) == g
    assert len(g.fingerprint) == 64


def test_fingerprint_is_structural():
    g = small()
    renamed = Graph.from_records(2, 3, [e.record for e in g.edges], [3], name="other")
    assert renamed.fingerprint == g.fingerprint
    changed = Graph.from_records(2, 3, [e.record for e in g.edges][:-1] + [[4, 3, 6, *S]], [3])
    assert changed.fingerprint != g.fingerprint
    # order of records does not matter (canonical form sorts them)
    shuffled = Graph.from_records(2, 3, [e.record for e in g.edges][::-1], [3])
    assert shuffled.fingerprint == g.fingerprint


def test_fingerprint_golden():
    """The fingerprint is stable across releases: it is what leaderboard submissions carry.
    Recompute the canonical form by hand (independently of Graph.fingerprint)."""
    import hashlib

    g = tasks.load("RoeFlux_1d").graph
    recs = sorted(e.record for e in g.edges)
    canon = json.dumps([g.num_inputs, g.num_vertices, list(g.outputs), recs], separators=(",", ":"))
    assert g.fingerprint == hashlib.sha256(canon.encode()).hexdigest()


def test_networkx_export():
    g = tasks.load("MLP").graph
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == g.num_inputs + g.num_vertices
    assert nxg.number_of_edges() == len(g.edges)
    kinds = [d["kind"] for _, d in nxg.nodes(data=True)]
    assert kinds.count("output") == 1 and kinds.count("input") == 8
    e = g.edges[0]
    src = ("in", e.source) if e.source <= g.num_inputs else ("v", e.source - g.num_inputs)
    attrs = nxg.edges[src, ("v", e.target)]
    assert attrs["type"] == e.type and attrs["out_shape"] == e.out_shape
    import networkx as nx

    assert nx.is_directed_acyclic_graph(nxg)


def test_edges_carry_tie_descriptions():
    g = small()
    e = next(e for e in g.edges if e.type == 6)
    assert [str(t.kind) + str(t.a) + str(t.b) for t in e.sparsity.ties] == ["D13", "D24"]


@pytest.mark.parametrize(
    "text,match",
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [1]}', "missing the field 'edges'"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [1], "edges": [[1, 1, 1]]}', "7"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [2], "edges": []}', "output vertex 2"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [1], "edges": [[1,1,12,1,1,1,1]]}',
         "invalid sparsity type code 12"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [1], "edges": [[1,1,1,0,1,1,1]]}',
         "positive"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [1], "edges": [[1,2,1,1,1,1,1]]}',
         "target vertex 2"),
        ('{"num_inputs": 1, "num_vertices": 2, "outputs": [2], "edges": '
         '[[1,1,1,1,1,1,1],[1,1,1,1,1,1,1]]}', "duplicate edge"),
        ('{"num_inputs": 0, "num_vertices": 2, "outputs": [], "edges": '
         '[[1,2,1,1,1,1,1],[2,1,1,1,1,1,1]]}', "cycle"),
        ('{"num_inputs": 1, "num_vertices": 1, "outputs": [1], "edges": [[1,1,"a",1,1,1,1]]}',
         "expected an integer"),
        ('{"format": "other", "num_inputs": 1}', "unknown graph format"),
    ],
)
def test_malformed_graphs_are_rejected_with_a_named_problem(text, match):
    with pytest.raises(GraphFormatError, match=match):
        Graph.from_json(text)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(GraphFormatError, match="cannot read graph file"):
        Graph.from_json(tmp_path / "nope.json")


def test_graph_is_immutable():
    g = small()
    with pytest.raises(AttributeError):
        g.num_inputs = 3  # type: ignore[misc]
    assert hash(g) == hash(small())


def test_vertex_shapes_consistency():
    src, tgt = small().vertex_shapes()
    assert src[2] == (4, 1) and tgt[1] == (4, 1)
    bad = Graph.from_records(1, 3, [[1, 1, 1, 1, 1, 1, 1], [1, 2, 1, 1, 1, 2, 1], [2, 3, 1, *S]], [3])
    with pytest.raises(ValueError, match="inconsistent shape records for source row 1"):
        bad.vertex_shapes()
