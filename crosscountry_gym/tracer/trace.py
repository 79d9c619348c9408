"""JAX function -> elimination graph (``docs/graph_extraction.md``; behaviour in ``docs/tracer.md``).

Public entry points::

    make_graph(f, *args, argnums=None, cost_model="exact") -> Graph
    trace(f, *args, argnums=None, cost_model="exact") -> Trace  # graph + what the executor needs

:func:`trace` runs four steps, each one function below:

1. **Flattened jaxpr** (:func:`_flat_jaxpr`). ``jax.make_jaxpr`` traces ``f`` on the example
   arguments (only shapes and dtypes matter). Positional arguments may be pytrees; their leaves,
   in ``jax.tree_util`` order, are the jaxpr inputs. The jaxpr is then **flattened**
   (:func:`flatten_jaxpr`): nested ``jit``/``pjit``, ``closed_call`` and ``remat`` are inlined
   recursively and ``scan`` / ``cond`` unrolled, by re-tracing an evaluator of the jaxpr under
   ``jax.make_jaxpr`` that binds every primitive except the call-like ones, whose bodies it
   evaluates instead. Custom-derivative calls stay whole in the exact model (their edge types
   come from their rule: :mod:`crosscountry_gym.tracer.custom`).
2. **Inputs** (:func:`_inputs`). ``argnums`` (int or tuple; default: all positional arguments)
   selects the differentiated arguments: each float leaf of those is an *input* (source rows
   1..n, in leaf order). Leaves of the other arguments are constants.
3. **Vertices and edges, one equation at a time** (:func:`_vertices_of`). One vertex per output
   variable of every flattened equation, numbered consecutively (1-based) in equation order
   (with one output per equation, vertex k is equation k). The equation's primitive rule
   (:mod:`crosscountry_gym.tracer.rules`) gives the edge type of every operand
   (:func:`_edge_types`); literals, closed-over arrays (constvars), leaves of non-differentiated
   arguments and non-float operands or results get no edge (:func:`_in_edges`). Constness is not
   propagated (``docs/graph_extraction.md`` section 5): an equation computed from constants only
   is still a vertex (with no in-edges; it costs 0 to eliminate). If one equation uses the same
   variable twice (``mul x x``) there is one edge, whose type is the consistent merge of the two
   operand types (for a vector ``mul x x``: 2 and 2 give 2).
4. **Outputs** (:func:`_outputs`). The vertices of the flattened output variables, in output
   order. An output that is also an operand of a later equation gets a trailing ``copy``
   equation during flattening (``docs/graph_extraction.md`` section 2, step 6): the copy is a new
   vertex (id after all equation vertices), reached by a free ``-1`` copy edge, and is the
   output. An output that is an input, a literal or a constant is not a vertex:
   :attr:`Trace.output_rows` gives its input row (or None) and the graph's outputs do not include
   it. The same vertex returned twice is one graph output.

Two rule sets, chosen by ``cost_model``: ``"exact"`` (default; the defects of
``docs/graph_extraction.md`` section 7 fixed, honest types that the executor can rely on) and
``"alphagrad"`` (the original extractor's typing, to compare with the frozen paper graphs).
``rules=`` is the deprecated name of ``cost_model=``.

A primitive without a structural rule becomes a dense vertex if JAX can differentiate it.
What cannot be represented (``while_loop``, callbacks, a primitive JAX cannot differentiate,
complex numbers, a ``scan`` past the unroll limit) raises :class:`UnsupportedPrimitiveError`
naming the primitive and the user's source line (``docs/tracer.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.extend.core as jcore
import jax.numpy as jnp
import numpy as np

from ..graph import Graph
from ..sparsity import DEFAULT_MODEL, CostModel, cost_model_arg, merge_rule
from .custom import custom_call_types
from .jax_internals import user_context
from .rules import (
    CUSTOM_CALLS,
    INLINED,
    MAX_UNROLLED_EQUATIONS,
    EdgeSpec,
    RuleInput,
    UnsupportedPrimitiveError,
    dense_rule,
    equation_key,
    rule_for,
    shape2,
)

__all__ = [
    "UnsupportedPrimitiveError",
    "Operand",
    "VertexEqn",
    "Trace",
    "trace",
    "make_graph",
    "flatten_jaxpr",
    "normalize_argnums",
    "bind_eqn",
]


@dataclass(frozen=True)
class Operand:
    """One operand of a vertex's equation.

    ``var`` is the jaxpr Var (or Literal) after inlining; ``row`` the source row of the edge it
    creates (1..num_inputs for an input, num_inputs + k for vertex k), or None when it creates
    no edge (literal, constant, non-differentiated input, integer operand, zero derivative).
    """

    var: Any
    row: int | None


@dataclass(frozen=True)
class VertexEqn:
    """Vertex ``vertex`` (1-based) = output ``outvar_index`` of equation ``eqn``.

    ``shape`` is the variable's true shape, ``shape2`` its 2-D shape used in edge records.
    ``operands`` has one entry per ``eqn.invars`` (same order); the edge of operand j exists
    iff ``operands[j].row is not None``. When two operands share a row (``mul x x``) there is
    one edge and the executor sums the two partials.
    """

    vertex: int
    eqn: Any
    outvar_index: int
    operands: tuple[Operand, ...]
    shape: tuple[int, ...]
    shape2: tuple[int, int]

    @property
    def var(self) -> Any:
        """The jaxpr variable of this vertex."""
        return self.eqn.outvars[self.outvar_index]

    @property
    def primitive(self) -> str:
        return self.eqn.primitive.name


@dataclass(frozen=True)
class Trace:
    """Everything the tracer knows about one function at one set of argument shapes.

    Attributes:
        graph: the elimination graph.
        vertices: ``vertices[k-1]`` is vertex k, in evaluation order.
        eqns: the flattened (inlined) equations, in evaluation order; equals
            ``closed_jaxpr.jaxpr.eqns``. Every equation is here, including those that only
            touch constants; every equation output variable is a vertex.
        input_vars: jaxpr invars of the differentiated inputs; row i + 1 is ``input_vars[i]``.
        input_shapes: their true shapes.
        all_input_vars: every jaxpr invar (one per leaf of every positional argument).
        input_rows: per entry of ``all_input_vars``, its source row or None (not differentiated).
        const_env: constvar -> value for the closed-over arrays (``closed_jaxpr.consts``), which
            are fixed at trace time. Non-differentiated arguments are NOT here: their values
            come from the call-time arguments (they are jaxpr invars).
        output_vars: the flattened outputs (Var or Literal), in ``out_tree`` leaf order.
        output_rows: the source row of each output: its vertex's row, an input row if the
            output is a differentiated input, None for a literal or constant.
        in_tree / out_tree: pytree structures of the positional arguments (a tuple) and of the
            result.
        argnums: the differentiated positional arguments (sorted).
        closed_jaxpr: the flattened ``ClosedJaxpr``; ``jax.core.eval_jaxpr``-style evaluation
            with the flattened leaves of all positional arguments reproduces ``f``.
        cost_model: the rule set used ("exact" or "alphagrad").
    """

    graph: Graph
    vertices: tuple[VertexEqn, ...]
    eqns: tuple[Any, ...]
    input_vars: tuple[Any, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    all_input_vars: tuple[Any, ...]
    input_rows: tuple[int | None, ...]
    const_env: dict = field(repr=False)
    output_vars: tuple[Any, ...]
    output_rows: tuple[int | None, ...]
    in_tree: Any
    out_tree: Any
    argnums: tuple[int, ...]
    closed_jaxpr: Any = field(repr=False)
    cost_model: CostModel = DEFAULT_MODEL

    @property
    def rules(self) -> CostModel:
        """Deprecated name of :attr:`cost_model`."""
        return self.cost_model

    @property
    def num_inputs(self) -> int:
        return len(self.input_vars)

    def vertex_of(self, var: Any) -> int | None:
        """The vertex id of a jaxpr variable, or None if it is not a vertex."""
        for v in self.vertices:
            if v.var is var:
                return v.vertex
        return None


# ---------------------------------------------------------------------------------------------
# Arguments and equations (shared with the executor)
# ---------------------------------------------------------------------------------------------


def normalize_argnums(argnums: int | Sequence[int] | None, nargs: int) -> tuple[int, ...]:
    """``argnums`` as argument indices in ``0..nargs-1``, in the order given.

    ``None`` means every positional argument; otherwise an int or a sequence of ints as in JAX
    (negative entries count from the end). Raises ``ValueError`` for a bool, a non-integer
    entry, an entry out of range or a duplicate. The tracer sorts the result; the executor keeps
    the order, which decides the layout of ``jax.jacrev``'s result.
    """
    if argnums is None:
        return tuple(range(nargs))
    if isinstance(argnums, bool):
        raise ValueError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
    seq = (argnums,) if isinstance(argnums, int | np.integer) else argnums
    out = []
    for a in seq:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise ValueError(f"argnums entries must be ints, got {a!r}")
        a = int(a)
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums entry {a} out of range for {nargs} positional arguments")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"argnums has duplicate entries: {argnums!r}")
    if not out:
        raise ValueError("argnums is empty: name at least one argument to differentiate")
    return tuple(out)


def bind_eqn(eqn: Any, invals: Sequence[Any]) -> list[Any]:
    """Apply one jaxpr equation to values under its recorded context (as
    ``jax.core.eval_jaxpr`` does); always returns a list of results."""
    prim = eqn.primitive
    with eqn.ctx.manager:
        out = prim.bind(*invals, **prim.get_bind_params(eqn.params))
    return list(out) if prim.multiple_results else [out]


# ---------------------------------------------------------------------------------------------
# Flattening (inlining of call-like primitives)
# ---------------------------------------------------------------------------------------------


def _inner_jaxpr(eqn: Any) -> tuple[Any, Sequence[Any]] | None:
    """(jaxpr, consts) of a call-like equation's primal body, or None if it is not one."""
    name = eqn.primitive.name
    if name not in INLINED:
        return None
    p = eqn.params
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        if key in p:
            body = p[key]
            break
    else:
        raise UnsupportedPrimitiveError(
            f"call-like primitive {name!r} has no recognisable body parameter "
            f"(params: {sorted(p)})",
            primitive=name,
            eqn=eqn,
        )
    if isinstance(body, jcore.ClosedJaxpr):
        return body.jaxpr, body.consts
    if isinstance(body, jcore.Jaxpr):
        return body, ()
    raise UnsupportedPrimitiveError(
        f"call-like primitive {name!r}: body of type {type(body).__name__} is not a jaxpr",
        primitive=name,
        eqn=eqn,
    )


