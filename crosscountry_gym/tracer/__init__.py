"""The tracer: a JAX function -> the elimination :class:`~crosscountry_gym.graph.Graph`.

* :mod:`.trace`: :func:`trace` (graph plus the flattened jaxpr and the vertex/operand maps the
  executor needs), :func:`make_graph`, :func:`flatten_jaxpr`, and the two helpers the executor
  shares (:func:`normalize_argnums`, :func:`bind_eqn`);
* :mod:`.rules`: the primitive -> edge-type rules (``docs/graph_extraction.md`` sections 4
  and 7), :class:`UnsupportedPrimitiveError`.

Behaviour and every choice the implementation makes: ``docs/tracer.md``.
"""

from __future__ import annotations

from .rules import UnsupportedPrimitiveError
from .trace import (
    Operand,
    Trace,
    VertexEqn,
    bind_eqn,
    flatten_jaxpr,
    make_graph,
    normalize_argnums,
    trace,
)

__all__ = [
    "make_graph",
    "trace",
    "Trace",
    "UnsupportedPrimitiveError",
    "Operand",
    "VertexEqn",
    "flatten_jaxpr",
    "normalize_argnums",
    "bind_eqn",
]
