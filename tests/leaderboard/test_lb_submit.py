"""`crosscountry-gym submit`: every rejection path (clear message, store byte-for-byte unchanged;
exit 2 for input that is not a well-formed submission, 1 for a claim that does not verify) and
accepted submissions (costs recomputed in both models by the reference)."""

from __future__ import annotations

import json

import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.baselines import random_order, reverse_order

TASK = "PropaneCombustion"


def _order_with(fn):
    order = list(reverse_order(tasks.load(TASK).graph))
    fn(order)
    return order


def _dup(o):
    o[1] = o[0]


def _drop(o):
    o.pop()


def _output(o):
    o[0] = 4  # vertex 4 is an output of PropaneCombustion (tasks.md 1.3)


def _range(o):
    o[0] = 63  # 62 vertices


# claims that do not verify exit 1; everything else (form, type, format) exits 2
VERIFICATION = {"unknown task", "wrong fingerprint", "order duplicate vertex", "order missing vertex",
                "order output vertex", "order out of range", "claimed cost mismatch"}

REJECTIONS = {
    # name: (mutation of the submission dict or raw text, expected phrase in the message)
    "malformed JSON": ('{"task": "PropaneCombustion", "order": [1, 2,', "is not valid JSON"),
    "not an object": ("[1, 2, 3]", "must be a JSON object"),
    "missing field": (lambda d: d.pop("claimed_cost"), "missing field 'claimed_cost'"),
    "unknown field": (lambda d: d.update(score=3), "unknown field 'score'"),
    "unknown task": (lambda d: d.update(task="NoSuchTask"), "unknown task 'NoSuchTask'"),
    "wrong fingerprint": (
        lambda d: d.update(fingerprint="0" * 64),
        "does not match task PropaneCombustion's graph",
    ),
    "malformed fingerprint": (lambda d: d.update(fingerprint="abc"), "field 'fingerprint' must be"),
    "order duplicate vertex": (lambda d: d.update(order=_order_with(_dup)), "repeats vertex"),
    "order missing vertex": (lambda d: d.update(order=_order_with(_drop)), "missing: "),
    "order output vertex": (lambda d: d.update(order=_order_with(_output)), "is an output vertex"),
    "order out of range": (
        lambda d: d.update(order=_order_with(_range)),
        "63 is not a vertex id of this graph",
    ),
    "order not integers": (lambda d: d.update(order=["a"]), "field 'order'[0] = 'a' is not an integer"),
    "claimed cost mismatch": (
        lambda d: d.update(claimed_cost=d["claimed_cost"] - 1),
        "disagrees with the verified cost 90",
    ),
    "claimed cost not int": (lambda d: d.update(claimed_cost=89.5), "must be a non-negative integer"),
    "bad model": (lambda d: d.update(cost_model="fast"), "field 'cost_model': unknown cost model 'fast'"),
    "bad track": (lambda d: d.update(track="rl"), "field 'track' must be"),
    "bad date": (lambda d: d.update(date="2026-02-30"), "not a valid calendar date"),
    "empty method": (lambda d: d.update(method=" "), "field 'method' must be a non-empty string"),
    "bad authors": (lambda d: d.update(authors=[]), "field 'authors'"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_rejection_leaves_store_unchanged(case, store_dir, make_sub, write_json, run_cli, snap):
    mutation, phrase = REJECTIONS[case]
    if isinstance(mutation, str):
        path = write_json(mutation)
    else:
        d = make_sub(order=list(random_order(tasks.load(TASK).graph, seed=7)))
        if case == "claimed cost mismatch":
            d = make_sub()  # the reverse order costs 90 (docs/tasks.md section 7.1)
            d["order"] = list(reverse_order(tasks.load(TASK).graph))
            d["method"] = "another method"
        mutation(d)
        path = write_json(d)
    before = snap(store_dir)
    rc, out, err = run_cli("submit", str(path), "--leaderboard", str(store_dir), "--skip-executor")
    assert rc == (1 if case in VERIFICATION else 2), err
    assert "rejected:" in err and phrase in err, err
    assert err.count("\n") == 1, err  # one line
    assert out == ""
    assert snap(store_dir) == before


def test_duplicate_entry_points_to_existing(store_dir, make_sub, write_json, run_cli, snap):
    # same task, model and order as the stored reverse-mode entry, other metadata
    d = make_sub(method="someone else", authors=["Other"], date="2026-03-04")
    before = snap(store_dir)
    rc, _, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(store_dir))
    assert rc == 1
    existing = next((store_dir / "submissions" / TASK).glob("*.json"))
    stored = [json.loads(p.read_text()) for p in (store_dir / "submissions" / TASK).glob("*.json")]
    rev = next(s for s in stored if s["order"] == d["order"])
    assert "duplicate:" in err and f"submissions/{TASK}/{rev['id']}.json" in err, err
    assert existing.exists()
    assert snap(store_dir) == before


def test_same_order_other_model_is_not_a_duplicate(store_dir, make_sub, write_json, run_cli):
    rc, out, err = run_cli("submit", str(write_json(make_sub(model="exact"))), "--leaderboard",
                           str(store_dir), "--skip-executor")
    assert rc == 0, err
    assert "model exact" in out


def test_missing_leaderboard_folder_is_usage_error(tmp_path, make_sub, write_json, run_cli):
    rc, _, err = run_cli("submit", str(write_json(make_sub())), "--leaderboard", str(tmp_path / "nope"))
    assert rc == 2 and "does not exist" in err


def test_missing_submission_file(store_dir, run_cli, tmp_path):
    rc, _, err = run_cli("submit", str(tmp_path / "absent.json"), "--leaderboard", str(store_dir))
    assert rc == 2 and "does not exist" in err


def test_accepted_entry_stores_costs_of_both_models(tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    f = tasks.load("f")
    # f's published order: 6374 in the paper-compatible model, 6566 in the consistent one
    # (docs/tasks.md section 7.1); submitted under the alias "f", claimed in the exact model
    d = make_sub(task="f", order=list(f.paper.best_order), model="exact", claimed_cost=6566)
    rc, out, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(root), "--skip-executor")
    assert rc == 0, err
    assert "verified cost 6566 (alphagrad 6374)" in out and "rank 1 of 1" in out
    [path] = (root / "submissions" / "RandomFunction_f").glob("*.json")
    stored = json.loads(path.read_text())
    assert stored["task"] == "RandomFunction_f"
    assert stored["verified"]["costs"] == {"alphagrad": 6374, "exact": 6566}
    assert stored["verified"]["executor"]["status"] == "skipped"
    assert "on request" in stored["verified"]["executor"]["detail"]
    assert path.stem == stored["id"]
    assert (root / "LEADERBOARD.md").exists() and (root / "index.html").exists()


def test_claim_in_wrong_model_is_rejected(tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    f = tasks.load("f")
    d = make_sub(task="f", order=list(f.paper.best_order), model="exact", claimed_cost=6374)
    rc, _, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(root))
    assert rc == 1
    assert "disagrees with the verified cost 6566" in err and "model 'alphagrad': 6374" in err


def test_random_orders_recomputed_not_claimed(tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    g = tasks.load("RoeFlux_3d").graph
    for seed in range(3):
        order = random_order(g, seed)
        d = make_sub(task="RoeFlux_3d", order=list(order), method=f"random {seed}")
        rc, _, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(root), "--skip-executor")
        assert rc == 0, err
    for p in (root / "submissions" / "RoeFlux_3d").glob("*.json"):
        e = json.loads(p.read_text())
        assert e["verified"]["costs"] == {m: cost(g, e["order"], m) for m in ("alphagrad", "exact")}