def _eval_inlined(
    jaxpr: Any,
    consts: Sequence[Any],
    args: Sequence[Any],
    keep: Callable[[Any], bool],
    used: set[int],
) -> list[Any]:
    """Evaluate ``jaxpr``, inlining call-like equations unless ``keep(eqn)``.

    Records ``id`` of every value used as an operand in ``used`` (to find outputs that later
    equations also use).
    """
    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, jcore.Literal) else env[v]

    for v, c in zip(jaxpr.constvars, consts, strict=True):
        env[v] = c
    for v, a in zip(jaxpr.invars, args, strict=True):
        env[v] = a
    for eqn in jaxpr.eqns:
        invals = [read(v) for v in eqn.invars]
        used.update(id(x) for x in invals)
        inner = None if keep(eqn) else _inner_jaxpr(eqn)
        if inner is not None:
            body, body_consts = inner
            if len(body.invars) != len(invals):
                raise UnsupportedPrimitiveError(
                    f"cannot inline {eqn.primitive.name!r}: its body takes "
                    f"{len(body.invars)} inputs but the equation has {len(invals)} operands",
                    primitive=eqn.primitive.name,
                    eqn=eqn,
                )
            outvals = _eval_inlined(body, body_consts, invals, keep, used)
        elif eqn.primitive.name == "scan":
            outvals = _unroll_scan(eqn, invals, keep, used)
        elif eqn.primitive.name == "cond":
            outvals = _select_branches(eqn, invals, keep, used)
        else:
            with user_context(eqn):
                outvals = bind_eqn(eqn, invals)
        for v, val in zip(eqn.outvars, outvals, strict=True):
            if not isinstance(v, jcore.DropVar):
                env[v] = val
    return [read(v) for v in jaxpr.outvars]


