"""``verify_order`` and the ``crosscountry-gym verify`` command."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

from crosscountry_gym import tasks
from crosscountry_gym.cli import main
from crosscountry_gym.executor import VerifyResult, verify_order


def test_verify_a_function_in_both_precisions():
    def f(W, x):
        return jnp.tanh(W @ x)

    W, x = np.ones((3, 2)) * 0.3, np.array([0.2, -0.1])
    for dtype in ("float64", "float32"):
        r = verify_order(f, "rev", W, x, argnums=(0, 1), dtype=dtype)
        assert isinstance(r, VerifyResult) and r.passed
        # hand count: W -> v1 type -2 and x -> v1 type 1, both 3x2 into tanh (type 6): 6 + 6
        assert r.cost_exact == r.cost_alphagrad == r.multiplications == 12
        assert r.rel_error <= r.tolerance == (1e-10 if dtype == "float64" else 1e-4)
        assert r.to_dict()["order"] == list(r.order)


def test_verify_the_published_order_of_a_task():
    task = tasks.load("HumanHeartDipole")
    r = verify_order(task, {"order": list(task.paper.best_order),
                            "fingerprint": task.graph.fingerprint})
    assert r.passed and r.multiplications == task.paper.best_cost == 148


def test_cli_verify_list_object_and_name(tmp_path, capsys):
    best = list(tasks.load("PropaneCombustion").paper.best_order)
    as_list = tmp_path / "order.json"
    as_list.write_text(json.dumps(best))
    as_obj = tmp_path / "submission.json"
    as_obj.write_text(json.dumps({"task": "PropaneCombustion", "order": best}))
    assert main(["verify", "PropaneCombustion", str(as_list)]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "multiplications emitted:      88" in out
    assert main(["verify", "propanecombustion", str(as_obj), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["multiplications"] == data["cost_exact"] == 88
    assert main(["verify", "PropaneCombustion", "markowitz", "--dtype", "float32"]) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2, 2]", "repeats vertex 2"),
        ('{"orders": [1]}', '"order" key'),
        ("not json", "not valid JSON"),
        ("[97]", "output vertex"),
    ],
)
def test_cli_verify_bad_order_files(tmp_path, capsys, content, message):
    p = tmp_path / "bad.json"
    p.write_text(content)
    assert main(["verify", "RoeFlux_1d", str(p)]) == 2
    assert message in capsys.readouterr().err


def test_cli_verify_missing_file_and_unknown_task(capsys):
    assert main(["verify", "RoeFlux_1d", "/no/such/order.json"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["verify", "NoSuchTask", "rev"]) == 2
    assert "unknown task" in capsys.readouterr().err
