"""The computational graph of the elimination game: an immutable, validated, hashable value.

Conventions (``docs/cost_model.md`` section 1):

* Vertices are jaxpr equations numbered 1..N in jaxpr order (ascending ids are a topological
  order for traced graphs; the frozen BlackScholes_Jacobian graph is the one exception, so only
  acyclicity is enforced). Inputs are not vertices: they are *source rows* 1..num_inputs;
  vertex k is source row ``num_inputs + k``.
* An edge r -> v is the partial Jacobian of vertex v with respect to source row r. It carries a
  sparsity type code (:mod:`crosscountry_gym.sparsity`) and the record
  ``(out_d1, out_d2, in_d1, in_d2)``: the 2-D shape of the target, then of the source.
* Output vertices are never eliminated. Every other vertex is *eliminable* (isolated vertices
  included; they cost 0).

The JSON form is the ``graph_edges`` record list of ``paper_reference.json`` plus metadata, so a
frozen paper graph and a traced graph share one format.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .sparsity import CODES, Sparsity, sparsity_of

__all__ = ["Edge", "Graph", "GraphFormatError"]

GRAPH_FORMAT = "crosscountry-gym/graph-v1"


class GraphFormatError(ValueError):
    """A graph file or record list is malformed; the message names the offending field."""


Shape2 = tuple[int, int]


@dataclass(frozen=True, order=True)
class Edge:
    """One Jacobian edge ``source -> target``.

    ``source`` is a source row (1..num_inputs for inputs, num_inputs + k for vertex k);
    ``target`` is a 1-based vertex id. ``out_shape`` is the target's 2-D shape and ``in_shape``
    the source's, as recorded (the cost model reads sizes from these records).
    """

    source: int
    target: int
    type: int
    out_shape: Shape2
    in_shape: Shape2

    @property
    def sparsity(self) -> Sparsity:
        """Index-tie description of this edge's Jacobian (ties, whether it carries values)."""
        return sparsity_of(self.type)

    @property
    def record(self) -> list[int]:
        """``[source_row, target_vertex, type, out_d1, out_d2, in_d1, in_d2]``."""
        return [self.source, self.target, self.type, *self.out_shape, *self.in_shape]


