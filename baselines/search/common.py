"""Shared pieces of the search baselines: the result record, time budgets, progress reports,
the starting orders, the proven-safe reduction (eliminate free vertices first), and the stop
request that lets Ctrl-C end a search with its best order (:func:`stop_on_signals`)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crosscountry_gym.engine import SearchState
from crosscountry_gym.engine import cost as reference_cost
from crosscountry_gym.graph import Graph
from crosscountry_gym.sparsity import CostModel

__all__ = ["SearchResult", "Progress", "Deadline", "greedy_starts", "eliminate_free",
           "StopRequest", "stop_on_signals", "stop_requested"]

Progress = Callable[[int, float], None]
"""``progress(best_cost_so_far, fraction_of_budget_used)``; called on every improvement and at
least every few tenths of a second while a search runs."""


@dataclass(frozen=True)
class SearchResult:
    """A search outcome. ``cost`` is always the reference cost of ``order`` (replayed with
    :func:`crosscountry_gym.engine.cost` in ``model``), never a search-internal estimate.

    ``lower_bound`` is a proven bound on the optimum when the method provides one (``None``
    otherwise); ``optimal`` is True only when the method proved ``cost`` optimal.
    """

    order: tuple[int, ...]
    cost: int
    cost_model: str
    method: str
    seconds: float
    lower_bound: int | None = None
    optimal: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """Deprecated name of :attr:`cost_model`."""
        return self.cost_model


def finish(
    graph: Graph,
    order: Sequence[int],
    model: CostModel,
    method: str,
    t0: float,
    **kw: Any,
) -> SearchResult:
    """Build a :class:`SearchResult`, replaying ``order`` with the reference cost."""
    order = tuple(int(v) for v in order)
    c = reference_cost(graph, order, model)
    return SearchResult(order, c, model, method, time.perf_counter() - t0, **kw)


class StopRequest:
    """What :func:`stop_on_signals` yields: ``signal`` is the name of the first stop signal
    received (``"SIGINT"``, ``"SIGTERM"``), ``None`` while none has arrived."""

    def __init__(self) -> None:
        self.signal: str | None = None


_STOP: list[StopRequest] = []  # the innermost active stop_on_signals() scope, if any


def stop_requested() -> bool:
    """True once a stop signal arrived inside :func:`stop_on_signals`; every
    :class:`Deadline` then reports itself expired, so a running search returns its best order."""
    return bool(_STOP) and _STOP[-1].signal is not None


@contextlib.contextmanager
def stop_on_signals(
    signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[StopRequest]:
    """Within this block the first SIGINT / SIGTERM does not raise: it makes every search
    deadline expire, so the search stops at its next check and returns the best order found
    so far (``crosscountry-gym solve`` uses it to print and write that order on Ctrl-C). A
    second signal acts as usual (KeyboardInterrupt for SIGINT). Off the main thread, where
    Python cannot install signal handlers, it does nothing."""
    req = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield req
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def handler(signum: int, frame: Any) -> None:
        if req.signal is None:
            req.signal = signal.Signals(signum).name
            return
        _forward(signum, frame, previous[signum])

    for sig in signals:
        signal.signal(sig, handler)
    _STOP.append(req)
    try:
        yield req
    finally:
        _STOP.remove(req)
        for sig, prev in previous.items():
            signal.signal(sig, prev)


def _forward(signum: int, frame: Any, prev: Any) -> None:
    """Deliver a signal as the handler that was installed before ours would have."""
    if callable(prev):
        prev(signum, frame)
    elif prev == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


class Deadline:
    """Wall-clock budget. ``seconds=None`` means unlimited. Every deadline counts as expired
    once a stop was requested (:func:`stop_requested`)."""

    def __init__(self, seconds: float | None):
        if seconds is not None and seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        self.t0 = time.perf_counter()
        self.seconds = seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def fraction(self) -> float:
        if not self.seconds:
            return 0.0
        return min(1.0, self.elapsed() / self.seconds)

    def expired(self) -> bool:
        return stop_requested() or (self.seconds is not None and self.elapsed() >= self.seconds)


def greedy_starts(graph: Graph, model: CostModel) -> list[tuple[int, tuple[int, ...], str]]:
    """``(cost, order, name)`` of forward, reverse and every greedy heuristic, cheapest first."""
    from crosscountry_gym.orders import HEURISTICS

    out = []
    for name, fn in HEURISTICS.items():
        order = tuple(fn(graph))
        out.append((reference_cost(graph, order, model), order, name))
    out.sort()
    return out


def eliminate_free(state: SearchState, remaining: set[int], order: list[int]) -> int:
    """Eliminate, until none is left, every remaining vertex that has no in-edges or no
    out-edges; append them to ``order`` and remove them from ``remaining``. Returns the cost
    (always 0).

    Safe in every cost model (``docs/search.md``): such a vertex costs 0 whenever it is
    eliminated, and removing it only deletes the edges it is an endpoint of, so no other step
    of any completion becomes more expensive and no other edge type changes.
    """
    total = 0
    changed = True
    while changed:
        changed = False
        for v in sorted(remaining):
            if state.is_free(v):
                total += state.eliminate(v)
                remaining.discard(v)
                order.append(v)
                changed = True
    return total
