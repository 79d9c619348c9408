"""Primitive -> edge-type rules of the tracer (``docs/graph_extraction.md`` sections 4 and 7).

A rule looks at one (inlined) jaxpr equation and returns, for every output variable of the
equation and every operand, the sparsity type code of the edge operand -> output, or ``None``
for "no edge". The tracer (:mod:`crosscountry_gym.tracer.trace`) decides which operands can
carry an edge at all (inexact dtype, not a literal, not a constant); rules only see those as
``active``.

Two rule sets exist:

* ``"exact"`` (default): types that describe the true local partial honestly. A tie is claimed
  only where the partial really is diagonal, and a Kronecker (K, constant) tie only where the
  partial really is constant along that diagonal, because the executor stores a K-tied edge
  without an axis for that tie (a false K claim would give a wrong Jacobian). Where the paper's
  typing is honest it is kept unchanged, so all-scalar graphs and most tensor graphs come out
  as in the paper. The defects of ``docs/graph_extraction.md`` section 7 are fixed: matrix (.)
  scalar is 10; reduce_max/min take their type from the reduced axis; concatenate operands record their
  own shapes; unary records are (out, in); a replicating ``broadcast_in_dim`` is a valued edge
  (K ties for the kept dimensions, dense along the replicated ones) instead of a free -7.
* ``"alphagrad"``: the original extractor's typing, defects included (matrix (.) scalar -8,
  reduce_max/min always 2, concatenate with the first operand's shape, broadcast -6/-7,
  transpose by 2-D shape, dot_general by the paper's table, ``eq`` as a binary op,
  ``custom_jvp_call`` as one unary vertex). It exists to compare traced graphs with the frozen
  paper graphs; its graphs are not meant for the executor.

Shapes: every variable has a true shape and a 2-D shape (``docs/graph_extraction.md``
section 3: one element -> (1, 1); (n,) -> (n, 1); (m, n) -> (m, n); rank > 2 by
:func:`shape2`, which keeps the flat order).

Primitives without a structural rule that JAX can differentiate get :func:`dense_rule`: every
float operand -> float result edge is dense (type 1), and the executor computes its values with
JAX's own derivative of the primitive (``docs/tracer.md``, "Dense vertices").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

from ..sparsity import CostModel, Tie, code_of
from .jax_internals import source_line

__all__ = [
    "UnsupportedPrimitiveError",
    "RuleInput",
    "RuleModel",
    "shape2",
    "dim_positions",
    "rule_for",
    "RULES",
    "UNARY",
    "ZERO_DERIVATIVE",
    "INLINED",
    "REFUSED",
    "CUSTOM_CALLS",
    "dense_rule",
]

RuleModel = CostModel
"""The rule set a rule sees (``RuleInput.model``): the cost model the graph is traced for."""
Shape = tuple[int, ...]
Shape2 = tuple[int, int]
# A rule's answer for one (output, operand) pair: a type code, None (no edge), or
# (type code, recorded in-shape) where a rule must record a shape other than the operand's own
# (only the paper's concatenate defect does).
EdgeSpec = int | None | tuple[int, Shape2]


class UnsupportedPrimitiveError(ValueError):
    """The traced function uses something the graph model cannot represent.

    ``primitive`` is the primitive's name (None when the problem is not one equation, e.g. a
    rank-3 input) and ``eqn`` the offending equation (printed on the lines after the first).
    ``source_line`` is the user's line that created the equation, where JAX recorded it (it
    ends the first line of the message).
    """

    def __init__(self, message: str, primitive: str | None = None, eqn: Any = None):
        self.primitive = primitive
        self.eqn = eqn
        self.source_line = source_line(eqn)
        if self.source_line is not None:
            message = f"{message} (at {self.source_line})"
        if eqn is not None:
            text = str(eqn).strip()
            if len(text) > 2000:
                text = text[:2000] + " ..."
            message = f"{message}\n  in equation: {text}"
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


def _big_dims(shape: Shape) -> list[int]:
    return [d for d in range(len(shape)) if shape[d] != 1]


def shape2(shape: Sequence[int], what: str = "variable") -> Shape2:
    """The 2-D shape (``docs/graph_extraction.md`` section 3; rank > 2 in ``docs/tracer.md``).

    One element gives (1, 1), ``(n,)`` gives ``(n, 1)``, ``(m, n)`` stays. A rank > 2 shape drops
    its size-1 dimensions first; if one or two dimensions remain they are read as above, else
    the leading dimensions are grouped: ``(a, b, c)`` -> ``(a * b, c)``. Every case keeps the
    row-major flat order, so a 2-D record indexes the same elements as the true shape. Raises
    ValueError for a zero-size shape (its Jacobian blocks are empty: nothing to eliminate).
    """
    shape = tuple(int(d) for d in shape)
    if prod(shape) == 0:
        raise ValueError(
            f"{what} has zero-size shape {shape}: its Jacobian is empty; leave it out of the "
            "differentiated arguments or the outputs"
        )
    if prod(shape) == 1:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    if len(shape) == 2:
        return (shape[0], shape[1])
    big = [shape[d] for d in _big_dims(shape)]
    if len(big) == 1:
        return (big[0], 1)
    return (prod(big[:-1]), big[-1])


def dim_positions(shape: Sequence[int]) -> tuple[int | None, ...]:
    """For each true dimension, its 2-D index position (1 = first, 2 = second), or None.

    Rank 1 is a column, so its dimension is position 1. In a rank > 2 shape, size-1 dimensions
    have no position; if at most two dimensions are bigger, they take positions 1 and 2 as in
    :func:`shape2`. If more than two are, the grouped position 1 mixes several true dimensions
    and no dimension gets a position: rules then claim no tie on them, which is dense and
    always sound (a dropped tie only stores the zeros explicitly).
    """
    shape = tuple(shape)
    if len(shape) <= 2:
        return tuple(range(1, len(shape) + 1))
    big = _big_dims(shape)
    if len(big) > 2:
        return (None,) * len(shape)
    pos = dict(zip(big, (1, 2), strict=False))
    return tuple(pos.get(d) for d in range(len(shape)))


def _tie_code(
    out_shape: Shape, in_shape: Shape, pairs: Sequence[tuple[int, int, str]], structural=False
) -> int:
    """Type code of the tie set given as (output dim, operand dim, "D"|"K") triples."""
    opos, ipos = dim_positions(out_shape), dim_positions(in_shape)
    ties = set()
    for od, idim, kind in pairs:
        a, b = opos[od], ipos[idim]
        if a is None or b is None:
            continue
        ties.add(Tie(a, b + 2, kind))
    return code_of(frozenset(ties), structural=structural)


# ---------------------------------------------------------------------------------------------
# Rule input
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    """What a rule sees of one equation.

    Attributes:
        name: primitive name.
        params: the equation's parameters.
        in_shapes / out_shapes: true shapes of the operands / output variables.
        active: per operand, whether it can carry an edge (rules return None for the others).
        literal: per operand, whether it is a jaxpr literal (counts as (1, 1) for the paper).
        model: "exact" or "alphagrad".
        eqn: the equation itself (for error messages).
    """

    name: str
    params: Mapping[str, Any]
    in_shapes: tuple[Shape, ...]
    out_shapes: tuple[Shape, ...]
    active: tuple[bool, ...]
    literal: tuple[bool, ...]
    model: RuleModel
    eqn: Any = None

    def in2(self, j: int) -> Shape2:
        return (1, 1) if self.literal[j] else shape2(self.in_shapes[j])

    @property
    def out2(self) -> Shape2:
        return shape2(self.out_shapes[0])

    def fail(self, why: str) -> UnsupportedPrimitiveError:
        return UnsupportedPrimitiveError(
            f"primitive {self.name!r}: {why}", primitive=self.name, eqn=self.eqn
        )


Rule = Callable[[RuleInput], list[list[EdgeSpec]]]


def equation_key(eqn: Any) -> tuple:
    """A hashable key of an equation's primitive, operand types and parameters (by identity:
    the copies of one equation in an unrolled loop share their parameter objects). A cache
    that uses it must keep the parameters alive so that their ids are not reused."""
    return (
        eqn.primitive.name,
        tuple(str(v.aval) for v in eqn.invars),
        tuple(sorted((k, id(v)) for k, v in eqn.params.items())),
    )


def _single(ri: RuleInput, types: Sequence[EdgeSpec]) -> list[list[EdgeSpec]]:
    """One output; ``types[j]`` for operand j, masked by ``active``."""
    return [[t if ri.active[j] else None for j, t in enumerate(types)]]


# ---------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------

UNARY = frozenset(
    """neg abs exp exp2 log log1p expm1 sin cos tan asin acos atan sinh cosh tanh asinh acosh
    atanh sqrt rsqrt cbrt logistic erf erfc erf_inv lgamma digamma square integer_pow""".split()
)
"""Elementwise one-operand primitives with a varying derivative: type 1 on (1,1), else 6."""


def _unary(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _single(ri, [1 if ri.in2(0) == (1, 1) else 6])


def _binary_table(this: Shape2, out: Shape2, other: Shape2, *, fix_matrix_scalar: bool) -> int:
    """The paper's binary-operand table (``docs/graph_extraction.md`` section 4), 2-D shapes.

    ``fix_matrix_scalar`` applies defect fix 1 (matrix operand, scalar partner -> 10).
    """
    if this == (1, 1):
        return 1
    other_scalar = other == (1, 1)
    if this[1] == 1:  # column (n, 1)
        return (-2 if other_scalar else 2) if out[1] == 1 else 2
    if this[0] == 1:  # row (1, n)
        return (-3 if other_scalar else 3) if out[0] == 1 else 3
    if other_scalar:
        return 10 if fix_matrix_scalar else -8
    if other[0] == 1:  # partner is a row (1, n): broadcast along the first index
        return 8
    if other[1] == 1:  # partner is a column (n, 1)
        return -8
    return 6


# Binary primitives whose partial with respect to operand j is (a function of the other
# operand only) times the identity: a K tie is honest wherever the partner is broadcast.
_LINEAR_OPERANDS = {"add": (0, 1), "sub": (0, 1), "mul": (0, 1), "add_any": (0, 1), "div": (0,)}
_BINARY_VARYING = frozenset({"div", "pow", "atan2", "max", "min", "rem"})
BINARY = frozenset(_LINEAR_OPERANDS) | _BINARY_VARYING
_PAPER_BINARY = frozenset(
    {"add", "sub", "mul", "div", "pow", "atan2", "add_any", "eq", "max", "min"}
)


def _binary(ri: RuleInput) -> list[list[EdgeSpec]]:
    if len(ri.in_shapes) != 2:
        raise ri.fail(f"expected 2 operands, got {len(ri.in_shapes)}")
    out = ri.out2
    types: list[EdgeSpec] = []
    for j in (0, 1):
        if not ri.active[j]:
            types.append(None)
            continue
        this, other = ri.in2(j), ri.in2(1 - j)
        if ri.model == "exact" and _broadcasts_high_rank(ri, j):
            types.append(_implicit_broadcast_type(ri, j))
            continue
        if ri.model == "alphagrad":
            types.append(_binary_table(this, out, other, fix_matrix_scalar=False))
        elif j in _LINEAR_OPERANDS.get(ri.name, ()) and not _broadcasts_high_rank(ri, 1 - j):
            types.append(_binary_table(this, out, other, fix_matrix_scalar=True))
        else:
            # the partial varies with this operand too: never a K tie
            types.append(_binary_table(this, out, out, fix_matrix_scalar=True))
    return [types]


def _broadcasts_high_rank(ri: RuleInput, j: int) -> bool:
    """Operand j of a rank > 2 elementwise op is implicitly broadcast along size-1 dims.

    The 2-D grouping of :func:`shape2` does not line up a broadcast operand with the result
    (a (1, 1, 4) partner of a (2, 3, 4) result is (4, 1) in 2-D), so the 2-D binary table is
    not used for it; :func:`_implicit_broadcast_type` reads the ties off the true dims.
    """
    out = ri.out_shapes[0]
    return len(out) > 2 and not ri.literal[j] and ri.in2(j) != (1, 1) and ri.in_shapes[j] != out


def _implicit_broadcast_type(ri: RuleInput, j: int) -> int:
    """D ties on the dims operand j shares with the result; dense along the broadcast ones."""
    ins, out = ri.in_shapes[j], ri.out_shapes[0]
    pairs = [(d, d, "D") for d in range(len(out)) if ins[d] == out[d] and out[d] != 1]
    return _tie_code(out, ins, pairs)


def _elementwise_varying(ri: RuleInput, skip: Sequence[int] = ()) -> list[list[EdgeSpec]]:
    """n-ary elementwise op whose partials are varying masks (select_n cases, clamp)."""
    out = ri.out2
    types: list[EdgeSpec] = []
    for j in range(len(ri.in_shapes)):
        if j in skip or not ri.active[j]:
            types.append(None)
        elif ri.model == "exact" and _broadcasts_high_rank(ri, j):
            types.append(_implicit_broadcast_type(ri, j))
        else:
            types.append(_binary_table(ri.in2(j), out, out, fix_matrix_scalar=True))
    return [types]


def _select_n(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _elementwise_varying(ri, skip=(0,))  # operand 0 is the predicate: no derivative


def _clamp(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _elementwise_varying(ri)


def _copy(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _single(ri, [-1])


ZERO_DERIVATIVE = frozenset(
    """stop_gradient sign floor ceil round is_finite eq ne lt le gt ge and or not xor iota
    argmax argmin shift_left shift_right_logical shift_right_arithmetic population_count clz
    random_bits random_seed random_wrap random_unwrap""".split()
)
"""Primitives whose derivative is zero (or that have no float operand): a vertex, no in-edge."""


def _zero(ri: RuleInput) -> list[list[EdgeSpec]]:
    if ri.model == "alphagrad" and ri.name == "eq":
        return _binary(ri)  # the paper typed eq as an ordinary binary op
    return [[None] * len(ri.in_shapes) for _ in ri.out_shapes]


# ---------------------------------------------------------------------------------------------
# Reductions and contractions
# ---------------------------------------------------------------------------------------------


def _kept_pairs(in_shape: Shape, axes: Sequence[int], kind: str) -> list[tuple[int, int, str]]:
    kept = [d for d in range(len(in_shape)) if d not in set(axes)]
    return [(k, d, kind) for k, d in enumerate(kept)]


def _reduce(ri: RuleInput, kind: str) -> list[list[EdgeSpec]]:
    """reduce_sum (K ties on the kept dims: the partial is 1) and reduce_max/min/prod (D)."""
    if not ri.active[0]:
        return [[None]]
    axes = tuple(int(a) for a in ri.params["axes"])
    ins = ri.in_shapes[0]
    if ri.model == "alphagrad":
        t = _paper_reduce(ri.name, ins, ri.out_shapes[0], axes)
        if t is not None:
            return [[t]]
    return [[_tie_code(ri.out_shapes[0], ins, _kept_pairs(ins, axes, kind))]]


def _paper_reduce(name: str, ins: Shape, outs: Shape, axes: Sequence[int]) -> int | None:
    """The original's reduction table; None where it has no entry (then the exact rule)."""
    if len(ins) != 2:
        return 1
    if len(outs) == 0:
        return 1
    if len(outs) == 1:
        if name == "reduce_sum":
            return -4 if min(axes) == 0 else -2
        return 2  # defect 2: whatever the axis
    if outs[0] == 1 and outs[1] > 1:
        return -3 if name == "reduce_sum" else 3
    return None