def _unroll_scan(eqn: Any, invals: list[Any], keep: Callable, used: set[int]) -> list[Any]:
    """``scan`` (and ``fori_loop`` with static bounds) as ``length`` copies of its body.

    Operands are ``consts, carry, xs``; results ``carry, ys``. Step i reads slice i of every
    ``xs`` (last first when ``reverse``) and the ``ys`` are stacked; both are data movement
    (type 11, free). Refused past :data:`~crosscountry_gym.tracer.rules.MAX_UNROLLED_EQUATIONS`.
    """
    p = eqn.params
    body = p["jaxpr"]
    length, nc, ncarry = int(p["length"]), int(p["num_consts"]), int(p["num_carry"])
    size = length * max(1, _count_eqns(body.jaxpr))
    if size > MAX_UNROLLED_EQUATIONS:
        raise UnsupportedPrimitiveError(
            f"scan of length {length} would unroll to about {size} equations, more than the "
            f"limit of {MAX_UNROLLED_EQUATIONS} (crosscountry_gym.tracer.rules."
            "MAX_UNROLLED_EQUATIONS); shorten the loop or differentiate it with jax.jacrev",
            primitive="scan",
            eqn=eqn,
        )
    consts, carry, xs = invals[:nc], list(invals[nc : nc + ncarry]), invals[nc + ncarry :]
    steps = range(length - 1, -1, -1) if p["reverse"] else range(length)
    ys_steps: list[list[Any]] = []
    for i in steps:
        x_i = [jax.lax.index_in_dim(x, i, keepdims=False) for x in xs]
        outs = _eval_inlined(body.jaxpr, body.consts, [*consts, *carry, *x_i], keep, used)
        carry, ys = list(outs[:ncarry]), outs[ncarry:]
        ys_steps.append(ys)
    if p["reverse"]:
        ys_steps.reverse()
    stacked = []
    for k, v in enumerate(body.jaxpr.outvars[ncarry:]):
        if length == 0:
            stacked.append(jnp.zeros((0, *v.aval.shape), v.aval.dtype))
        else:
            stacked.append(jnp.stack([s[k] for s in ys_steps]))
    return [*carry, *stacked]


