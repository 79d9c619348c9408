"""Search budgets: ``moves`` makes every method reproducible, the budget arguments are checked,
and a stop request (Ctrl-C inside ``stop_on_signals``) ends a search with its best order."""

import os
import signal
import time

import pytest
from random_dags import scalar_dag

from crosscountry_gym import tasks
from crosscountry_gym.baselines.search import (
    METHODS,
    anneal,
    beam_search,
    solve,
    window_polish,
)
from crosscountry_gym.baselines.search.common import Deadline, stop_on_signals, stop_requested
from crosscountry_gym.engine import cost
from crosscountry_gym.orders import markowitz_order


@pytest.mark.parametrize("method", METHODS)
def test_moves_budget_reproduces_the_order(method):
    g = tasks.load("HumanHeartDipole").graph  # too big for the subset DP: dp runs windows
    moves = 60 if method == "dp" else 3000
    a = solve(g, method, moves=moves, seed=4)
    b = solve(g, method, moves=moves, seed=4)
    assert a.order == b.order and a.cost == b.cost == cost(g, a.order)


def test_anneal_moves_are_counted_and_reproducible():
    g = scalar_dag(5, nv=30)
    runs = [anneal(g, seconds=None, max_moves=2000, seed=1, restarts=2) for _ in range(2)]
    assert runs[0].order == runs[1].order
    assert runs[0].stats["moves"] <= 2000
    with pytest.raises(ValueError, match="max_moves must be a positive int"):
        anneal(g, seconds=None, max_moves=0)


def test_work_limits_of_beam_and_window_polish():
    g = tasks.load("PropaneCombustion").graph
    full = beam_search(g, width=16)
    capped = beam_search(g, width=16, max_expanded=50)
    assert capped.stats["expanded"] < full.stats["expanded"]
    assert capped.cost == cost(g, capped.order)
    order = markowitz_order(g)
    assert window_polish(g, order, width=6, max_windows=0) == (tuple(order), cost(g, order))


def test_budget_arguments_are_checked():
    g = scalar_dag(1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="moves must be a positive int"):
            solve(g, "sa", moves=bad)
    for bad in (0, -2.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="seconds must be a finite number > 0"):
            solve(g, "sa", seconds=bad)
    assert solve(g, "sa", moves=50).cost == solve(g, "sa", moves=50).cost  # no time limit


def test_subset_dp_out_of_time_falls_back_to_an_order():
    g = scalar_dag(11, nv=16)
    res = solve(g, "dp", seconds=1e-6)
    assert res.cost == cost(g, res.order) and res.lower_bound <= res.cost


@pytest.mark.parametrize("method", ["sa", "beam", "dp", "bnb"])
def test_ctrl_c_inside_stop_on_signals_returns_the_best_order(method):
    g = tasks.load("HumanHeartDipole").graph

    def progress(best: int, frac: float) -> None:
        if not stop_requested():
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    t0 = time.perf_counter()
    with stop_on_signals() as stop:
        res = solve(g, method, seconds=120, seed=0, progress=progress)
    assert time.perf_counter() - t0 < 30  # stopped long before the budget
    assert stop.signal == "SIGINT" and not stop_requested()
    assert signal.getsignal(signal.SIGINT) is before
    assert res.cost == cost(g, res.order) and sorted(res.order) == sorted(g.eliminable)


def test_a_stop_expires_every_deadline_and_a_second_signal_raises():
    d = Deadline(None)
    with stop_on_signals(signals=(signal.SIGTERM,)) as stop:
        assert not d.expired()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert stop.signal == "SIGTERM" and d.expired() and Deadline(1e9).expired()
    assert not d.expired()  # only within the block
    with pytest.raises(KeyboardInterrupt), stop_on_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
