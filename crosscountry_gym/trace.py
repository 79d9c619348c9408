"""JAX function -> elimination graph (the tracer; ``spec/graph_extraction.md``).

Public entry points::

    make_graph(f, *args, argnums=None, rules="exact") -> Graph
    trace(f, *args, argnums=None, rules="exact") -> Trace     # graph + what the executor needs

How a function becomes a graph:

1. ``jax.make_jaxpr`` traces ``f`` on the example arguments (only shapes and dtypes matter).
   Positional arguments may be pytrees; their leaves, in ``jax.tree_util`` order, are the jaxpr
   inputs. ``argnums`` (int or tuple; default: all positional arguments) selects the
   differentiated arguments: each float leaf of those is an *input* (source rows 1..n, in leaf
   order). Leaves of the other arguments are constants.
2. The jaxpr is **flattened**: nested ``jit``/``pjit``, ``closed_call``, ``remat`` and the primal
   bodies of ``custom_jvp_call``/``custom_vjp_call`` are inlined recursively. This is done by
   re-tracing an evaluator of the jaxpr under ``jax.make_jaxpr`` that binds every primitive
   except the call-like ones, whose bodies it evaluates instead; the result is a flat
   ``ClosedJaxpr`` with fresh variables, evaluable like any jaxpr.
3. **Vertex ids**: one vertex per output variable of every flattened equation, numbered
   consecutively (1-based) in equation order. With one output per equation (the usual case),
   vertex k is equation k.
4. Each equation's primitive rule (:mod:`crosscountry_gym.primitives`) gives the edge type of
   every operand. Literals, closed-over arrays (constvars) and leaves of non-differentiated
   arguments are constants: no vertex, no edge. Operands or results with a non-float dtype get no
   edge either. Constness is not propagated (spec section 5): an equation computed from
   constants only is still a vertex (with no in-edges; it costs 0 to eliminate).
   If one equation uses the same variable twice (``mul x x``) there is one edge, whose type is
   the consistent merge of the two operand types (for a vector ``mul x x``: 2 and 2 give 2).
5. **Outputs**: the vertices of the flattened output variables, in output order. An output that is
   also an operand of a later equation gets a trailing ``copy`` equation (spec section 2 step 6):
   the copy is a new vertex (id after all equation vertices), reached by a free ``-1`` copy edge,
   and is the output; the original vertex becomes an ordinary intermediate. An output that is
   an input, a literal or a constant is not a vertex: :attr:`Trace.output_rows` gives its input
   row (or None) and the graph's outputs do not include it. The same vertex returned twice is
   one graph output.

Two rule sets: ``rules="exact"`` (default; the section 7 defects fixed, honest types that the
executor can rely on) and ``rules="alphagrad"`` (the original extractor's typing, to compare with
the frozen paper graphs). See ``docs/tracer.md``.

Anything the model cannot represent (control flow, gather/scatter, rank > 2, complex numbers,
primitives without a rule) raises :class:`UnsupportedPrimitiveError` naming the primitive and
printing the equation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.extend.core as jcore
import numpy as np

from .graph import Graph
from .primitives import (
    INLINED,
    RuleInput,
    RuleModel,
    UnsupportedPrimitiveError,
    rule_for,
    shape2,
)
from .sparsity import merge_rule

__all__ = [
    "UnsupportedPrimitiveError",
    "Operand",
    "VertexEqn",
    "Trace",
    "trace",
    "make_graph",
    "flatten_jaxpr",
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
        argnums: the differentiated positional arguments.
        closed_jaxpr: the flattened ``ClosedJaxpr``; ``jax.core.eval_jaxpr``-style evaluation
            with the flattened leaves of all positional arguments reproduces ``f``.
        rules: the rule set used ("exact" or "alphagrad").
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
    rules: RuleModel = "exact"

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


def _bind(eqn: Any, invals: Sequence[Any]) -> list[Any]:
    prim = eqn.primitive
    params = prim.get_bind_params(eqn.params)
    subfuns: Sequence[Any] = ()
    if isinstance(params, tuple):  # older JAX: (subfuns, params)
        subfuns, params = params
    ctx = getattr(eqn, "ctx", None)
    manager = getattr(ctx, "manager", None)
    if manager is not None:
        with manager:
            out = prim.bind(*subfuns, *invals, **params)
    else:
        out = prim.bind(*subfuns, *invals, **params)
    return list(out) if prim.multiple_results else [out]


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
        else:
            outvals = _bind(eqn, invals)
        for v, val in zip(eqn.outvars, outvals, strict=True):
            if not isinstance(v, jcore.DropVar):
                env[v] = val
    return [read(v) for v in jaxpr.outvars]


def _needs_flattening(jaxpr: Any, keep_custom_jvp: bool, copy_reused_outputs: bool) -> bool:
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name in INLINED and not (
            keep_custom_jvp
            and name == "custom_jvp_call"
            and len(eqn.invars) == 1
            and len(eqn.outvars) == 1
        ):
            return True
    if copy_reused_outputs:
        used = {v for eqn in jaxpr.eqns for v in eqn.invars if not isinstance(v, jcore.Literal)}
        inputs = set(jaxpr.invars) | set(jaxpr.constvars)
        if any(
            v in used and v not in inputs for v in jaxpr.outvars if not isinstance(v, jcore.Literal)
        ):
            return True
    return False


def flatten_jaxpr(closed: Any, *, keep_custom_jvp: bool = False, copy_reused_outputs=True):
    """Inline every call-like equation of ``closed`` (a ClosedJaxpr), recursively.

    Returns a new ClosedJaxpr with the same inputs and outputs. With ``copy_reused_outputs``,
    every output that is also an operand of some equation is returned through a trailing
    ``copy`` equation (spec section 2 step 6). ``keep_custom_jvp`` keeps single-operand,
    single-result ``custom_jvp_call`` equations whole (the paper's typing).
    """
    jaxpr = closed.jaxpr
    if not _needs_flattening(jaxpr, keep_custom_jvp, copy_reused_outputs):
        return closed  # already flat: skip the second trace

    def keep(eqn: Any) -> bool:
        return (
            keep_custom_jvp
            and eqn.primitive.name == "custom_jvp_call"
            and len(eqn.invars) == 1
            and len(eqn.outvars) == 1
        )

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
# The walk
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


def _normalise_argnums(argnums: int | Sequence[int] | None, nargs: int) -> tuple[int, ...]:
    if argnums is None:
        return tuple(range(nargs))
    if isinstance(argnums, int | np.integer):
        argnums = (int(argnums),)
    out = []
    for a in argnums:
        if isinstance(a, bool) or not isinstance(a, int | np.integer):
            raise ValueError(f"argnums entries must be ints, got {a!r}")
        a = int(a)
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums entry {a} out of range for {nargs} positional arguments")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"argnums has duplicate entries: {argnums!r}")
    return tuple(sorted(out))


def trace(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    rules: RuleModel = "exact",
) -> Trace:
    """Trace ``f(*args)`` into a :class:`Trace` (graph plus the flattened jaxpr and maps).

    Args:
        f: a JAX-traceable function of positional arguments (pytrees of arrays allowed).
        *args: example arguments; only shapes and dtypes matter (``jax.ShapeDtypeStruct`` works).
        argnums: which positional arguments are differentiated (int or tuple); default all.
            Every leaf of a differentiated argument must have a float dtype.
        rules: "exact" (default) or "alphagrad" (the original extractor's typing).

    Raises:
        UnsupportedPrimitiveError: for primitives, shapes or dtypes the model cannot represent.
        ValueError: for bad ``argnums`` / ``rules``, a non-float differentiated leaf, or a
            function without any equation.
    """
    if rules not in ("exact", "alphagrad"):
        raise ValueError(f"unknown rules {rules!r}; use 'exact' or 'alphagrad'")
    argnums_t = _normalise_argnums(argnums, len(args))
    leaves_per_arg = [len(jax.tree_util.tree_leaves(a)) for a in args]
    in_tree = jax.tree_util.tree_structure(tuple(args))

    flat_args, _ = jax.tree_util.tree_flatten(tuple(args))

    def f_flat(*leaves: Any) -> Any:
        return f(*jax.tree_util.tree_unflatten(in_tree, list(leaves)))

    closed0, out_shape = jax.make_jaxpr(f_flat, return_shape=True)(*flat_args)
    out_tree = jax.tree_util.tree_structure(out_shape)
    closed = flatten_jaxpr(closed0, keep_custom_jvp=(rules == "alphagrad"))
    jaxpr = closed.jaxpr

    # --- inputs ------------------------------------------------------------------------------
    diff_leaf: list[bool] = []
    for i, n in enumerate(leaves_per_arg):
        diff_leaf += [i in argnums_t] * n
    row_of: dict[Any, int] = {}
    input_vars, input_shapes, input_rows = [], [], []
    for k, (v, is_diff) in enumerate(zip(jaxpr.invars, diff_leaf, strict=True)):
        if not is_diff:
            input_rows.append(None)
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
        input_vars.append(v)
        input_shapes.append(tuple(aval.shape))
        row_of[v] = len(input_vars)
        input_rows.append(len(input_vars))
    ni = len(input_vars)

    # --- equations -----------------------------------------------------------------------------
    vertices: list[VertexEqn] = []
    records: list[list[int]] = []
    labels: list[str] = []
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        rule = rule_for(name, rules, eqn)
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
                    raise UnsupportedPrimitiveError(
                        f"primitive {name!r}: {err}", name, eqn
                    ) from None
        ri = RuleInput(
            name=name,
            params=eqn.params,
            in_shapes=tuple(tuple(v.aval.shape) for v in eqn.invars),
            out_shapes=tuple(out_shapes),
            active=active,
            literal=literal,
            model=rules,
            eqn=eqn,
        )
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
                f"primitive {name!r}: rule gave {len(specs)} results for "
                f"{len(eqn.outvars)} outputs",
                name,
                eqn,
            )
        for k, (outvar, spec_k) in enumerate(zip(eqn.outvars, specs, strict=True)):
            vid = len(vertices) + 1
            o2 = shape2(out_shapes[k])
            # the paper's extractor ignored dtypes (it typed eq, with a bool result, as binary)
            out_float = _is_float(outvar.aval) or rules == "alphagrad"
            merged: dict[int, tuple[int, tuple[int, int]]] = {}
            operands = []
            for j, v in enumerate(eqn.invars):
                spec = spec_k[j] if j < len(spec_k) else None
                if spec is None or not active[j] or not out_float:
                    operands.append(Operand(v, None))
                    continue
                t, in2 = spec if isinstance(spec, tuple) else (spec, shape2(v.aval.shape))
                r = row_of[v]
                operands.append(Operand(v, r))
                if r in merged:
                    old = merged[r][0]
                    t = t if rules == "alphagrad" else merge_rule(old, t, "exact")
                merged[r] = (t, in2)
            for r, (t, in2) in merged.items():
                records.append([r, vid, t, *o2, *in2])
            vertices.append(VertexEqn(vid, eqn, k, tuple(operands), tuple(out_shapes[k]), o2))
            labels.append(name)
            if not isinstance(outvar, jcore.DropVar):
                row_of[outvar] = ni + vid

    # --- outputs -------------------------------------------------------------------------------
    output_vars = tuple(jaxpr.outvars)
    output_rows: list[int | None] = []
    graph_outputs: list[int] = []
    for v in output_vars:
        if isinstance(v, jcore.Literal) or v not in row_of:
            output_rows.append(None)
            continue
        r = row_of[v]
        output_rows.append(r)
        if r > ni and (r - ni) not in graph_outputs:
            graph_outputs.append(r - ni)

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
        vertex_labels=labels,
    )
    const_env = dict(zip(jaxpr.constvars, closed.consts, strict=True))
    return Trace(
        graph=graph,
        vertices=tuple(vertices),
        eqns=tuple(jaxpr.eqns),
        input_vars=tuple(input_vars),
        input_shapes=tuple(input_shapes),
        all_input_vars=tuple(jaxpr.invars),
        input_rows=tuple(input_rows),
        const_env=const_env,
        output_vars=output_vars,
        output_rows=tuple(output_rows),
        in_tree=in_tree,
        out_tree=out_tree,
        argnums=argnums_t,
        closed_jaxpr=closed,
        rules=rules,
    )


def make_graph(
    f: Callable[..., Any],
    *args: Any,
    argnums: int | Sequence[int] | None = None,
    rules: RuleModel = "exact",
) -> Graph:
    """The elimination graph of ``f`` at the example ``args``; see :func:`trace`."""
    return trace(f, *args, argnums=argnums, rules=rules).graph