def _count_eqns(jaxpr: Any) -> int:
    """Equations of a jaxpr, counting nested bodies (a scan's unrolled size estimate)."""
    n = 0
    for eqn in jaxpr.eqns:
        n += 1
        repeats = int(eqn.params.get("length", 1))  # a nested scan runs its body length times
        for v in eqn.params.values():
            for body in v if isinstance(v, tuple) else (v,):  # cond branches are a tuple
                if isinstance(body, jcore.ClosedJaxpr):
                    body = body.jaxpr
                if isinstance(body, jcore.Jaxpr):
                    n += _count_eqns(body) * repeats
    return n


def _select_branches(eqn: Any, invals: list[Any], keep: Callable, used: set[int]) -> list[Any]:
    """``cond`` / ``switch`` on a traced index: every branch is evaluated and each result is
    a ``select_n`` of the branches' results (``docs/tracer.md``, "Control flow"). A concrete
    index picks its branch."""
    branches = eqn.params["branches"]
    index, ops = invals[0], invals[1:]
    if not isinstance(index, jax.core.Tracer):
        b = branches[int(np.clip(int(np.asarray(index)), 0, len(branches) - 1))]
        return _eval_inlined(b.jaxpr, b.consts, ops, keep, used)
    outs = [_eval_inlined(b.jaxpr, b.consts, ops, keep, used) for b in branches]
    if len(branches) == 1:
        return outs[0]
    index = jnp.clip(index.astype(np.int32), 0, len(branches) - 1)
    result = []
    for k, v in enumerate(eqn.outvars):
        cases = [jnp.asarray(o[k], v.aval.dtype) for o in outs]
        cases = [jnp.broadcast_to(c, v.aval.shape) for c in cases]
        result.append(jax.lax.select_n(index, *cases))
    return result


def _kept_whole(eqn: Any, keep_custom: str | None) -> bool:
    """Whether a call stays one equation: every custom-derivative call in the exact model
    (``keep_custom="all"``); a single-operand, single-result ``custom_jvp_call`` in the
    paper's typing (``keep_custom="unary_jvp"``)."""
    name = eqn.primitive.name
    if keep_custom == "all":
        return name in CUSTOM_CALLS
    return (
        keep_custom == "unary_jvp"
        and name == "custom_jvp_call"
        and len(eqn.invars) == 1
        and len(eqn.outvars) == 1
    )


