"""Fidelity of the re-traced tasks to the frozen paper graphs.

For each task, ``make_graph(task.fn, *task.args)`` (the current JAX and our tracer) is compared
with the frozen paper graph (``tasks.load(name).graph``). The result is computed, never
declared:

* ``identical``: same inputs, vertex numbering, edges, edge types, shape records and outputs
  (equal fingerprints);
* ``isomorphic (mapped)``: the same graph up to a renumbering of the vertices (inputs keep their
  order). The renumbering is a *vertex map* ``paper id -> traced id``, stored as package data
  under ``tasks/data/vertex_maps/<task>.json`` and re-verified on every check; if none is
  stored, one is searched (:func:`find_vertex_map`) and the detail says so;
* ``differs (why)``: anything else; the detail names what differs (sizes, which edge records,
  which vertices), plus a note on the cause where the cause is known (BlackScholes_Jacobian).

The comparison uses the tracer's ``cost_model="alphagrad"`` typing by default, because the frozen
graphs carry the original extractor's typing (defects included); the detail also reports how
the graph under the corrected ``"exact"`` rules relates to the paper graph.

:func:`translate_order` carries an order written in the paper's vertex ids (e.g. the published
best order) over to the traced graph, through the identity or the vertex map. Where the types
differ but the structure is the same, the structural map is used (costs then differ).

Run ``python -m crosscountry_gym.tasks.fidelity`` for the table (``--markdown`` for Markdown,
``--write-maps`` to store vertex maps of isomorphic tasks).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from crosscountry_gym.engine import validate_order
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import cost_model_arg

from . import load, names

__all__ = [
    "IDENTICAL",
    "ISOMORPHIC",
    "DIFFERS",
    "Comparison",
    "FidelityResult",
    "compare_graphs",
    "find_vertex_map",
    "check_vertex_map",
    "check_task",
    "fidelity_table",
    "markdown_table",
    "translate_order",
    "load_vertex_map",
    "write_vertex_map",
    "VERTEX_MAP_DIR",
]

IDENTICAL = "identical"
ISOMORPHIC = "isomorphic (mapped)"
DIFFERS = "differs"

VERTEX_MAP_DIR = "data/vertex_maps"
"""Package-relative folder of the stored vertex maps (``<task>.json``)."""

NOTES: dict[str, str] = {
    "BlackScholes_Jacobian": (
        "the paper graph traces Graphax's own reverse-mode program (jacve), which JAX alone "
        "cannot rebuild; this task traces jax.grad of the price, the closest honest equivalent"
    ),
}
"""Known causes, appended to the detail of a task that differs (explanations, not verdicts)."""

VertexMap = tuple[int, ...]
"""``m[v - 1]`` is the traced vertex id of paper vertex ``v``."""


# --- graph comparison -------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing a paper graph with a traced one.

    ``vertex_map`` maps the paper graph onto the traced graph exactly (types and shapes
    included); ``structural_map`` ignores types and shape records. Either is None when no map
    was found. ``map_source`` is "identity", "stored", "computed" or "".
    """

    status: str
    detail: str
    vertex_map: VertexMap | None
    structural_map: VertexMap | None
    map_source: str = ""


def _sizes(g: Graph) -> str:
    return f"{g.num_inputs}/{g.num_intermediates}/{len(g.outputs)} ({len(g.edges)} edges)"


def _label(g: Graph, v: int) -> str:
    return f"{v} ({g.vertex_labels[v - 1]})" if g.vertex_labels else str(v)


def _edge_key(e, with_types: bool) -> tuple:
    return (e.type, e.out_shape, e.in_shape) if with_types else ()


def check_vertex_map(
    paper: Graph, traced: Graph, vertex_map: Sequence[int], *, with_types: bool = True
) -> str | None:
    """Why ``vertex_map`` is not an isomorphism paper -> traced, or None if it is one.

    Inputs must map to themselves, vertices bijectively, outputs to outputs, and every edge to
    an edge with the same type and shape records (``with_types=False``: the same edge only).
    """
    if (paper.num_inputs, paper.num_vertices) != (traced.num_inputs, traced.num_vertices):
        return f"sizes differ: paper {_sizes(paper)}, traced {_sizes(traced)}"
    m = list(vertex_map)
    n = paper.num_vertices
    if len(m) != n or sorted(m) != list(range(1, n + 1)):
        return f"the map is not a permutation of 1..{n}"
    if {m[o - 1] for o in paper.outputs} != set(traced.outputs):
        return "outputs do not map to outputs"
    ni = paper.num_inputs

    def row(r: int) -> int:
        return r if r <= ni else ni + m[r - ni - 1]

    mapped = {(row(e.source), m[e.target - 1]): _edge_key(e, with_types) for e in paper.edges}
    target = {(e.source, e.target): _edge_key(e, with_types) for e in traced.edges}
    if mapped != target:
        bad = sorted(set(mapped.items()) ^ set(target.items()))
        return f"{len(bad)} edge records do not correspond, e.g. {bad[0]}"
    return None


