"""Seed entries and order files (leaderboard/orders/<Task>/*.json) go through the same
verification as any submission; seeding is idempotent."""

from __future__ import annotations

import json

import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.baselines import random_order
from crosscountry_gym.leaderboard import Store
from crosscountry_gym.leaderboard.seeds import paper_seeds, refresh_executor, seed_store


def test_paper_seeds_cover_all_tasks():
    subs = paper_seeds("2026-01-01")
    # 4 orders x 10 tasks in alphagrad, plus f's published order in exact (6374 vs 6566)
    assert len(subs) == 41
    assert {s.task for s in subs} == set(tasks.names())
    exact = [s for s in subs if s.cost_model == "exact"]
    assert [(s.task, s.claimed_cost) for s in exact] == [("RandomFunction_f", 6566)]


def test_order_files_are_verified(tmp_path):
    root = tmp_path / "lb"
    root.mkdir()
    orders = tmp_path / "orders"
    g = tasks.load("HumanHeartDipole").graph
    (orders / "HumanHeartDipole").mkdir(parents=True)
    good, bad = random_order(g, 1), random_order(g, 2)
    (orders / "HumanHeartDipole" / "sa.json").write_text(json.dumps({
        "order": list(good), "cost_model": "alphagrad", "claimed_cost": cost(g, good, "alphagrad"),
        "method": "sa", "seed": 3, "seconds": 10, "command": "crosscountry-gym solve", "lower_bound": 100,
    }))
    (orders / "HumanHeartDipole" / "liar.json").write_text(json.dumps({
        "order": list(bad), "model": "alphagrad", "cost": cost(g, bad, "alphagrad") - 1,
    }))
    res = seed_store(root, orders_dir=orders, paper=False, skip_executor=True)
    assert len(res.added) == 1 and "simulated annealing" in res.added[0]
    assert len(res.rejected) == 1 and "liar" in res.rejected[0] and "disagrees" in res.rejected[0]
    [entry] = Store(root).entries()
    assert entry.submission.seeds == (3,) and entry.submission.compute_budget == "10 s"
    assert "command: crosscountry-gym solve" in entry.submission.notes
    assert "proven lower bound 100" in entry.submission.notes
    again = seed_store(root, orders_dir=orders, paper=False, skip_executor=True)
    assert again.added == [] and len(again.present) == 1


def test_malformed_order_file_names_the_file(tmp_path):
    root = tmp_path / "lb"
    root.mkdir()
    (tmp_path / "orders" / "MLP").mkdir(parents=True)
    (tmp_path / "orders" / "MLP" / "x.json").write_text("{nope")
    with pytest.raises(ValueError, match=r"x.json is not valid JSON"):
        seed_store(root, orders_dir=tmp_path / "orders", paper=False)


def test_refresh_executor_records_passes(tmp_path, fake_executor):
    root = tmp_path / "lb"
    root.mkdir()
    seed_store(root, skip_executor=True, paper=True)
    before = {e.entry_id: e.executor["status"] for e in Store(root).entries()}
    fake_executor(lambda task, order: {"passed": True, "max_abs_error": 0.0, "max_rel_error": 0.0})
    res = refresh_executor(root)
    assert len(res.added) == sum(s == "skipped" for s in before.values())
    assert all(e.executor["status"] == "passed" for e in Store(root).entries())
    assert Store(root).check() == []