def _needs_flattening(jaxpr: Any, keep_custom: str | None, copy_reused_outputs: bool) -> bool:
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if (name in INLINED and not _kept_whole(eqn, keep_custom)) or name in ("scan", "cond"):
            return True
    if copy_reused_outputs:
        used = {v for eqn in jaxpr.eqns for v in eqn.invars if not isinstance(v, jcore.Literal)}
        inputs = set(jaxpr.invars) | set(jaxpr.constvars)
        if any(
            v in used and v not in inputs for v in jaxpr.outvars if not isinstance(v, jcore.Literal)
        ):
            return True
    return False


def flatten_jaxpr(
    closed: Any,
    *,
    keep_custom_jvp: bool = False,
    keep_custom_calls: bool = False,
    copy_reused_outputs: bool = True,
):
    """Inline every call-like equation of ``closed`` (a ClosedJaxpr), recursively, and unroll
    control flow (``scan`` to its steps, ``cond`` to a ``select_n`` of its branches).

    Returns a new ClosedJaxpr with the same inputs and outputs. With ``copy_reused_outputs``,
    every output that is also an operand of some equation is returned through a trailing
    ``copy`` equation (``docs/graph_extraction.md`` section 2, step 6). ``keep_custom_calls``
    keeps every custom-derivative call whole (the exact model); ``keep_custom_jvp`` keeps
    single-operand, single-result ``custom_jvp_call`` equations whole (the paper's typing).
    """
    jaxpr = closed.jaxpr
    keep_custom = "all" if keep_custom_calls else ("unary_jvp" if keep_custom_jvp else None)
    if not _needs_flattening(jaxpr, keep_custom, copy_reused_outputs):
        return closed  # already flat: skip the second trace

    def keep(eqn: Any) -> bool:
        return _kept_whole(eqn, keep_custom)

    def flat_fn(*args: Any) -> list[Any]:
        used: set[int] = set()
        outs = _eval_inlined(jaxpr, closed.consts, args, keep, used)
        if not copy_reused_outputs:
            return outs
        arg_ids = {id(a) for a in args}
        copies: dict[int, Any] = {}
        result = []
        for o in outs:
            if isinstance(o, jax.core.Tracer) and id(o) in used and id(o) not in arg_ids:
                if id(o) not in copies:
                    copies[id(o)] = jax.lax.copy_p.bind(o)
                result.append(copies[id(o)])
            else:
                result.append(o)
        return result

    specs = [
        jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype, weak_type=v.aval.weak_type)
        for v in jaxpr.invars
    ]
    return jax.make_jaxpr(flat_fn)(*specs)


# ---------------------------------------------------------------------------------------------
# Step 1: the flattened jaxpr
# ---------------------------------------------------------------------------------------------


def _flat_jaxpr(f: Callable[..., Any], args: tuple, cost_model: CostModel) -> tuple[Any, Any, Any]:
    """The flattened ClosedJaxpr of ``f`` on the leaves of ``args``, and the pytree structures
    of the arguments (a tuple) and of the result."""
    in_tree = jax.tree_util.tree_structure(args)

    def f_flat(*leaves: Any) -> Any:
        return f(*jax.tree_util.tree_unflatten(in_tree, list(leaves)))

    closed, out_shape = jax.make_jaxpr(f_flat, return_shape=True)(*jax.tree_util.tree_leaves(args))
    closed = flatten_jaxpr(
        closed,
        keep_custom_jvp=(cost_model == "alphagrad"),
        keep_custom_calls=(cost_model == "exact"),
    )
    return closed, in_tree, jax.tree_util.tree_structure(out_shape)


# ---------------------------------------------------------------------------------------------
# Step 2: inputs
# ---------------------------------------------------------------------------------------------


def _is_float(aval: Any) -> bool:
    return np.issubdtype(aval.dtype, np.floating)


def _check_dtype(aval: Any, what: str, eqn: Any = None) -> None:
    if np.issubdtype(aval.dtype, np.complexfloating):
        name = eqn.primitive.name if eqn is not None else None
        raise UnsupportedPrimitiveError(
            f"{what} has complex dtype {aval.dtype}; complex numbers are not modelled",
            primitive=name,
            eqn=eqn,
        )


@dataclass
class _Inputs:
    """The differentiated jaxpr inputs: ``vars[i]`` is row i + 1; ``rows`` has one entry (row or
    None) per jaxpr invar; ``row_of`` maps each input var to its row."""

    vars: list[Any]
    shapes: list[tuple[int, ...]]
    rows: list[int | None]
    row_of: dict[Any, int]


