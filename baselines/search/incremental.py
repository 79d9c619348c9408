"""Incremental cost of an elimination order under block re-orderings (the local-search engine).

A local-search move (swap two positions, move one vertex elsewhere, re-order a window) replaces
the block ``order[i:j]`` by a permutation of the same vertices. Only that block needs to be
re-costed when the state after the block is the same as before the move:

* the prefix ``order[:i]`` is untouched, so its cost and its state are kept (one snapshot per
  position is stored);
* in a set-exact model (scalar graphs, ``docs/cost_model.md`` section 10.1) the state after the block depends
  only on the set eliminated, which the move does not change, so the suffix costs the same;
* otherwise (typed graphs, where the paper's tables are not an algebra, 10.2) the state after the
  new block is compared with the stored one, and only if they differ is the suffix replayed.

So a move costs O(block length) eliminations plus one state copy, and is exact in every model.
"""

from __future__ import annotations

from collections.abc import Sequence

from crosscountry_gym.engine import SearchState, make_state, validate_order
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import DEFAULT_MODEL, CostModel, cost_model_arg

__all__ = ["IncrementalOrder"]


class IncrementalOrder:
    """A full order with per-position state snapshots and step costs.

    ``states[k]`` is the state after eliminating ``order[:k]`` (``len(order) + 1`` snapshots);
    ``steps[k]`` the cost of step k; ``prefix[k]`` the cost of ``order[:k]``. Use
    :meth:`block_cost` to price a candidate block and :meth:`apply_block` to commit it.
    """

    def __init__(
        self,
        graph: Graph,
        order: Sequence[int],
        cost_model: CostModel = DEFAULT_MODEL,
        *,
        kind: str = "auto",
        model: CostModel | None = None,
    ):
        model = cost_model_arg(cost_model, model)  # ``model=`` is deprecated
        self.graph = graph
        self.model = model
        self.order = list(validate_order(graph, order))
        st = make_state(graph, model, kind=kind)
        self.set_exact = st.SET_EXACT
        self.states: list[SearchState] = [st]
        self.steps: list[int] = []
        self._rebuild_from(0)

    @property
    def total(self) -> int:
        """Cost of the current order."""
        return self.prefix[-1]

    def _rebuild_from(self, i: int, stop: int | None = None) -> None:
        """Recompute states/steps from position ``i``. If ``stop`` is given and the state at
        ``stop`` is unchanged, the suffix snapshots are kept as they are."""
        n = len(self.order)
        if stop is None:
            del self.states[i + 1 :]
        else:
            del self.states[i + 1 : stop + 1]
        new_states: list[SearchState] = []
        new_steps: list[int] = []
        st = self.states[i]
        end = n if stop is None else stop
        for k in range(i, end):
            st = st.copy()
            new_steps.append(st.eliminate(self.order[k]))
            new_states.append(st)
        if stop is None:
            self.states[i + 1 :] = new_states
            self.steps[i:] = new_steps
        else:
            self.states[i + 1 : i + 1] = new_states
            self.steps[i:stop] = new_steps
        self.prefix = [0]
        acc = 0
        for c in self.steps:
            acc += c
            self.prefix.append(acc)

    def block_cost(self, i: int, block: Sequence[int]) -> int:
        """Total cost of the order with ``order[i:i+len(block)]`` replaced by ``block``.

        ``block`` must be a permutation of the vertices it replaces (not checked here, for
        speed; :meth:`apply_block` checks). The current order is not changed.
        """
        j = i + len(block)
        st = self.states[i].copy()
        c = self.prefix[i]
        for v in block:
            c += st.eliminate(v)
        if self.set_exact or st.same_as(self.states[j]):
            return c + self.prefix[-1] - self.prefix[j]
        for v in self.order[j:]:
            c += st.eliminate(v)
        return c

    def apply_block(self, i: int, block: Sequence[int]) -> int:
        """Replace ``order[i:i+len(block)]`` by ``block`` and return the new total."""
        j = i + len(block)
        if sorted(block) != sorted(self.order[i:j]):
            raise ValueError(f"block {list(block)} is not a permutation of order[{i}:{j}]")
        self.order[i:j] = block
        st = self.states[i].copy()
        for v in block:
            st.eliminate(v)
        if self.set_exact or st.same_as(self.states[j]):
            self._rebuild_from(i, stop=j)
        else:
            self._rebuild_from(i)
        return self.total

    def set_order(self, order: Sequence[int]) -> int:
        """Replace the whole order (keeping the snapshots of the common prefix)."""
        order = list(validate_order(self.graph, order))
        i = 0
        while i < len(order) and order[i] == self.order[i]:
            i += 1
        self.order = order
        if i < len(order):
            self._rebuild_from(i)
        return self.total
