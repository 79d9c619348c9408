"""Copyable elimination states for search: a general typed state and a bitset scalar state.

Both follow ``cost_model.md`` section 3 exactly (they are tested against
:func:`crosscountry_gym.cost.cost`) but are built for search rather than for reference:

* :meth:`copy` is cheap (a search keeps a snapshot per order position or per subset);
* :meth:`step_cost` prices eliminating a vertex *without* changing the state (beam, DP and
  branch-and-bound price many candidates and materialise few);
* :attr:`mask` is the set of eliminated vertices as an ``int`` bit mask (bit v = vertex v);
* :attr:`SET_EXACT` says whether the state after eliminating a set is the same for every order
  of that set (``cost_model.md`` section 10.1), in which case a search may key on the set alone.

:class:`TypedState` works for every graph and both cost models. :class:`ScalarState` is a faster
special case for graphs whose edges are all scalar (shape (1, 1)) and of type 1 (dense) or -1
(copy): there one step costs |valued preds| * |valued succs| and the whole state is four lists of
Python ``int`` bit masks over source rows.

Rows: source row r in 1..num_inputs is an input, row num_inputs + v is vertex v (as in
:class:`~crosscountry_gym.graph.Graph`).
"""

from __future__ import annotations

from crosscountry_gym.cost import InvalidOrderError, product_lookup
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import CostModel

__all__ = ["TypedState", "ScalarState", "SearchState", "is_scalar", "make_state"]

Record = tuple[int, int, int, int, int]  # (type, o1, o2, p1, p2), as in crosscountry_gym.cost


def _tables(model: str) -> tuple[dict, dict]:
    """``mul[tin][tout] = (size_fn or None, result type)`` and ``merge[old][new]``: the lookups
    of the reference cost (:func:`crosscountry_gym.cost.product_lookup`), shared, not rebuilt."""
    lookup = product_lookup(model)
    return lookup.mul, lookup.merge


def _check_model(model: str) -> None:
    if model not in ("exact", "alphagrad"):
        raise ValueError(f"unknown cost model {model!r}; use 'exact' or 'alphagrad'")


def is_scalar(graph: Graph) -> bool:
    """True if every edge has type 1 or -1 and all shapes (1, 1).

    On such graphs both cost models coincide (no override touches types 1 and -1) and the state
    after eliminating a set is independent of the order (``cost_model.md`` 10.1): types {1, -1}
    are closed under product and merge and behave as a semiring.
    """
    return all(
        e.type in (1, -1) and e.out_shape == (1, 1) and e.in_shape == (1, 1) for e in graph.edges
    )