def _inputs(invars: Sequence[Any], args: tuple, argnums: tuple[int, ...]) -> _Inputs:
    """Rows 1..n for the float leaves of the differentiated arguments, in leaf order."""
    differentiated: list[bool] = []
    for i, a in enumerate(args):
        differentiated += [i in argnums] * len(jax.tree_util.tree_leaves(a))
    inputs = _Inputs([], [], [], {})
    for k, (v, is_diff) in enumerate(zip(invars, differentiated, strict=True)):
        if not is_diff:
            inputs.rows.append(None)
            continue
        aval = v.aval
        _check_dtype(aval, f"input leaf {k}")
        if not _is_float(aval):
            raise ValueError(
                f"input leaf {k} (dtype {aval.dtype}) of a differentiated argument is not a "
                "float array; exclude its argument with argnums"
            )
        try:
            shape2(aval.shape, f"input leaf {k}")
        except ValueError as err:
            raise UnsupportedPrimitiveError(str(err)) from None
        inputs.vars.append(v)
        inputs.shapes.append(tuple(aval.shape))
        inputs.row_of[v] = len(inputs.vars)
        inputs.rows.append(len(inputs.vars))
    return inputs


# ---------------------------------------------------------------------------------------------
# Step 3: vertices and edges of one equation
# ---------------------------------------------------------------------------------------------


def _rule_input(eqn: Any, row_of: dict[Any, int], cost_model: CostModel) -> RuleInput:
    """What the rule sees of ``eqn``, after the dtype and rank checks of operands and results.

    An operand is *active* (may carry an edge) when it is a float variable with a row: not a
    literal, not a constant, not a non-differentiated input.
    """
    name = eqn.primitive.name
    for j, v in enumerate(eqn.invars):
        _check_dtype(v.aval, f"operand {j}", eqn)
    out_shapes = []
    for v in eqn.outvars:
        _check_dtype(v.aval, "result", eqn)
        try:
            shape2(v.aval.shape, "result")
        except ValueError as err:
            raise UnsupportedPrimitiveError(f"primitive {name!r}: {err}", name, eqn) from None
        out_shapes.append(tuple(v.aval.shape))
    literal = tuple(isinstance(v, jcore.Literal) for v in eqn.invars)
    active = tuple(
        (not lit) and v in row_of and _is_float(v.aval)
        for v, lit in zip(eqn.invars, literal, strict=True)
    )
    for j, v in enumerate(eqn.invars):
        if active[j]:
            try:
                shape2(v.aval.shape, f"operand {j}")
            except ValueError as err:
                raise UnsupportedPrimitiveError(f"primitive {name!r}: {err}", name, eqn) from None
    return RuleInput(
        name=name,
        params=eqn.params,
        in_shapes=tuple(tuple(v.aval.shape) for v in eqn.invars),
        out_shapes=tuple(out_shapes),
        active=active,
        literal=literal,
        model=cost_model,
        eqn=eqn,
    )


def _edge_types(
    eqn: Any, row_of: dict[Any, int], cost_model: CostModel
) -> tuple[RuleInput, list[list[EdgeSpec]]]:
    """The primitive rule's answer for ``eqn``: per output, per operand, an edge type or None.

    A primitive without a rule is refused first; a rule that fails on an unexpected equation is
    reported as an :class:`UnsupportedPrimitiveError` naming the primitive.
    """
    name = eqn.primitive.name
    if cost_model == "exact" and name in CUSTOM_CALLS:
        ri = _rule_input(eqn, row_of, cost_model)
        return ri, custom_call_types(eqn, ri.active)
    rule = rule_for(name, cost_model, eqn)
    ri = _rule_input(eqn, row_of, cost_model)
    if rule is dense_rule:
        _check_differentiable(ri)
    try:
        specs = rule(ri)
    except UnsupportedPrimitiveError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise UnsupportedPrimitiveError(
            f"primitive {name!r}: its rule failed ({type(err).__name__}: {err})", name, eqn
        ) from err
    if len(specs) != len(eqn.outvars):
        raise UnsupportedPrimitiveError(
            f"primitive {name!r}: rule gave {len(specs)} results for {len(eqn.outvars)} outputs",
            name,
            eqn,
        )
    return ri, specs


