"""The executor step of verification: graceful only while the executor or task functions are
missing, a real rejection when the Jacobian disagrees with jax.jacrev or the executor fails."""

from __future__ import annotations

import importlib.util
import types

import pytest

from crosscountry_gym.leaderboard import SubmissionError
from crosscountry_gym.leaderboard.verify import executor_check

TASK = "PropaneCombustion"


def _fake_modules(monkeypatch, verify_order):
    ex = types.ModuleType("crosscountry_gym.executor")
    ex.verify_order = verify_order
    fns = types.ModuleType("crosscountry_gym.tasks.functions")
    fns.function = lambda name: (lambda *a: a)
    monkeypatch.setitem(__import__("sys").modules, "crosscountry_gym.executor", ex)
    monkeypatch.setitem(__import__("sys").modules, "crosscountry_gym.tasks.functions", fns)
    # no tracer: the traced-graph comparison is skipped and the fake executor decides
    monkeypatch.setitem(__import__("sys").modules, "crosscountry_gym.trace", None)


def test_skipped_with_reason_while_executor_missing(monkeypatch):
    # None in sys.modules makes `import crosscountry_gym.executor` raise ModuleNotFoundError
    monkeypatch.setitem(__import__("sys").modules, "crosscountry_gym.executor", None)
    check = executor_check(TASK, (1, 2, 3))
    assert check["status"] == "skipped"
    assert "crosscountry_gym.executor is not part of this checkout" in check["detail"]


def test_skipped_with_reason_while_task_functions_missing(monkeypatch):
    _fake_modules(monkeypatch, lambda task, order: {"passed": True})
    monkeypatch.setitem(__import__("sys").modules, "crosscountry_gym.tasks.functions", None)
    check = executor_check(TASK, (1, 2, 3))
    assert check["status"] == "skipped" and "crosscountry_gym.tasks.functions" in check["detail"]


def test_failing_jacobian_rejects(monkeypatch):
    _fake_modules(monkeypatch, lambda task, order: {"passed": False, "max_abs_error": 0.5,
                                                    "max_rel_error": 0.25})
    with pytest.raises(SubmissionError, match="differs from jax.jacrev .*max abs error 0.5"):
        executor_check(TASK, (1, 2, 3))


def test_count_mismatch_rejects_and_says_so(monkeypatch):
    _fake_modules(monkeypatch, lambda task, order: {"passed": False, "max_abs_error": 0.0,
                                                    "rel_error": 0.0, "multiplications": 91,
                                                    "cost_exact": 90})
    with pytest.raises(SubmissionError, match="counted 91 multiplications, the exact cost is 90"):
        executor_check(TASK, (1, 2, 3))


def test_executor_exception_rejects_with_its_message(monkeypatch):
    def boom(task, order):
        raise RuntimeError("unsupported primitive 'erf_inv' in equation 7")

    _fake_modules(monkeypatch, boom)
    with pytest.raises(SubmissionError, match="executor check failed on PropaneCombustion: "
                                              "RuntimeError: unsupported primitive"):
        executor_check(TASK, (1, 2, 3))


def test_passing_report_is_recorded(monkeypatch):
    class Report:  # an object-style report, as a dataclass would be
        passed = True
        max_abs_error = 1.23456e-15
        max_rel_error = 2.0e-16

    seen = {}

    def verify_order(task, order):
        seen["task"], seen["order"] = task.name, order
        return Report()

    _fake_modules(monkeypatch, verify_order)
    check = executor_check(TASK, (5, 6))
    assert check == {"status": "passed", "detail": "Jacobian equals jax.jacrev",
                     "max_abs_error": 1.23e-15, "max_rel_error": 2e-16}
    # the executor gets the frozen graph's fingerprint, so it refuses ids of another graph
    from crosscountry_gym import tasks

    fp = tasks.load(TASK).graph.fingerprint
    assert seen == {"task": TASK, "order": {"order": [5, 6], "fingerprint": fp}}


def test_cli_rejects_when_executor_fails_and_store_unchanged(
    monkeypatch, store_dir, make_sub, write_json, run_cli, snap
):
    from crosscountry_gym import tasks
    from crosscountry_gym.baselines import random_order

    _fake_modules(monkeypatch, lambda task, order: {"ok": False})
    d = make_sub(order=list(random_order(tasks.load(TASK).graph, seed=11)))
    before = snap(store_dir)
    rc, _, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(store_dir))
    assert rc == 1 and "differs from jax.jacrev" in err
    assert snap(store_dir) == before


@pytest.mark.skipif(
    importlib.util.find_spec("crosscountry_gym.executor") is None,
    reason="the executor (crosscountry_gym.executor) is not part of this checkout yet",
)
def test_real_executor_passes_on_a_paper_order(tmp_path, make_sub, write_json, run_cli):
    import json

    from crosscountry_gym import tasks

    root = tmp_path / "lb"
    root.mkdir()
    t = tasks.load(TASK)
    d = make_sub(order=list(t.paper.best_order))
    rc, out, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(root))
    assert rc == 0, err
    [path] = (root / "submissions" / TASK).glob("*.json")
    ex = json.loads(path.read_text())["verified"]["executor"]
    assert ex["status"] == "passed", ex


def test_tracer_missing_inside_executor_is_a_skip(monkeypatch):
    def needs_tracer(task, order):
        raise ModuleNotFoundError("No module named 'crosscountry_gym.trace'",
                                  name="crosscountry_gym.trace")

    _fake_modules(monkeypatch, needs_tracer)
    check = executor_check(TASK, (1, 2, 3))
    assert check["status"] == "skipped" and "crosscountry_gym.trace" in check["detail"]


def test_graph_mismatch_of_task_function_is_a_skip(monkeypatch):
    from crosscountry_gym import tasks

    _fake_modules(monkeypatch, lambda task, order: pytest.fail("must not run on another graph"))
    other = tasks.load("MLP").graph
    tracer = types.ModuleType("crosscountry_gym.trace")
    tracer.make_graph = lambda fn, *args, argnums=None: other
    monkeypatch.setitem(__import__("sys").modules, "crosscountry_gym.trace", tracer)
    fns = __import__("sys").modules["crosscountry_gym.tasks.functions"]
    fns.example_args = lambda name: (1.0, 2.0)
    check = executor_check(TASK, (1, 2, 3))
    assert check["status"] == "skipped" and "differs from the frozen benchmark graph" in check["detail"]