def _reduce_sum(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _reduce(ri, "K")


def _reduce_varying(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _reduce(ri, "D")


def _dot_general(ri: RuleInput) -> list[list[EdgeSpec]]:
    (lc, rc), (lb, rb) = ri.params["dimension_numbers"]
    lc, rc, lb, rb = (tuple(int(d) for d in x) for x in (lc, rc, lb, rb))
    ls, rs = ri.in_shapes
    out = ri.out_shapes[0]
    if ri.model == "alphagrad":
        return _single(ri, _paper_dot_general(ls, rs, lc, rc))
    # output dims: batch..., lhs free..., rhs free...
    lfree = [d for d in range(len(ls)) if d not in lc and d not in lb]
    rfree = [d for d in range(len(rs)) if d not in rc and d not in rb]
    nb = len(lb)
    lpairs = [(k, d, "D") for k, d in enumerate(lb)]
    lpairs += [(nb + k, d, "K") for k, d in enumerate(lfree)]
    rpairs = [(k, d, "D") for k, d in enumerate(rb)]
    rpairs += [(nb + len(lfree) + k, d, "K") for k, d in enumerate(rfree)]
    return _single(ri, [_tie_code(out, ls, lpairs), _tie_code(out, rs, rpairs)])


def _paper_dot_general(ls: Shape, rs: Shape, lc: Shape, rc: Shape) -> tuple[int, int]:
    """The original's dot_general table (``docs/graph_extraction.md`` section 4); batch dims
    ignored."""
    ldim = lc[0] if lc else None
    rdim = rc[0] if rc else None

    def kind(s: Shape) -> str:
        if len(s) <= 1:
            return "vec" if len(s) == 1 else "scalar"
        # (1, n) with n > 1 is a row; any other rank-2 shape, (1, 1) included, is a matrix
        # (this is how the original classified RandomFunction_f's (1,) . (1, 1) product)
        return "row" if s[0] == 1 and s[1] > 1 else "mat"

    lk, rk = kind(ls), kind(rs)
    if lk == "vec" and rk == "vec":
        return (1, 1)
    if lk == "vec" and rk == "row":
        if (ldim, rdim) == (0, 1):
            return (-3, -2)
        if (ldim, rdim) == (1, 0):
            return (-2, -3)
        return (1, 1)
    if lk == "vec" and rk == "mat":
        return (-4, -3)
    if lk in ("mat", "row") and rk == "vec":
        return (-2, 1)
    if lk in ("mat", "row") and rk in ("mat", "row"):
        return {(1, 0): (-2, -3), (1, 1): (-2, -5), (0, 0): (-4, -3), (0, 1): (-4, -5)}.get(
            (ldim, rdim), (1, 1)
        )
    return (1, 1)


# ---------------------------------------------------------------------------------------------
# Structural (data-movement) primitives
# ---------------------------------------------------------------------------------------------


def _identity_like(in_shape: Shape, out_shape: Shape) -> int | None:
    """-6 / -7 for a map that keeps the flat element order and only changes 2-D layout.

    Equal 2-D shapes: the identity (-6). A vector turned from column to row or back: the
    2-D transposition (-7), which on a vector is the flat-order identity. Else None.
    """
    i2, o2 = shape2(in_shape), shape2(out_shape)
    if i2 == o2:
        return -6
    if i2 == (o2[1], o2[0]) and 1 in i2:
        return -7
    return None


def _transpose(ri: RuleInput) -> list[list[EdgeSpec]]:
    perm = tuple(int(p) for p in ri.params["permutation"])
    if ri.model == "alphagrad":
        i2 = ri.in2(0)
        if i2 == (1, 1):
            t = 1
        elif i2[1] == 1:
            t = -4
        elif i2[0] == 1:
            t = -5
        else:
            t = -7
        return _single(ri, [t])
    if perm == tuple(range(len(perm))):
        return _single(ri, [-6])
    if perm == (1, 0):
        return _single(ri, [-7])
    ins = ri.in_shapes[0]
    moved = [d for d in perm if ins[d] != 1]
    if moved == sorted(moved):  # only size-1 axes move: the flat order is kept
        t = _identity_like(ins, ri.out_shapes[0])
        if t is not None:
            return _single(ri, [t])
    return _single(ri, [11])  # a general permutation is data movement: an index map


def _broadcast_in_dim(ri: RuleInput) -> list[list[EdgeSpec]]:
    ins, outs = ri.in_shapes[0], ri.out_shapes[0]
    if ri.model == "alphagrad":
        extra = [None] * (len(ri.in_shapes) - 1)
        return _single(ri, [-6 if ri.in2(0) == ri.out2 else -7, *extra])
    dims = tuple(int(d) for d in ri.params["broadcast_dimensions"])
    extra = [None] * (len(ri.in_shapes) - 1)  # dynamic-shape operands: none in practice
    if prod(ins) == prod(outs):  # no replication: only size-1 dims added
        t = _identity_like(ins, outs)
        if t is not None:
            return _single(ri, [t, *extra])
    # replication: the partial is a 0/1 tensor, K-tied along the dims that are kept
    pairs = [(dims[d], d, "K") for d in range(len(ins)) if ins[d] == outs[dims[d]]]
    return _single(ri, [_tie_code(outs, ins, pairs), *extra])


def _reshape_like(ri: RuleInput) -> list[list[EdgeSpec]]:
    """squeeze / reshape / expand_dims: -6 or -7 if the 2-D layout allows, else 11."""
    ins, outs = ri.in_shapes[0], ri.out_shapes[0]
    extra = [None] * (len(ri.in_shapes) - 1)
    if ri.model == "alphagrad":
        if ri.name == "reshape":
            return _single(ri, [11, *extra])
        return _single(ri, [-6 if ri.in2(0) == ri.out2 else -7, *extra])
    if ri.name == "reshape" and ri.params.get("dimensions") not in (None, ()):
        return _single(ri, [11, *extra])
    t = _identity_like(ins, outs)
    return _single(ri, [11 if t is None else t, *extra])


def _selection(ri: RuleInput) -> list[list[EdgeSpec]]:
    """slice, dynamic_slice, dynamic_update_slice, pad, rev: a linear selection / embedding.

    Type 11 (products through it are free; the result is dense) with the operand's own shape;
    an identity slice or a reversal of size-1 dims is -6. Integer index operands are inactive.
    """
    types: list[EdgeSpec] = []
    for j in range(len(ri.in_shapes)):
        if not ri.active[j]:
            types.append(None)
        elif ri.model == "exact" and ri.in_shapes[j] == ri.out_shapes[0] and _is_identity(ri):
            types.append(-6)
        else:
            types.append(11)
    return [types]


def _is_identity(ri: RuleInput) -> bool:
    if ri.name == "slice":
        strides = ri.params.get("strides") or (1,) * len(ri.in_shapes[0])
        return all(s == 0 for s in ri.params["start_indices"]) and all(s == 1 for s in strides)
    if ri.name == "rev":
        return all(ri.in_shapes[0][d] == 1 for d in ri.params["dimensions"])
    if ri.name == "pad":
        return all(tuple(c) == (0, 0, 0) for c in ri.params["padding_config"])
    if ri.name == "dynamic_slice":
        return True  # output shape equals operand shape: the whole array is selected
    return False


def _concatenate(ri: RuleInput) -> list[list[EdgeSpec]]:
    if ri.model == "alphagrad":
        first = ri.in2(0)  # defect 3: every record carries the first operand's shape
        return _single(ri, [(11, first)] * len(ri.in_shapes))
    return _single(ri, [11] * len(ri.in_shapes))


def _split(ri: RuleInput) -> list[list[EdgeSpec]]:
    return [[11 if ri.active[0] else None] for _ in ri.out_shapes]


def _gather(ri: RuleInput) -> list[list[EdgeSpec]]:
    """gather: each result element copies one operand element (or a fill value): type 11.

    The index operand is an integer (no edge); the executor finds the selection by gathering
    from an integer ``iota`` (:mod:`crosscountry_gym.executor.partials`)."""
    return _single(ri, [11, None])


def _scatter(ri: RuleInput) -> list[list[EdgeSpec]]:
    """scatter (set): the result copies either an operand element or one update element: both
    partials are 0/1 selections (type 11). Operands: (operand, indices, updates)."""
    return _single(ri, [11, None, 11])


def _scatter_add(ri: RuleInput) -> list[list[EdgeSpec]]:
    """scatter-add: the operand passes through unchanged (identity, -6); an update element is
    added to one result element, but several updates may land on one element, so the partial
    with respect to the updates is not a selection in gather form: dense (type 1)."""
    return _single(ri, [-6, None, 1])


def _cumulative(ri: RuleInput, kind: str) -> list[list[EdgeSpec]]:
    """cumsum (K ties on the other axes: the partial is a 0/1 triangle) and cumprod / cummax /
    cummin / cumlogsumexp (D ties: the triangle's values vary); dense along ``axis``."""
    if not ri.active[0]:
        return [[None]]
    ins = ri.in_shapes[0]
    axis = int(ri.params["axis"])
    pairs = [(d, d, kind) for d in range(len(ins)) if d != axis]
    return [[_tie_code(ri.out_shapes[0], ins, pairs)]]


def _cumsum(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _cumulative(ri, "K")


def _cumulative_varying(ri: RuleInput) -> list[list[EdgeSpec]]:
    return _cumulative(ri, "D")


def _sort(ri: RuleInput) -> list[list[EdgeSpec]]:
    """sort: result k is operand k permuted (the permutation is piecewise constant in the keys,
    so result k depends on operand k only): type 11, a permutation found at run time."""
    n = len(ri.in_shapes)
    return [[11 if (j == k and ri.active[j]) else None for j in range(n)] for k in range(n)]


def _top_k(ri: RuleInput) -> list[list[EdgeSpec]]:
    """top_k: the values select operand elements along the last axis (type 11); the indices
    are integers (no edge)."""
    return [[11 if ri.active[0] else None], [None]]


def dense_rule(ri: RuleInput) -> list[list[EdgeSpec]]:
    """Any differentiable primitive without a structural rule: every float operand -> result
    edge is dense (type 1; ``docs/tracer.md``, "Dense vertices"). The tracer checks first that
    JAX can differentiate the primitive; the executor takes the values from JAX's derivative."""
    n = len(ri.in_shapes)
    return [[1 if ri.active[j] else None for j in range(n)] for _ in ri.out_shapes]


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------

INLINED = frozenset(
    {
        "pjit",
        "jit",
        "closed_call",
        "core_call",
        "remat",
        "remat2",
        "checkpoint",
        "custom_jvp_call",
        "custom_vjp_call",
        "custom_vjp_call_jaxpr",
        "custom_lin",
    }
)
"""Call-like primitives whose body the tracer inlines (``docs/graph_extraction.md`` section 8),
except the :data:`CUSTOM_CALLS` in the exact model."""

CUSTOM_CALLS = frozenset({"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"})
"""Calls with a custom derivative rule. In the exact model each stays one equation (one vertex
per result) whose edge types come from the rule itself (:mod:`crosscountry_gym.tracer.custom`),
so the executor's derivative is the rule's, as ``jax.jacrev``'s is."""

CONTROL_FLOW = frozenset({"scan", "cond"})
"""Unrolled by the flattening step: ``scan`` (and ``fori_loop`` with static bounds, which JAX
lowers to it) up to :data:`MAX_UNROLLED_EQUATIONS`; ``cond`` / ``switch`` as a ``select_n`` of
every branch."""

MAX_UNROLLED_EQUATIONS = 50_000
"""Largest number of equations a ``scan`` may unroll to (trip count x body size)."""

REFUSED: dict[str, str] = {
    "while": "a while_loop has no static trip count, so it cannot be unrolled into a static "
    "elimination graph; use lax.fori_loop with static bounds or lax.scan",
    **dict.fromkeys(
        ["debug_callback", "pure_callback", "io_callback", "debug_print"],
        "callbacks and side effects cannot be traced into a graph",
    ),
}
"""Primitives refused with a reason. Control flow (``scan``, ``cond``) is unrolled by the
flattening step before rules are looked up; any other primitive without a rule in
:data:`RULES` gets :func:`dense_rule` if JAX can differentiate it, and is refused otherwise."""

RULES: dict[str, Rule] = {
    **dict.fromkeys(UNARY, _unary),
    **dict.fromkeys(BINARY, _binary),
    **dict.fromkeys(ZERO_DERIVATIVE, _zero),
    "select_n": _select_n,
    "clamp": _clamp,
    "convert_element_type": _copy,
    "copy": _copy,
    "copy_p": _copy,
    "reduce_precision": _copy,
    "reduce_sum": _reduce_sum,
    "reduce_max": _reduce_varying,
    "reduce_min": _reduce_varying,
    "reduce_prod": _reduce_varying,
    "dot_general": _dot_general,
    "transpose": _transpose,
    "broadcast_in_dim": _broadcast_in_dim,
    "squeeze": _reshape_like,
    "reshape": _reshape_like,
    "expand_dims": _reshape_like,
    "slice": _selection,
    "dynamic_slice": _selection,
    "dynamic_update_slice": _selection,
    "pad": _selection,
    "rev": _selection,
    "concatenate": _concatenate,
    "stack": _concatenate,  # jnp.stack's own primitive since jax 0.10: a concatenate of new axes
    "split": _split,
    "gather": _gather,
    "scatter": _scatter,
    "scatter-add": _scatter_add,
    "scatter_add": _scatter_add,
    "cumsum": _cumsum,
    "cumprod": _cumulative_varying,
    "cummax": _cumulative_varying,
    "cummin": _cumulative_varying,
    "cumlogsumexp": _cumulative_varying,
    "sort": _sort,
    "top_k": _top_k,
    # the paper's extractor typed custom_jvp_call as one unary vertex (alphagrad mode only;
    # the exact mode inlines it)
    "custom_jvp_call": _unary,
}


def rule_for(name: str, model: RuleModel, eqn: Any = None) -> Rule:
    """The rule of primitive ``name``: its entry in :data:`RULES`, else :func:`dense_rule`
    (the tracer then checks that JAX can differentiate it). Raises
    :class:`UnsupportedPrimitiveError` for the :data:`REFUSED` primitives."""
    if name in REFUSED:
        raise UnsupportedPrimitiveError(
            f"unsupported primitive {name!r}: {REFUSED[name]}", primitive=name, eqn=eqn
        )
    return RULES.get(name, dense_rule)