def _check_differentiable(ri: RuleInput) -> None:
    """Refuse a primitive without a rule unless JAX can differentiate it (checked abstractly:
    ``jax.jvp`` under ``jax.eval_shape``, nothing is computed)."""
    eqn = ri.eqn
    float_out = [k for k, v in enumerate(eqn.outvars) if _is_float(v.aval)]
    if not any(ri.active) or not float_out:
        return  # no edge can exist: the vertex is kept, its derivative never needed
    key = equation_key(eqn)
    if key in _DIFFERENTIABLE:  # an unrolled loop repeats one equation
        return
    _probe_derivative(ri, float_out)
    if len(_DIFFERENTIABLE) >= 512:
        _DIFFERENTIABLE.pop(next(iter(_DIFFERENTIABLE)))
    _DIFFERENTIABLE[key] = dict(eqn.params)  # keeps the params (whose ids are in the key) alive


_DIFFERENTIABLE: dict[tuple, dict] = {}
"""Equations (by :func:`~crosscountry_gym.tracer.rules.equation_key`) already found
differentiable."""


def _probe_derivative(ri: RuleInput, float_out: list[int]) -> None:
    eqn = ri.eqn
    # tangents for every float operand, as the executor does for dense vertices
    active = [j for j, v in enumerate(eqn.invars) if _is_float(v.aval)]
    specs = [jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in eqn.invars]

    def probe(*vals: Any) -> Any:
        def g(*xs: Any) -> list[Any]:
            full = list(vals)
            for j, x in zip(active, xs, strict=True):
                full[j] = x
            outs = bind_eqn(eqn, full)
            return [outs[k] for k in float_out]

        xs = [vals[j] for j in active]
        return jax.jvp(g, xs, [jnp.zeros_like(x) for x in xs])[1]

    try:
        jax.eval_shape(probe, *specs)
    except Exception as err:  # noqa: BLE001 - any failure means JAX has no usable derivative
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsupportedPrimitiveError(
            f"primitive {ri.name!r} is not differentiable in JAX ({first}), so it cannot be "
            "part of a Jacobian; keep it out of the differentiated path (stop_gradient) or "
            "replace it",
            primitive=ri.name,
            eqn=eqn,
        ) from None


def _in_edges(
    ri: RuleInput,
    k: int,
    vertex: int,
    specs_k: Sequence[EdgeSpec],
    row_of: dict[Any, int],
    cost_model: CostModel,
) -> tuple[tuple[Operand, ...], list[list[int]]]:
    """The operands of output ``k`` of the equation (vertex ``vertex``) and its in-edge records,
    one per source row: two operands on one row (``mul x x``) give one edge of the merged type.
    """
    eqn = ri.eqn
    o2 = shape2(ri.out_shapes[k])
    # the paper's extractor ignored dtypes (it typed eq, with a bool result, as binary)
    out_float = _is_float(eqn.outvars[k].aval) or cost_model == "alphagrad"
    merged: dict[int, tuple[int, tuple[int, int]]] = {}
    operands = []
    for j, v in enumerate(eqn.invars):
        spec = specs_k[j] if j < len(specs_k) else None
        if spec is None or not ri.active[j] or not out_float:
            operands.append(Operand(v, None))
            continue
        t, in2 = spec if isinstance(spec, tuple) else (spec, shape2(v.aval.shape))
        r = row_of[v]
        operands.append(Operand(v, r))
        if r in merged and cost_model != "alphagrad":
            t = merge_rule(merged[r][0], t, "exact")
        merged[r] = (t, in2)
    records = [[r, vertex, t, *o2, *in2] for r, (t, in2) in merged.items()]
    return tuple(operands), records


def _vertices_of(
    eqn: Any, row_of: dict[Any, int], num_inputs: int, first: int, cost_model: CostModel
) -> tuple[list[VertexEqn], list[list[int]]]:
    """The vertices of one equation (one per output variable, ids from ``first``) and their
    in-edge records; records the row of each output variable in ``row_of``."""
    ri, specs = _edge_types(eqn, row_of, cost_model)
    vertices: list[VertexEqn] = []
    records: list[list[int]] = []
    for k, outvar in enumerate(eqn.outvars):
        vid = first + k
        operands, recs = _in_edges(ri, k, vid, specs[k], row_of, cost_model)
        shape = ri.out_shapes[k]
        vertices.append(VertexEqn(vid, eqn, k, operands, shape, shape2(shape)))
        records += recs
        if not isinstance(outvar, jcore.DropVar):
            row_of[outvar] = num_inputs + vid
    return vertices, records


