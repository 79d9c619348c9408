"""The executor step of verification: a real rejection when the Jacobian disagrees with
jax.jacrev or the executor fails; a recorded skip, with the reason, only when the order cannot
be run (the task's function traces to another graph, or the executor does not support it)."""

from __future__ import annotations

import json

import pytest

from crosscountry_gym import tasks
from crosscountry_gym.baselines import random_order
from crosscountry_gym.leaderboard import SubmissionError
from crosscountry_gym.leaderboard.verify import executor_check

TASK = "PropaneCombustion"


def test_failing_jacobian_rejects(fake_executor):
    fake_executor(lambda task, order: {"passed": False, "max_abs_error": 0.5,
                                       "max_rel_error": 0.25})
    with pytest.raises(SubmissionError, match="differs from jax.jacrev .*max abs error 0.5"):
        executor_check(TASK, (1, 2, 3))


def test_count_mismatch_rejects_and_says_so(fake_executor):
    fake_executor(lambda task, order: {"passed": False, "max_abs_error": 0.0, "rel_error": 0.0,
                                       "multiplications": 91, "cost_exact": 90})
    with pytest.raises(SubmissionError, match="counted 91 multiplications, the exact cost is 90"):
        executor_check(TASK, (1, 2, 3))


def test_executor_exception_rejects_with_its_message(fake_executor):
    def boom(task, order):
        raise RuntimeError("unsupported primitive 'erf_inv' in equation 7")

    fake_executor(boom)
    with pytest.raises(SubmissionError, match="executor check failed on PropaneCombustion: "
                                              "RuntimeError: unsupported primitive"):
        executor_check(TASK, (1, 2, 3))


def test_import_error_inside_executor_rejects(fake_executor):
    """A missing module is a broken install, not a reason to skip the check."""

    def needs_module(task, order):
        raise ModuleNotFoundError("No module named 'crosscountry_gym.tracer'",
                                  name="crosscountry_gym.tracer")

    fake_executor(needs_module)
    with pytest.raises(SubmissionError, match="ModuleNotFoundError"):
        executor_check(TASK, (1, 2, 3))


def test_unsupported_task_is_a_skip_with_the_reason(fake_executor):
    def unsupported(task, order):
        raise NotImplementedError("no partials for primitive 'foo'")

    fake_executor(unsupported)
    check = executor_check(TASK, (1, 2, 3))
    assert check == {"status": "skipped",
                     "detail": f"executor cannot run {TASK}: no partials for primitive 'foo'"}


def test_passing_report_is_recorded(fake_executor):
    class Report:  # an object-style report, as a dataclass would be
        passed = True
        max_abs_error = 1.23456e-15
        max_rel_error = 2.0e-16

    seen = {}

    def verify_order(task, order):
        seen["task"], seen["order"] = task.name, order
        return Report()

    fake_executor(verify_order)
    check = executor_check(TASK, (5, 6))
    assert check == {"status": "passed", "detail": "Jacobian equals jax.jacrev",
                     "max_abs_error": 1.23e-15, "max_rel_error": 2e-16}
    # the executor gets the frozen graph's fingerprint, so it refuses ids of another graph
    fp = tasks.load(TASK).graph.fingerprint
    assert seen == {"task": TASK, "order": {"order": [5, 6], "fingerprint": fp}}


def test_cli_rejects_when_executor_fails_and_store_unchanged(
    fake_executor, store_dir, make_sub, write_json, run_cli, snap
):
    fake_executor(lambda task, order: {"ok": False})
    d = make_sub(order=list(random_order(tasks.load(TASK).graph, seed=11)))
    before = snap(store_dir)
    rc, _, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(store_dir))
    assert rc == 1 and "differs from jax.jacrev" in err
    assert snap(store_dir) == before


def test_real_executor_passes_on_a_paper_order(tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    t = tasks.load(TASK)
    d = make_sub(order=list(t.paper.best_order))
    rc, out, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(root))
    assert rc == 0, err
    [path] = (root / "submissions" / TASK).glob("*.json")
    ex = json.loads(path.read_text())["verified"]["executor"]
    assert ex["status"] == "passed", ex


def test_graph_mismatch_of_task_function_is_a_skip(fake_executor):
    _, tracer, fns = fake_executor(lambda task, order: pytest.fail("must not run on another graph"))
    other = tasks.load("MLP").graph
    tracer.make_graph = lambda fn, *args, argnums=None: other
    fns.example_args = lambda name: (1.0, 2.0)
    check = executor_check(TASK, (1, 2, 3))
    assert check["status"] == "skipped" and "differs from the frozen benchmark graph" in check["detail"]
