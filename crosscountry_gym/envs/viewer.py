"""Pictures of a game in progress: a text listing and an RGB image of the remaining graph.

Used by ``CrossCountryEnv.render`` ("ansi" and "rgb_array"); both read an
:class:`~crosscountry_gym.engine.EliminationState` and change nothing. matplotlib and networkx are
imported only when an image is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..engine import EliminationState

__all__ = ["render_text", "render_rgb"]

_COLOURS = {"input": "#9ecae1", "intermediate": "#fdd0a2", "output": "#a1d99b"}


def _title(state: EliminationState, order: Sequence[int], total: int) -> str:
    g = state.graph
    return (f"{g.name or 'graph'} [{state.cost_model}]: {len(order)}/{g.num_intermediates} "
            f"eliminated, cost {total}")


def render_text(state: EliminationState, order: Sequence[int], total: int) -> str:
    """One line per remaining vertex: ``v<k>: <- [sources] -> [targets]``, under a header with
    the progress and the multiplications so far."""
    g = state.graph
    ni = g.num_inputs
    outputs = set(g.outputs)

    def name(row: int) -> str:
        return f"x{row}" if row <= ni else f"v{row - ni}"

    lines = [_title(state, order, total), f"order: {list(order)}"]
    for k in range(1, g.num_vertices + 1):
        if state.mask >> k & 1:
            continue
        row = ni + k
        ins = ", ".join(name(r) for r in sorted(state.pred.get(row, ())))
        outs = ", ".join(name(t) for t in sorted(state.succ.get(row, ())))
        tag = " (output)" if k in outputs else ""
        lines.append(f"v{k}{tag}: <- [{ins}] -> [{outs}]")
    return "\n".join(lines) + "\n"


def render_rgb(state: EliminationState, order: Sequence[int], total: int) -> np.ndarray:
    """uint8 [480, 640, 3]: the remaining graph in topological layers (inputs blue,
    intermediates orange, outputs green); eliminated vertices and unused inputs are left out."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import networkx as nx

    nxg = state.to_graph().to_networkx()
    nxg.remove_nodes_from([("v", k) for k in order])
    nxg.remove_nodes_from([n for n in list(nxg) if n[0] == "in" and nxg.out_degree(n) == 0])
    for layer, nodes in enumerate(nx.topological_generations(nxg)):
        for n in nodes:
            nxg.nodes[n]["layer"] = layer
    pos = nx.multipartite_layout(nxg, subset_key="layer") if len(nxg) else {}
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    try:
        nx.draw_networkx(
            nxg, pos, ax=ax, node_size=160, font_size=6, arrowsize=6,
            node_color=[_COLOURS[nxg.nodes[n]["kind"]] for n in nxg],
            labels={n: (f"x{n[1]}" if n[0] == "in" else str(n[1])) for n in nxg},
        )
        ax.set_title(_title(state, order, total), fontsize=8)
        ax.set_axis_off()
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    finally:
        plt.close(fig)
    return img