# ---------------------------------------------------------------------------------------------
# Step 4: outputs
# ---------------------------------------------------------------------------------------------


def _outputs(
    outvars: Sequence[Any], row_of: dict[Any, int], num_inputs: int
) -> tuple[tuple[int | None, ...], list[int]]:
    """The source row of every output (None for a literal or constant) and the graph's output
    vertices (each once, in first-output order)."""
    output_rows: list[int | None] = []
    graph_outputs: list[int] = []
    for v in outvars:
        if isinstance(v, jcore.Literal) or v not in row_of:
            output_rows.append(None)
            continue
        r = row_of[v]
        output_rows.append(r)
        if r > num_inputs and (r - num_inputs) not in graph_outputs:
            graph_outputs.append(r - num_inputs)
    return tuple(output_rows), graph_outputs


# ---------------------------------------------------------------------------------------------
# The tracer
# ---------------------------------------------------------------------------------------------


def trace(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    cost_model: CostModel = DEFAULT_MODEL,
    rules: CostModel | None = None,
) -> Trace:
    """Trace ``f(*args)`` into a :class:`Trace` (graph plus the flattened jaxpr and maps).

    Args:
        f: a JAX-traceable function of positional arguments (pytrees of arrays allowed).
        *args: example arguments; only shapes and dtypes matter (``jax.ShapeDtypeStruct`` works).
        argnums: which positional arguments are differentiated (int or tuple); default all.
            Every leaf of a differentiated argument must have a float dtype.
        cost_model: the rule set, "exact" (default) or "alphagrad" (the original extractor's
            typing). ``rules=`` is its deprecated name.

    Raises:
        UnsupportedPrimitiveError: for primitives, shapes or dtypes the model cannot represent.
        ValueError: for bad ``argnums`` / ``cost_model``, a non-float differentiated leaf, or a
            function without any equation.
    """
    cost_model = cost_model_arg(cost_model, rules, "rules")
    argnums_t = tuple(sorted(normalize_argnums(argnums, len(args))))
    closed, in_tree, out_tree = _flat_jaxpr(f, args, cost_model)
    jaxpr = closed.jaxpr

    inputs = _inputs(jaxpr.invars, args, argnums_t)
    ni = len(inputs.vars)
    row_of = dict(inputs.row_of)
    vertices: list[VertexEqn] = []
    records: list[list[int]] = []
    for eqn in jaxpr.eqns:
        new, recs = _vertices_of(eqn, row_of, ni, len(vertices) + 1, cost_model)
        vertices += new
        records += recs
    output_rows, graph_outputs = _outputs(jaxpr.outvars, row_of, ni)

    if not vertices:
        raise ValueError(
            f"{getattr(f, '__name__', 'the function')} has no equations after tracing "
            "(its outputs are inputs or constants): there is nothing to eliminate"
        )
    graph = Graph.from_records(
        ni,
        len(vertices),
        records,
        graph_outputs,
        name=getattr(f, "__name__", ""),
        vertex_labels=[v.primitive for v in vertices],
    )
    return Trace(
        graph=graph,
        vertices=tuple(vertices),
        eqns=tuple(jaxpr.eqns),
        input_vars=tuple(inputs.vars),
        input_shapes=tuple(inputs.shapes),
        all_input_vars=tuple(jaxpr.invars),
        input_rows=tuple(inputs.rows),
        const_env=dict(zip(jaxpr.constvars, closed.consts, strict=True)),
        output_vars=tuple(jaxpr.outvars),
        output_rows=output_rows,
        in_tree=in_tree,
        out_tree=out_tree,
        argnums=argnums_t,
        closed_jaxpr=closed,
        cost_model=cost_model,
    )


def make_graph(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    cost_model: CostModel = DEFAULT_MODEL,
    rules: CostModel | None = None,
) -> Graph:
    """The elimination graph of ``f`` at the example ``args``; see :func:`trace`.

    ``rules=`` is the deprecated name of ``cost_model=``.
    """
    cost_model = cost_model_arg(cost_model, rules, "rules")
    return trace(f, *args, argnums=argnums, cost_model=cost_model).graph