class TypedState:
    """General elimination state over adjacency dicts keyed by source row.

    ``succ[row]`` maps target row -> record and ``pred[row]`` maps source row -> the same
    record. Eliminated vertices have no entries. Order-independence is not assumed
    (``SET_EXACT = False``): two states with equal masks are compared with :meth:`same_as`.

    Copies are copy-on-write: :meth:`copy` duplicates only the two outer dicts, and an inner
    dict is duplicated the first time a state writes to it (``_own_s`` / ``_own_p`` list the
    rows whose inner dicts a state owns). One step then costs O(|P| + |Q|) dict copies, not
    O(edges), which is what makes a snapshot per order position affordable.
    """

    SET_EXACT = False
    __slots__ = ("graph", "model", "ni", "succ", "pred", "mask", "_mul", "_merge", "_outputs",
                 "_own_s", "_own_p")

    def __init__(self, graph: Graph, model: CostModel = "exact"):
        _check_model(model)
        self.graph = graph
        self.model = model
        self.ni = graph.num_inputs
        self._mul, self._merge = _tables(model)
        self._outputs = frozenset(graph.outputs)
        self.mask = 0
        self.succ: dict[int, dict[int, Record]] = {}
        self.pred: dict[int, dict[int, Record]] = {}
        ni = self.ni
        for e in graph.edges:
            rec = (e.type, *e.out_shape, *e.in_shape)
            t = ni + e.target
            self.succ.setdefault(e.source, {})[t] = rec
            self.pred.setdefault(t, {})[e.source] = rec
        self._own_s = set(self.succ)
        self._own_p = set(self.pred)

    def copy(self) -> TypedState:
        """An independent copy (copy-on-write: O(rows) now, inner dicts copied on demand)."""
        new = object.__new__(TypedState)  # skip __init__: share the read-only fields
        new.graph, new.model, new.ni = self.graph, self.model, self.ni
        new._mul, new._merge, new._outputs = self._mul, self._merge, self._outputs
        new._own_s, new._own_p = set(), set()
        new.succ = self.succ.copy()
        new.pred = self.pred.copy()
        new.mask = self.mask
        self._own_s = set()  # the inner dicts are shared from now on
        self._own_p = set()
        return new

    def same_as(self, other: TypedState) -> bool:
        """True if both states hold the same edges with the same records (same future costs)."""
        return self.mask == other.mask and self.succ == other.succ

    def key(self) -> tuple:
        """Hashable identity of the state: the mask plus every edge record."""
        return (self.mask, tuple(sorted((r, tuple(sorted(d.items()))) for r, d in self.succ.items())))

    def _check(self, vertex: int) -> None:
        if (
            not 1 <= vertex <= self.graph.num_vertices
            or vertex in self._outputs
            or self.mask >> vertex & 1
        ):
            raise InvalidOrderError(f"vertex {vertex} cannot be eliminated now")

    def is_free(self, vertex: int) -> bool:
        """True if ``vertex`` has no in-edges or no out-edges now (eliminating it costs 0)."""
        row = self.ni + vertex
        return not self.pred.get(row) or not self.succ.get(row)

    def step_cost(self, vertex: int) -> int:
        """Multiplications of eliminating ``vertex`` now; the state is not changed."""
        row = self.ni + vertex
        ins = self.pred.get(row)
        outs = self.succ.get(row)
        if not ins or not outs:
            return 0
        mul = self._mul
        total = 0
        for tin, _, _, s1, s2 in ins.values():
            mul_in = mul[tin]
            for tout, t1, t2, v1, v2 in outs.values():
                size_fn = mul_in[tout][0]
                if size_fn is not None:
                    total += size_fn(t1, t2, v1, v2, s1, s2)
        return total

    def eliminate(self, vertex: int) -> int:
        """Eliminate ``vertex`` and return the step's multiplications (``cost_model.md`` 3)."""
        self._check(vertex)
        row = self.ni + vertex
        ins = self.pred.pop(row, {})
        outs = self.succ.pop(row, {})
        mul, merge = self._mul, self._merge
        succ, pred = self.succ, self.pred
        own_s, own_p = self._own_s, self._own_p
        for t in outs:
            if t not in own_p:
                pred[t] = pred[t].copy()
                own_p.add(t)
        step = 0
        for r, (tin, _, _, s1, s2) in ins.items():
            if r in own_s:
                succ_r = succ[r]
            else:
                succ_r = succ[r] = succ[r].copy()
                own_s.add(r)
            del succ_r[row]
            mul_in = mul[tin]
            for t, (tout, t1, t2, v1, v2) in outs.items():
                size_fn, ptype = mul_in[tout]
                if size_fn is not None:
                    step += size_fn(t1, t2, v1, v2, s1, s2)
                old = succ_r.get(t)
                rec = (merge[old[0]][ptype] if old else ptype, t1, t2, s1, s2)
                succ_r[t] = rec
                pred[t][r] = rec
            if not succ_r:
                del succ[r]
        for t in outs:
            p = pred[t]
            del p[row]
        self.mask |= 1 << vertex
        return step