def _signatures(g: Graph, with_types: bool) -> list[tuple[int, int]]:
    """Isomorphism-invariant (forward, backward) hashes per vertex, for pruning the search.

    Forward: a vertex's role and the multiset of (edge record, source hash) over its in-edges,
    inputs hashed by their position. Backward: the same over out-edges, from the outputs.
    """
    ni, nv = g.num_inputs, g.num_vertices
    preds: list[list] = [[] for _ in range(nv + 1)]
    succs: list[list] = [[] for _ in range(nv + 1)]
    indeg = [0] * (nv + 1)
    for e in g.edges:
        preds[e.target].append(e)
        if e.source > ni:
            succs[e.source - ni].append(e)
            indeg[e.target] += 1
    order, stack = [], [v for v in range(1, nv + 1) if indeg[v] == 0]
    while stack:
        v = stack.pop()
        order.append(v)
        for e in succs[v]:
            indeg[e.target] -= 1
            if indeg[e.target] == 0:
                stack.append(e.target)
    outs = set(g.outputs)
    fwd = [0] * (nv + 1)
    for v in order:
        items = sorted(
            (
                _edge_key(e, with_types),
                hash(("in", e.source)) if e.source <= ni else fwd[e.source - ni],
            )
            for e in preds[v]
        )
        fwd[v] = hash((v in outs, tuple(items)))
    bwd = [0] * (nv + 1)
    for v in reversed(order):
        items = sorted((_edge_key(e, with_types), bwd[e.target]) for e in succs[v])
        bwd[v] = hash((v in outs, tuple(items)))
    return [(fwd[v], bwd[v]) for v in range(1, nv + 1)]


def find_vertex_map(paper: Graph, traced: Graph, *, with_types: bool = True) -> VertexMap | None:
    """Search a vertex map paper -> traced (inputs fixed), or None if the graphs differ.

    Uses the identity when it works; otherwise networkx's VF2 matcher on graphs whose nodes
    carry the invariant signatures of :func:`_signatures`, so only vertices with equal local
    structure are ever tried against each other.
    """
    if (paper.num_inputs, paper.num_vertices, len(paper.outputs), len(paper.edges)) != (
        traced.num_inputs,
        traced.num_vertices,
        len(traced.outputs),
        len(traced.edges),
    ):
        return None
    identity = tuple(range(1, paper.num_vertices + 1))
    if check_vertex_map(paper, traced, identity, with_types=with_types) is None:
        return identity
    sp, st = _signatures(paper, with_types), _signatures(traced, with_types)
    if sorted(sp) != sorted(st):
        return None
    import networkx as nx
    from networkx.algorithms import isomorphism

    def build(g: Graph, sig) -> nx.DiGraph:
        d = nx.DiGraph()
        ni = g.num_inputs
        d.add_nodes_from((("in", i), {"sig": ("in", i)}) for i in range(1, ni + 1))
        d.add_nodes_from((("v", v), {"sig": sig[v - 1]}) for v in range(1, g.num_vertices + 1))
        for e in g.edges:
            src = ("in", e.source) if e.source <= ni else ("v", e.source - ni)
            d.add_edge(src, ("v", e.target), key=_edge_key(e, with_types))
        return d

    matcher = isomorphism.DiGraphMatcher(
        build(paper, sp),
        build(traced, st),
        node_match=lambda a, b: a["sig"] == b["sig"],
        edge_match=lambda a, b: a["key"] == b["key"],
    )
    for iso in matcher.isomorphisms_iter():
        m = tuple(iso[("v", v)][1] for v in range(1, paper.num_vertices + 1))
        if check_vertex_map(paper, traced, m, with_types=with_types) is None:
            return m
    return None