@dataclass(frozen=True)
class Graph:
    """An elimination graph. Construct with :meth:`from_records` or :meth:`from_json`.

    Attributes:
        num_inputs: number of source-only input rows.
        num_vertices: number of vertices (jaxpr equations), ids 1..num_vertices.
        edges: edges sorted by (source, target); at most one edge per pair.
        outputs: sorted output vertex ids (never eliminated).
        name: free-form label (task name); not part of the fingerprint.
        vertex_labels: optional per-vertex labels (e.g. jaxpr primitive names), length
            num_vertices or empty; not part of the fingerprint.
    """

    num_inputs: int
    num_vertices: int
    edges: tuple[Edge, ...]
    outputs: tuple[int, ...]
    name: str = ""
    vertex_labels: tuple[str, ...] = field(default=(), compare=False)

    # -- construction and validation ----------------------------------------------------------

    def __post_init__(self) -> None:
        ni, nv = self.num_inputs, self.num_vertices
        if not isinstance(ni, int) or ni < 0:
            raise GraphFormatError(f"num_inputs must be a non-negative int, got {ni!r}")
        if not isinstance(nv, int) or nv < 1:
            raise GraphFormatError(f"num_vertices must be a positive int, got {nv!r}")
        seen: set[tuple[int, int]] = set()
        for e in self.edges:
            where = f"edge {e.record}"
            if not 1 <= e.target <= nv:
                raise GraphFormatError(f"{where}: target vertex {e.target} not in 1..{nv}")
            if not 1 <= e.source <= ni + nv:
                raise GraphFormatError(f"{where}: source row {e.source} not in 1..{ni + nv}")
            if e.source > ni and e.source - ni == e.target:
                raise GraphFormatError(f"{where}: self-loop on vertex {e.target}")
            if e.type == 0 or e.type not in CODES:
                raise GraphFormatError(f"{where}: invalid sparsity type code {e.type}")
            if any((not isinstance(d, int)) or d < 1 for d in (*e.out_shape, *e.in_shape)):
                raise GraphFormatError(f"{where}: shape entries must be positive ints")
            if (e.source, e.target) in seen:
                raise GraphFormatError(f"{where}: duplicate edge {e.source} -> {e.target}")
            seen.add((e.source, e.target))
        if list(self.edges) != sorted(self.edges):
            object.__setattr__(self, "edges", tuple(sorted(self.edges)))
        _check_acyclic(ni, nv, self.edges)
        outs = tuple(self.outputs)
        if len(set(outs)) != len(outs):
            raise GraphFormatError(f"duplicate output vertex ids in {list(outs)}")
        for o in outs:
            if not isinstance(o, int) or not 1 <= o <= nv:
                raise GraphFormatError(f"output vertex {o!r} not in 1..{nv}")
        object.__setattr__(self, "outputs", tuple(sorted(outs)))
        if self.vertex_labels and len(self.vertex_labels) != nv:
            raise GraphFormatError(
                f"vertex_labels has {len(self.vertex_labels)} entries for {nv} vertices"
            )
        object.__setattr__(self, "vertex_labels", tuple(self.vertex_labels))

    @classmethod
    def from_records(
        cls,
        num_inputs: int,
        num_vertices: int,
        records: Iterable[Sequence[int]],
        outputs: Iterable[int],
        *,
        name: str = "",
        vertex_labels: Sequence[str] = (),
    ) -> Graph:
        """Build from ``[source_row, target, type, o1, o2, p1, p2]`` records (paper format)."""
        edges = []
        for i, rec in enumerate(records):
            if len(rec) != 7:
                raise GraphFormatError(
                    f"edge record {i} has {len(rec)} fields, expected 7 "
                    "[source_row, target_vertex, type, out_d1, out_d2, in_d1, in_d2]"
                )
            try:
                r, t, ty, o1, o2, p1, p2 = (_as_int(x, f"edge record {i}") for x in rec)
            except TypeError as err:
                raise GraphFormatError(str(err)) from None
            edges.append(Edge(r, t, ty, (o1, o2), (p1, p2)))
        return cls(
            num_inputs=_as_int(num_inputs, "num_inputs"),
            num_vertices=_as_int(num_vertices, "num_vertices"),
            edges=tuple(sorted(edges)),
            outputs=tuple(_as_int(o, "outputs") for o in outputs),
            name=name,
            vertex_labels=tuple(vertex_labels),
        )

    # -- derived views ------------------------------------------------------------------------

    @property
    def num_rows(self) -> int:
        """Number of source rows: inputs plus vertices."""
        return self.num_inputs + self.num_vertices

    @property
    def eliminable(self) -> tuple[int, ...]:
        """Ascending ids of the vertices an order must cover (all non-outputs)."""
        outs = set(self.outputs)
        return tuple(v for v in range(1, self.num_vertices + 1) if v not in outs)

    @property
    def num_intermediates(self) -> int:
        return self.num_vertices - len(self.outputs)

    def row_of(self, vertex: int) -> int:
        """Source row of vertex ``vertex``."""
        return self.num_inputs + vertex

    def edge_types(self) -> np.ndarray:
        """Dense type matrix, shape ``(num_rows, num_vertices)``, int8; [row-1, vertex-1]."""
        m = np.zeros((self.num_rows, self.num_vertices), np.int8)
        for e in self.edges:
            m[e.source - 1, e.target - 1] = e.type
        return m

    def edge_records(self) -> np.ndarray:
        """Dense records, shape ``(num_rows, num_vertices, 4)``, int32; zero where no edge."""
        m = np.zeros((self.num_rows, self.num_vertices, 4), np.int32)
        for e in self.edges:
            m[e.source - 1, e.target - 1] = (*e.out_shape, *e.in_shape)
        return m

    def vertex_shapes(self) -> tuple[tuple[Shape2, ...], tuple[Shape2, ...]]:
        """Per-row source shapes and per-vertex target shapes as the edge records state them.

        Returns ``(source_shapes, target_shapes)``: ``source_shapes[row-1]`` is the in-dims
        recorded on the row's out-edges and ``target_shapes[v-1]`` the out-dims recorded on the
        vertex's in-edges ((1, 1) where the records say nothing). Raises ``ValueError`` if the
        records of one row or one vertex disagree: elimination keeps such records per edge,
        which the array core does not model.
        """
        src: list[Shape2 | None] = [None] * self.num_rows
        tgt: list[Shape2 | None] = [None] * self.num_vertices
        for e in self.edges:
            for arr, i, shp, what in (
                (src, e.source - 1, e.in_shape, f"source row {e.source}"),
                (tgt, e.target - 1, e.out_shape, f"vertex {e.target}"),
            ):
                if arr[i] is not None and arr[i] != shp:
                    raise ValueError(
                        f"inconsistent shape records for {what}: {arr[i]} vs {shp}; "
                        "the array elimination core needs one shape per row and per vertex"
                    )
                arr[i] = shp
        return (
            tuple(s or (1, 1) for s in src),
            tuple(s or (1, 1) for s in tgt),
        )

    def predecessors(self, vertex: int) -> tuple[int, ...]:
        return tuple(e.source for e in self.edges if e.target == vertex)

    # -- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format": GRAPH_FORMAT,
            "name": self.name,
            "num_inputs": self.num_inputs,
            "num_vertices": self.num_vertices,
            "outputs": list(self.outputs),
            "edges": [e.record for e in self.edges],
        }
        if self.vertex_labels:
            d["vertex_labels"] = list(self.vertex_labels)
        return d

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise (and write to ``path`` if given). Edges one per line for readable diffs."""
        d = self.to_dict()
        edges = d.pop("edges")
        body = json.dumps(d, indent=1)
        lines = ",\n  ".join(json.dumps(r) for r in edges)
        text = body[:-2] + ',\n "edges": [\n  ' + lines + "\n ]\n}\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Graph:
        if not isinstance(d, dict):
            raise GraphFormatError(f"a graph must be a JSON object, got {type(d).__name__}")
        fmt = d.get("format", GRAPH_FORMAT)
        if fmt != GRAPH_FORMAT:
            raise GraphFormatError(f"unknown graph format {fmt!r}; expected {GRAPH_FORMAT!r}")
        for key in ("num_inputs", "num_vertices", "outputs", "edges"):
            if key not in d:
                raise GraphFormatError(f"graph is missing the field {key!r}")
        if not isinstance(d["edges"], list) or not isinstance(d["outputs"], list):
            raise GraphFormatError("fields 'edges' and 'outputs' must be lists")
        return cls.from_records(
            d["num_inputs"],
            d["num_vertices"],
            d["edges"],
            d["outputs"],
            name=str(d.get("name", "")),
            vertex_labels=d.get("vertex_labels", ()),
        )

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Graph:
        """Parse a JSON string, or read a file if given a path to an existing file."""
        text = str(text_or_path)
        if isinstance(text_or_path, Path) or not text.lstrip().startswith(("{", "[")):
            path = Path(text_or_path)
            try:
                text = path.read_text()
            except OSError as err:
                raise GraphFormatError(f"cannot read graph file {path}: {err}") from None
        try:
            d = json.loads(text)
        except json.JSONDecodeError as err:
            raise GraphFormatError(f"graph is not valid JSON: {err}") from None
        return cls.from_dict(d)

    @property
    def fingerprint(self) -> str:
        """sha256 over the canonical structure (inputs, vertices, outputs, edge records).

        Names and labels are excluded, so a traced graph and a frozen one with identical
        structure share a fingerprint.
        """
        canon = json.dumps(
            [self.num_inputs, self.num_vertices, list(self.outputs), [e.record for e in self.edges]],
            separators=(",", ":"),
        )
        return hashlib.sha256(canon.encode()).hexdigest()

    @property
    def structure_fingerprint(self) -> str:
        """sha256 over inputs, vertices, outputs and the (source, target) pairs only.

        Two graphs with equal structure fingerprints number the same vertices the same way and
        connect them identically, so an order for one is an order for the other; only the
        sparsity types and shape records may differ (e.g. a frozen paper graph and the same
        function traced with corrected typing rules).
        """
        canon = json.dumps(
            [self.num_inputs, self.num_vertices, list(self.outputs),
             [[e.source, e.target] for e in self.edges]],
            separators=(",", ":"),
        )
        return hashlib.sha256(canon.encode()).hexdigest()

    def to_networkx(self):
        """A ``networkx.DiGraph``: nodes ``("in", i)`` and ``("v", k)`` with attributes
        ``kind`` (input/intermediate/output), ``shape`` and ``label``; edges carry ``type``,
        ``ties`` (e.g. ``"D(1,3)·D(2,4)"``), ``out_shape`` and ``in_shape``."""
        import networkx as nx

        src_shapes, tgt_shapes = _loose_shapes(self)
        g = nx.DiGraph(name=self.name, fingerprint=self.fingerprint)
        for i in range(1, self.num_inputs + 1):
            g.add_node(("in", i), kind="input", shape=src_shapes[i - 1], label=f"x{i}")
        outs = set(self.outputs)
        for k in range(1, self.num_vertices + 1):
            label = self.vertex_labels[k - 1] if self.vertex_labels else ""
            g.add_node(
                ("v", k),
                kind="output" if k in outs else "intermediate",
                shape=tgt_shapes[k - 1],
                label=label,
            )
        for e in self.edges:
            src = ("in", e.source) if e.source <= self.num_inputs else ("v", e.source - self.num_inputs)
            ties = "·".join(f"{t.kind}({t.a},{t.b})" for t in e.sparsity.ties)
            g.add_edge(
                src,
                ("v", e.target),
                type=e.type,
                ties=ties,
                out_shape=e.out_shape,
                in_shape=e.in_shape,
            )
        return g

    def __hash__(self) -> int:
        # Cached: graphs key memo tables on hot paths, and hashing 200 edges each time is slow.
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.num_inputs, self.num_vertices, self.edges, self.outputs, self.name))
            object.__setattr__(self, "_hash", h)
        return h

    def summary(self) -> str:
        return (
            f"Graph({self.name or 'unnamed'}: {self.num_inputs} inputs, "
            f"{self.num_intermediates} intermediates, {len(self.outputs)} outputs, "
            f"{len(self.edges)} edges)"
        )

    def __repr__(self) -> str:
        return self.summary()


def _check_acyclic(ni: int, nv: int, edges: tuple[Edge, ...]) -> None:
    """Raise GraphFormatError naming a vertex on a cycle. Ids need not be topological: the
    frozen BlackScholes_Jacobian graph has edges from higher to lower ids (its extractor
    numbered multi-output equations inconsistently)."""
    succ: dict[int, list[int]] = {}
    indeg = [0] * (nv + 1)
    for e in edges:
        if e.source > ni:
            succ.setdefault(e.source - ni, []).append(e.target)
            indeg[e.target] += 1
    stack = [v for v in range(1, nv + 1) if indeg[v] == 0]
    seen = 0
    while stack:
        v = stack.pop()
        seen += 1
        for t in succ.get(v, ()):
            indeg[t] -= 1
            if indeg[t] == 0:
                stack.append(t)
    if seen != nv:
        bad = next(v for v in range(1, nv + 1) if indeg[v] > 0)
        raise GraphFormatError(f"the graph has a cycle through vertex {bad}")


def _loose_shapes(g: Graph) -> tuple[list[Shape2], list[Shape2]]:
    src: list[Shape2] = [(1, 1)] * g.num_rows
    tgt: list[Shape2] = [(1, 1)] * g.num_vertices
    for e in g.edges:
        src[e.source - 1] = e.in_shape
        tgt[e.target - 1] = e.out_shape
    return src, tgt


def _as_int(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int | np.integer):
        raise GraphFormatError(f"{what}: expected an integer, got {x!r}")
    return int(x)
