"""The index-tie sparsity model of one Jacobian edge, and the product and merge rules.

An edge r -> v is a 4-index tensor ``J[o1, o2, p1, p2]`` (positions 1..4). Its *type* says which
(output position, input position) pairs are tied: ``D(a, b)`` (a varying diagonal) or ``K(a, b)``
(a constant Kronecker delta). This module owns

* the 22 type codes (-10..11, 0 = no edge) and their tie sets (:data:`TIES`),
* the consistent product rule (``docs/cost_model.md`` section 4) and merge rule (section 6),
* the paper-compatible ("alphagrad") override lists as data (section 8),
* the lookup tables derived from those rules, used by both elimination cores.

Definitions are those of ``docs/cost_model.md``, which states the
model of AlphaGrad's ``VertexGame`` (Lohoff & Neftci, NeurIPS 2024). No table is hand-typed: every
entry is computed from the rule below, then the documented overrides are applied.

The cost of one product is ``const * prod(size_i ** exp_i)`` over the six index sizes
``(T1, T2, V1, V2, S1, S2)``: T = out dims of the out-edge v->t, V = in dims of the out-edge,
S = in dims of the in-edge r->v.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np

__all__ = [
    "CODES",
    "COPY",
    "UNDEFINED",
    "NUM_CODES",
    "INDEX_NAMES",
    "Tie",
    "Sparsity",
    "sparsity_of",
    "code_of",
    "product_rule",
    "merge_rule",
    "Tables",
    "tables",
    "markowitz_out_weight",
    "markowitz_in_weight",
    "ProductResult",
    "CostModel",
    "MODELS",
    "DEFAULT_MODEL",
    "check_model",
    "cost_model_arg",
]

CostModel = Literal["exact", "alphagrad"]

MODELS: tuple[str, ...] = ("exact", "alphagrad")
"""The cost models, in a fixed order (the JAX core stores a model as its index here). ``exact``,
the default everywhere, is the consistent rule; ``alphagrad`` adds the paper's table deviations
(``docs/cost_model.md`` section 8)."""
DEFAULT_MODEL = "exact"

CODES: tuple[int, ...] = tuple(range(-10, 12))
"""All type codes, in table order: table index = code + 10."""
NUM_CODES = len(CODES)  # 22
COPY = -1
UNDEFINED = 11
STRUCTURAL = (-6, -7)
INDEX_NAMES = ("T1", "T2", "V1", "V2", "S1", "S2")


@dataclass(frozen=True, order=True)
class Tie:
    """A tie between output position ``a`` (1 or 2) and input position ``b`` (3 or 4)."""

    a: int
    b: int
    kind: Literal["D", "K"]  # D: varies along the diagonal; K: constant (Kronecker delta)


def _t(spec: str) -> Tie:
    return Tie(int(spec[1]), int(spec[2]), spec[0])  # "D13" -> Tie(1, 3, "D")


# code -> (ties, carries values): the table of docs/cost_model.md section 2.
_TYPE_TABLE: dict[int, tuple[tuple[str, ...], bool]] = {
    1: ((), True),
    2: (("D13",), True),
    3: (("D24",), True),
    4: (("D14",), True),
    5: (("D23",), True),
    6: (("D13", "D24"), True),
    7: (("D14", "D23"), True),
    8: (("K13", "D24"), True),
    9: (("K14", "D23"), True),
    10: (("K13", "K24"), True),
    -2: (("K13",), True),
    -3: (("K24",), True),
    -4: (("K14",), True),
    -5: (("K23",), True),
    -6: (("K13", "K24"), False),
    -7: (("K14", "K23"), False),
    -8: (("D13", "K24"), True),
    -9: (("D14", "K23"), True),
    -10: (("K14", "K23"), True),
}

_MEANING = {
    0: "no edge",
    1: "dense",
    -1: "structural copy (convert_element_type)",
    11: "undefined structure (reshape/slice/concatenate in the paper's extractor)",
    2: "diagonal D(1,3)",
    3: "diagonal D(2,4)",
    4: "diagonal D(1,4)",
    5: "diagonal D(2,3)",
    6: "elementwise",
    7: "elementwise, transposed",
    8: "row-broadcast elementwise",
    9: "transposed row-broadcast elementwise",
    10: "scalar multiple of the identity",
    -2: "Kronecker K(1,3), dense elsewhere",
    -3: "Kronecker K(2,4), dense elsewhere",
    -4: "Kronecker K(1,4), dense elsewhere",
    -5: "Kronecker K(2,3), dense elsewhere",
    -6: "identity (structural)",
    -7: "transposition (structural)",
    -8: "column-broadcast elementwise",
    -9: "transposed column-broadcast elementwise",
    -10: "scalar multiple of the transposition",
}


@dataclass(frozen=True)
class Sparsity:
    """The human-readable sparsity description of one edge type code."""

    code: int
    ties: tuple[Tie, ...]
    carries_values: bool
    special: Literal["none", "copy", "undefined"]
    meaning: str

    @property
    def structural(self) -> bool:
        """True for edges that carry no numeric value (-1, -6, -7)."""
        return not self.carries_values

    def describe(self) -> str:
        ties = "·".join(f"{t.kind}({t.a},{t.b})" for t in self.ties) or "-"
        return f"{self.code}: {self.meaning} [{ties}]"


@cache
def sparsity_of(code: int) -> Sparsity:
    """The :class:`Sparsity` of a type code; raises ``ValueError`` for an unknown code."""
    if code not in CODES:
        raise ValueError(f"unknown sparsity type code {code!r}; valid codes are -10..11")
    if code == 0:
        return Sparsity(0, (), False, "none", _MEANING[0])
    if code == COPY:
        return Sparsity(COPY, (), False, "copy", _MEANING[COPY])
    if code == UNDEFINED:
        return Sparsity(UNDEFINED, (), True, "undefined", _MEANING[UNDEFINED])
    ties, valued = _TYPE_TABLE[code]
    return Sparsity(code, tuple(sorted(_t(s) for s in ties)), valued, "none", _MEANING[code])


def code_of(ties: frozenset[Tie] | set[Tie], *, structural: bool = False) -> int:
    """Map a tie set back to its code (the table of section 2 read backwards).

    ``{K13, K24}`` is -6 when ``structural`` (both factors structural) else 10; likewise
    ``{K14, K23}`` is -7 or -10. The empty set is 1 (dense).
    """
    key = frozenset(ties)
    if not key:
        return 1
    matches = [
        c for c, (spec, valued) in _TYPE_TABLE.items() if frozenset(_t(s) for s in spec) == key
    ]
    if not matches:
        raise ValueError(f"tie set {sorted(key)} has no type code")
    if len(matches) == 1:
        return matches[0]
    want_valued = not structural
    return next(c for c in matches if _TYPE_TABLE[c][1] == want_valued)


# ---------------------------------------------------------------------------------------------
# Product rule (consistent mode), section 4
# ---------------------------------------------------------------------------------------------

_T1, _T2, _V1, _V2, _S1, _S2 = range(6)


@dataclass(frozen=True)
class ProductResult:
    """Cost ``const * prod(size_i ** exponents_i)`` and the result type of one edge product."""

    const: int  # 0 or 1
    exponents: tuple[int, int, int, int, int, int]  # over (T1, T2, V1, V2, S1, S2), each 0 or 1
    result: int

    def evaluate(self, sizes: tuple[int, ...]) -> int:
        out = self.const
        for e, s in zip(self.exponents, sizes, strict=True):
            if e:
                out *= abs(int(s))
        return out


_NO_EXP = (0, 0, 0, 0, 0, 0)


def _consistent_product(tin: int, tout: int) -> ProductResult:
    """Product of in-edge r->v of type ``tin`` and out-edge v->t of type ``tout``."""
    # Special cases, checked first and in this order (section 4.2).
    if tin == UNDEFINED or tout == UNDEFINED:
        other = tout if tin == UNDEFINED else tin
        return ProductResult(0, _NO_EXP, UNDEFINED if other in (UNDEFINED, COPY) else 1)
    if tin == COPY or tout == COPY:
        return ProductResult(0, _NO_EXP, tout if tin == COPY else tin)
    if tin == 10 and tout == 10:
        return ProductResult(1, _NO_EXP, 10)

    sp_in, sp_out = sparsity_of(tin), sparsity_of(tout)
    parent = list(range(6))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    varying_idx: set[int] = set()
    # out-edge positions (1,2,3,4) = (T1,T2,V1,V2); in-edge positions = (V1,V2,S1,S2)
    for sp, pos_map in ((sp_out, (_T1, _T2, _V1, _V2)), (sp_in, (_V1, _V2, _S1, _S2))):
        tied_positions: set[int] = set()
        for tie in sp.ties:
            i, j = pos_map[tie.a - 1], pos_map[tie.b - 1]
            union(i, j)
            tied_positions |= {tie.a, tie.b}
            if tie.kind == "D":
                varying_idx |= {i, j}
        if sp.carries_values:
            varying_idx |= {pos_map[p - 1] for p in (1, 2, 3, 4) if p not in tied_positions}

    classes: dict[int, list[int]] = {}
    for i in range(6):
        classes.setdefault(find(i), []).append(i)

    exps = [0] * 6
    result_ties: set[Tie] = set()
    for members in classes.values():
        varying = any(m in varying_idx for m in members)
        ts = [m for m in members if m in (_T1, _T2)]
        ss = [m for m in members if m in (_S1, _S2)]
        vs = [m for m in members if m in (_V1, _V2)]
        if varying:
            rep = (ts or ss or vs)[0]
            exps[rep] = 1
        if ts and ss:
            a = ts[0] - _T1 + 1
            b = ss[0] - _S1 + 1 + 2
            result_ties.add(Tie(a, b, "D" if varying else "K"))
    structural_factor = not sp_in.carries_values or not sp_out.carries_values
    both_structural = not sp_in.carries_values and not sp_out.carries_values
    result = code_of(frozenset(result_ties), structural=both_structural)
    return ProductResult(0 if structural_factor else 1, tuple(exps), result)


def _consistent_merge(existing: int, new: int) -> int:
    """Type of ``existing + new`` when a product is accumulated into an existing edge."""
    if existing == 0:
        return new
    if new == 0:
        return existing
    if existing == COPY:
        return new
    if new == COPY:
        return existing
    if existing == UNDEFINED and new == UNDEFINED:
        return UNDEFINED
    if UNDEFINED in (existing, new):
        return 1
    if existing == new and existing in STRUCTURAL:
        return existing
    a = {(t.a, t.b): t.kind for t in sparsity_of(existing).ties}
    b = {(t.a, t.b): t.kind for t in sparsity_of(new).ties}
    kept = {
        Tie(p[0], p[1], "K" if a[p] == "K" and b[p] == "K" else "D") for p in a.keys() & b.keys()
    }
    return code_of(frozenset(kept), structural=False)


# ---------------------------------------------------------------------------------------------
# Paper-compatible overrides (section 8), as data
# ---------------------------------------------------------------------------------------------

_COST_OVERRIDES: dict[tuple[int, int], str] = {
    (-10, -10): "0",
    (-10, 10): "0",
    (10, -10): "0",
    (-10, -9): "T1*T2",
    (-10, -8): "T1*T2",
    (10, -9): "T1*T2",
    (10, -8): "T1*T2",
    (-4, -9): "T1",
    (-4, 9): "T1*T2",
    (4, -9): "T1*T2",
    (4, 9): "T1*T2",
    (-3, -10): "T2*S1*S2",
    (-3, 7): "T1*T2*S1*S2",
    (3, 7): "T1*T2*S1*S2",
    (2, -5): "T1*T2*V2*S1*S2",
    (8, -5): "T1*T2*S2",
    (9, -5): "T1*T2*S1",
}

_RESULT_OVERRIDES: dict[tuple[int, int], int] = {
    (-10, -7): -6,
    (-10, -6): -7,
    (-9, -8): 7,
    (-9, 2): 5,
    (-9, 3): 4,
    (-9, 4): 3,
    (-9, 5): 2,
    (-9, 8): -9,
    (-9, 9): 6,
    (-8, -9): -9,
    (-8, 9): 7,
    (2, -4): 4,
    (3, -4): 1,
    (8, -9): 7,
    (8, -4): -4,
    (8, 9): 9,
    (9, -9): -9,
    (9, -8): 9,
    (9, 2): 5,
    (9, 3): 4,
    (9, 4): 3,
    (9, 5): 2,
    (9, 8): 7,
    (10, -7): -7,
    (10, -6): -6,
}

_MERGE_OVERRIDES: dict[tuple[int, int], int] = {
    (-10, -9): 7,
    (-9, -10): 7,
    (-10, -7): 7,
    (-7, -10): 7,
    (-10, -5): 5,
    (-5, -10): 5,
    (-10, -4): 4,
    (-4, -10): 4,
    (-10, 9): 7,
    (9, -10): 7,
    (-8, 10): 6,
    (10, -8): 6,
    (-6, 10): 6,
    (-3, 10): 3,
    (10, -3): 3,
    (-2, 10): 2,
    (10, -2): 2,
    (8, 10): 1,
    (10, 8): 6,
}


def _parse_cost(expr: str) -> tuple[int, tuple[int, ...]]:
    if expr == "0":
        return 0, _NO_EXP
    exps = [0] * 6
    for name in expr.split("*"):
        exps[INDEX_NAMES.index(name)] = 1
    return 1, tuple(exps)


def product_rule(tin: int, tout: int, model: CostModel = "exact") -> ProductResult:
    """Cost and result type of multiplying in-edge ``tin`` (r->v) by out-edge ``tout`` (v->t)."""
    check_model(model)
    if tin == 0 or tout == 0:
        raise ValueError("product_rule needs two existing edges (type 0 means no edge)")
    base = _consistent_product(tin, tout)
    if model == "exact":
        return base
    const, exps = base.const, base.exponents
    if (tin, tout) in _COST_OVERRIDES:
        const, exps = _parse_cost(_COST_OVERRIDES[(tin, tout)])
    return ProductResult(const, exps, _RESULT_OVERRIDES.get((tin, tout), base.result))


def merge_rule(existing: int, new: int, model: CostModel = "exact") -> int:
    """Type of an edge after accumulating a product of type ``new`` into ``existing``."""
    check_model(model)
    if model == "alphagrad" and (existing, new) in _MERGE_OVERRIDES:
        return _MERGE_OVERRIDES[(existing, new)]
    return _consistent_merge(existing, new)


def check_model(cost_model: object) -> CostModel:
    """Return ``cost_model`` if it names a cost model of :data:`MODELS`; else raise
    ``ValueError("unknown cost model ...")``. The one place that check is written."""
    if not isinstance(cost_model, str) or cost_model not in MODELS:
        raise ValueError(
            f"unknown cost model {cost_model!r}; cost_model must be one of "
            f"{', '.join(map(repr, MODELS))}"
        )
    return cost_model  # type: ignore[return-value]


def cost_model_arg(cost_model: object, legacy: object = None, legacy_name: str = "model") -> CostModel:
    """Resolve a ``cost_model`` argument that may also arrive under a deprecated keyword.

    ``legacy`` is the value passed under the old name (``model=`` or ``rules=``), ``None`` when
    not given; it wins with a ``DeprecationWarning``. The result is checked by
    :func:`check_model`.
    """
    if legacy is not None:
        import warnings

        warnings.warn(
            f"the keyword {legacy_name}= is deprecated; use cost_model=", DeprecationWarning,
            stacklevel=3,
        )
        cost_model = legacy
    return check_model(cost_model)




# ---------------------------------------------------------------------------------------------
# Derived lookup tables (index = code + 10)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tables:
    """Lookup tables of one cost model, indexed by ``code + 10``.

    * ``mul_const[i, j]`` (int32, 22x22): 0 or 1, the constant factor of a product's cost.
    * ``mul_exp[i, j, k]`` (int32, 22x22x6): exponent (0/1) of index k of (T1,T2,V1,V2,S1,S2).
    * ``mul_type[i, j]`` (int32): result code of the product in-edge i, out-edge j.
    * ``merge_type[i, j]`` (int32): result code of merging new j into existing i.
    """

    model: str
    mul_const: np.ndarray
    mul_exp: np.ndarray
    mul_type: np.ndarray
    merge_type: np.ndarray


@cache
def tables(model: CostModel = "exact") -> Tables:
    """The lookup tables of ``model``, derived from the rules (cached, read-only arrays)."""
    check_model(model)
    n = NUM_CODES
    mul_const = np.zeros((n, n), np.int32)
    mul_exp = np.zeros((n, n, 6), np.int32)
    mul_type = np.zeros((n, n), np.int32)
    merge_type = np.zeros((n, n), np.int32)
    for i, a in enumerate(CODES):
        for j, b in enumerate(CODES):
            merge_type[i, j] = merge_rule(a, b, model)
            if a == 0 or b == 0:
                continue
            pr = product_rule(a, b, model)
            mul_const[i, j] = pr.const
            mul_exp[i, j] = pr.exponents
            mul_type[i, j] = pr.result
    for arr in (mul_const, mul_exp, mul_type, merge_type):
        arr.setflags(write=False)
    return Tables(model, mul_const, mul_exp, mul_type, merge_type)


def markowitz_out_weight(code: int, record: tuple[int, int, int, int]) -> int:
    """w_out of an out-edge v->t with record (o = shape of t, p = shape of v)."""
    o1, o2, p1, p2 = record
    if code == 1:
        return p1 * p2
    return _markowitz_common(code, o1, o2)


def markowitz_in_weight(code: int, record: tuple[int, int, int, int]) -> int:
    """w_in of an in-edge r->v with record (o = shape of v, p = shape of r)."""
    o1, o2, _, _ = record
    if code == 1:
        return o1 * o2
    return _markowitz_common(code, o1, o2)


def _markowitz_common(code: int, o1: int, o2: int) -> int:
    if code in (6, 7, 8):
        return 1
    if code in (3, 4, -1):
        return o1
    return o2