def _describe_difference(paper: Graph, traced: Graph) -> str:
    """A short, computed account of how ``traced`` differs from ``paper``."""
    if (paper.num_inputs, paper.num_vertices, paper.outputs) != (
        traced.num_inputs,
        traced.num_vertices,
        traced.outputs,
    ):
        return f"sizes: traced {_sizes(traced)} vs paper {_sizes(paper)} (inputs/interm./outputs)"
    pe = {(e.source, e.target): e for e in paper.edges}
    te = {(e.source, e.target): e for e in traced.edges}
    if set(pe) == set(te):
        bad = sorted(k for k in pe if pe[k] != te[k])
        ni = paper.num_inputs
        parts = []
        for s, t in bad[:3]:
            a, b = pe[(s, t)], te[(s, t)]
            src = f"input {s}" if s <= ni else f"vertex {s - ni}"
            parts.append(
                f"{src} -> vertex {_label(traced, t)}: type {a.type} {a.out_shape}<-{a.in_shape}"
                f" vs {b.type} {b.out_shape}<-{b.in_shape}"
            )
        more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
        return (
            f"same vertices and edges; {len(bad)} edge record(s) differ (paper vs traced): "
            + "; ".join(parts)
            + more
        )
    missing, extra = len(set(pe) - set(te)), len(set(te) - set(pe))
    return f"same sizes, different edges: {missing} paper edge(s) missing, {extra} extra"


def compare_graphs(
    paper: Graph, traced: Graph, vertex_map: Sequence[int] | None = None
) -> Comparison:
    """Classify ``traced`` against ``paper``; ``vertex_map`` is a stored map to try first."""
    if paper.fingerprint == traced.fingerprint:
        ident = tuple(range(1, paper.num_vertices + 1))
        return Comparison(IDENTICAL, "", ident, ident, "identity")
    why_stored = None
    if vertex_map is not None:
        why_stored = check_vertex_map(paper, traced, vertex_map)
        if why_stored is None:
            m = tuple(int(v) for v in vertex_map)
            return Comparison(ISOMORPHIC, "stored vertex map verified", m, m, "stored")
    m = find_vertex_map(paper, traced)
    if m is not None:
        note = "vertex map computed (not stored)"
        if why_stored is not None:
            note += f"; the stored map is stale: {why_stored}"
        return Comparison(ISOMORPHIC, note, m, m, "computed")
    structural = find_vertex_map(paper, traced, with_types=False)
    detail = _describe_difference(paper, traced)
    if structural is not None and structural != tuple(range(1, paper.num_vertices + 1)):
        detail += "; isomorphic when types and shapes are ignored"
    if why_stored is not None:
        detail += f"; stored vertex map invalid: {why_stored}"
    return Comparison(DIFFERS, detail, None, structural, "computed" if structural else "")


# --- stored vertex maps -----------------------------------------------------------------------


def _map_resource(name: str):
    return resources.files("crosscountry_gym.tasks").joinpath(VERTEX_MAP_DIR, f"{name}.json")


def load_vertex_map(
    name: str, cost_model: str = "alphagrad", *, rules: str | None = None
) -> VertexMap | None:
    """The stored vertex map of task ``name`` for the tracer's ``cost_model`` typing (None if
    none is stored). ``rules=`` is the deprecated name of ``cost_model``."""
    rules = cost_model_arg(cost_model, rules, "rules")
    res = _map_resource(name)
    if not res.is_file():
        return None
    d = json.loads(res.read_text())
    entry = d.get("maps", {}).get(rules)
    return None if entry is None else tuple(int(v) for v in entry["paper_to_traced"])


def write_vertex_map(
    name: str, vertex_map: Sequence[int], cost_model: str = "alphagrad",
    directory: Path | None = None, *, rules: str | None = None,
) -> Path:
    """Store ``vertex_map`` for task ``name`` (in the package data unless ``directory``)."""
    import jax

    folder = Path(directory) if directory is not None else Path(__file__).parent / VERTEX_MAP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    d = json.loads(path.read_text()) if path.is_file() else {"task": name, "maps": {}}
    rules = cost_model_arg(cost_model, rules, "rules")
    d["maps"][rules] = {"jax_version": jax.__version__, "paper_to_traced": list(vertex_map)}
    path.write_text(json.dumps(d, indent=1) + "\n")
    return path


# --- per task ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FidelityResult:
    """Fidelity of one task: the row of the table plus what produced it."""

    task: str
    status: str
    detail: str
    rules: str
    comparison: Comparison
    traced: Graph | None
    exact_note: str = ""

    @property
    def label(self) -> str:
        """``identical``, ``isomorphic (mapped)`` or ``differs (why)``."""
        return f"{DIFFERS} ({self.detail})" if self.status == DIFFERS else self.status

    @property
    def row(self) -> tuple[str, str, str]:
        parts = [p for p in (self.detail, self.exact_note) if p]
        return (self.task, self.status, "; ".join(parts))


def _trace(name: str, rules: str) -> Graph:
    from crosscountry_gym.tracer import make_graph

    task = load(name)
    g = make_graph(task.fn, *task.args, cost_model=rules)
    return g