class ScalarState:
    """Bitset state for scalar graphs with edge types 1 (valued) and -1 (copy).

    Per row: ``allp``/``alls`` = all predecessor/successor rows, ``valp``/``vals`` = those joined
    by a valued (type 1) edge. Eliminating v adds, for every pair (a, t), an edge a -> t that is
    valued iff a -> v or v -> t is valued, or a -> t already was (merge(-1, 1) = 1); the step
    costs |valp(v)| * |vals(v)| because a product with a copy edge is free (``cost_model.md``
    4.2). The state after a set is order-independent (``SET_EXACT = True``).
    """

    SET_EXACT = True
    __slots__ = ("graph", "model", "ni", "allp", "alls", "valp", "vals", "mask", "_elim")

    def __init__(self, graph: Graph, model: CostModel = "exact"):
        _check_model(model)
        self.graph = graph
        self.model = model
        self.ni = graph.num_inputs
        self.mask = 0
        out = set(graph.outputs)
        self._elim = sum(1 << v for v in range(1, graph.num_vertices + 1) if v not in out)
        n = graph.num_rows + 1
        self.allp = [0] * n
        self.alls = [0] * n
        self.valp = [0] * n
        self.vals = [0] * n
        ni = self.ni
        for e in graph.edges:
            if e.type not in (1, -1) or e.out_shape != (1, 1) or e.in_shape != (1, 1):
                raise ValueError(
                    f"ScalarState needs edges of type 1 or -1 with shape (1, 1); edge {e.record} "
                    "is not (use TypedState)"
                )
            s, t = e.source, ni + e.target
            self.allp[t] |= 1 << s
            self.alls[s] |= 1 << t
            if e.type == 1:
                self.valp[t] |= 1 << s
                self.vals[s] |= 1 << t

    def copy(self) -> ScalarState:
        new = object.__new__(ScalarState)  # skip __init__: share the read-only fields
        new.graph, new.model, new.ni, new._elim = self.graph, self.model, self.ni, self._elim
        new.allp = self.allp.copy()
        new.alls = self.alls.copy()
        new.valp = self.valp.copy()
        new.vals = self.vals.copy()
        new.mask = self.mask
        return new

    def same_as(self, other: ScalarState) -> bool:
        return (
            self.mask == other.mask
            and self.alls == other.alls
            and self.vals == other.vals
        )

    def key(self) -> int:
        return self.mask

    def is_free(self, vertex: int) -> bool:
        row = self.ni + vertex
        return not self.allp[row] or not self.alls[row]

    def step_cost(self, vertex: int) -> int:
        row = self.ni + vertex
        return self.valp[row].bit_count() * self.vals[row].bit_count()

    def eliminate(self, vertex: int) -> int:
        if not (self._elim >> vertex & 1) or self.mask >> vertex & 1:
            raise InvalidOrderError(f"vertex {vertex} cannot be eliminated now")
        row = self.ni + vertex
        bit = 1 << row
        nbit = ~bit
        allp, alls, valp, vals = self.allp, self.alls, self.valp, self.vals
        P, Q, VP, VQ = allp[row], alls[row], valp[row], vals[row]
        step = VP.bit_count() * VQ.bit_count()
        m = P
        while m:
            low = m & -m
            a = low.bit_length() - 1
            m ^= low
            alls[a] = (alls[a] & nbit) | Q
            vals[a] = (vals[a] & nbit) | (Q if VP & low else VQ)
        m = Q
        while m:
            low = m & -m
            t = low.bit_length() - 1
            m ^= low
            allp[t] = (allp[t] & nbit) | P
            valp[t] = (valp[t] & nbit) | (P if VQ & low else VP)
        allp[row] = alls[row] = valp[row] = vals[row] = 0
        self.mask |= 1 << vertex
        return step


SearchState = TypedState | ScalarState


def make_state(graph: Graph, model: CostModel = "exact", *, kind: str = "auto") -> SearchState:
    """The fastest exact state for ``graph``: :class:`ScalarState` if :func:`is_scalar`, else
    :class:`TypedState`. ``kind`` = ``"typed"`` or ``"scalar"`` forces one."""
    _check_model(model)
    if kind == "typed":
        return TypedState(graph, model)
    if kind == "scalar" or (kind == "auto" and is_scalar(graph)):
        return ScalarState(graph, model)
    if kind != "auto":
        raise ValueError(f"unknown state kind {kind!r}; use 'auto', 'typed' or 'scalar'")
    return TypedState(graph, model)