def _exact_note(name: str, paper: Graph) -> str:
    """How the graph under the corrected ("exact") rules relates to the paper graph."""
    try:
        g = _trace(name, "exact")
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        return f"exact rules: tracing failed ({type(err).__name__}: {err})"
    if g.fingerprint == paper.fingerprint:
        return "exact rules: identical too"
    pe = {(e.source, e.target): e for e in paper.edges}
    te = {(e.source, e.target): e for e in g.edges}
    if (g.num_inputs, g.num_vertices, g.outputs) == (
        paper.num_inputs,
        paper.num_vertices,
        paper.outputs,
    ) and set(pe) == set(te):
        n = sum(pe[k] != te[k] for k in pe)
        return f"exact rules: same structure, {n} edge record(s) corrected"
    return f"exact rules: traced {_sizes(g)}"


@cache
def check_task(name: str, cost_model: str = "alphagrad", *, rules: str | None = None) -> FidelityResult:
    """Trace task ``name`` with the tracer's ``cost_model`` typing and compare it with its
    frozen paper graph (``rules=`` is the deprecated name of ``cost_model``)."""
    rules = cost_model_arg(cost_model, rules, "rules")
    task = load(name)
    paper = task.graph
    try:
        traced = _trace(task.name, rules)
    except Exception as err:  # noqa: BLE001 - a failing task is a row of the table, not a crash
        comp = Comparison(DIFFERS, f"tracing failed: {type(err).__name__}: {err}", None, None)
        return FidelityResult(task.name, DIFFERS, comp.detail, rules, comp, None)
    comp = compare_graphs(paper, traced, load_vertex_map(task.name, rules))
    detail = comp.detail
    if comp.status == DIFFERS and task.name in NOTES:
        detail = f"{detail}; {NOTES[task.name]}"
    exact = _exact_note(task.name, paper) if rules == "alphagrad" else ""
    return FidelityResult(task.name, comp.status, detail, rules, comp, traced, exact)


def fidelity_table(cost_model: str = "alphagrad", *, rules: str | None = None) -> list[tuple[str, str, str]]:
    """Rows ``(task, status, detail)`` for all ten tasks, computed now (cached per process)."""
    cost_model = cost_model_arg(cost_model, rules, "rules")
    return [check_task(n, cost_model).row for n in names()]


def markdown_table(rows: Sequence[tuple[str, str, str]], *, details: bool = True) -> str:
    """The rows as a Markdown table (``details=False``: task and status only)."""
    if not details:
        return "\n".join(
            ["| task | status |", "|---|---|"] + [f"| {t} | {s} |" for t, s, _ in rows]
        )
    lines = ["| task | status | detail |", "|---|---|---|"]
    lines += [f"| {t} | {s} | {d.replace('|', '/')} |" for t, s, d in rows]
    return "\n".join(lines)


def translate_order(
    name: str, paper_order: Sequence[int], cost_model: str = "alphagrad", *,
    rules: str | None = None,
) -> tuple[int, ...]:
    """Carry an order in the paper graph's vertex ids over to the traced graph's ids.

    ``paper_order`` must be valid for the frozen paper graph (full or partial). Uses the exact
    vertex map where the graphs are identical/isomorphic (the cost is then the same), else the
    structural map (same graph up to types and shapes; the cost may differ). Raises
    ``ValueError`` if the order is invalid or the graphs have no vertex map.
    """
    res = check_task(load(name).name, cost_model_arg(cost_model, rules, "rules"))
    paper = load(name).graph
    order = validate_order(paper, paper_order, partial=True)
    vmap = res.comparison.vertex_map or res.comparison.structural_map
    if vmap is None or res.traced is None:
        raise ValueError(
            f"cannot translate an order for {res.task}: the traced graph has no vertex map onto "
            f"the paper graph ({res.label})"
        )
    out = tuple(vmap[v - 1] for v in order)
    validate_order(res.traced, out, partial=len(order) < paper.num_intermediates)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m crosscountry_gym.tasks.fidelity [--markdown [--no-details]] [--rules R]
    [--write-maps]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cost-model", "--rules", dest="rules", default="alphagrad",
                    choices=("alphagrad", "exact"))
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--no-details", action="store_true", help="task and status columns only")
    ap.add_argument(
        "--write-maps",
        action="store_true",
        help="store the vertex maps of tasks that are isomorphic but not identical",
    )
    args = ap.parse_args(argv)
    rows = fidelity_table(args.rules)
    if args.markdown:
        print(markdown_table(rows, details=not args.no_details))
    else:
        width = max(len(t) for t, _, _ in rows)
        for t, s, d in rows:
            print(f"{t:<{width}}  {s:<20}  {d}")
    if args.write_maps:
        for n in names():
            comp = check_task(n, args.rules).comparison
            if comp.status == ISOMORPHIC and comp.map_source == "computed":
                print("wrote", write_vertex_map(n, comp.vertex_map, args.rules))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
