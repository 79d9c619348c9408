"""The store: `leaderboard check` reports every damaged or hand-edited entry (exit 1), nothing is
skipped silently, a damaged store refuses new writes, and an interrupted write leaves no trace."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from crosscountry_gym import tasks
from crosscountry_gym.baselines import random_order
from crosscountry_gym.leaderboard import Store, StoreError

TASK = "PropaneCombustion"


def _resign(d: dict) -> dict:
    """Recompute entry_sha256 as documented in leaderboard/README.md (independent of the code)."""
    body = {k: v for k, v in d.items() if k != "entry_sha256"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**body, "entry_sha256": hashlib.sha256(canon.encode()).hexdigest()}


def _entries(root):
    return sorted((root / "submissions" / TASK).glob("*.json"))


def _edit(path, fn):
    d = json.loads(path.read_text())
    fn(d)
    path.write_text(json.dumps(d))


def _truncate(root):
    p = _entries(root)[0]
    p.write_text(p.read_text()[:50])
    return p.name, "not valid JSON"


def _hand_edit_method(root):
    p = _entries(root)[0]
    _edit(p, lambda d: d.update(method="better-sounding name"))
    return p.name, "edited by hand"


def _inflate_costs(root):
    p = _entries(root)[0]
    d = json.loads(p.read_text())
    d["verified"]["costs"]["exact"] -= 1
    p.write_text(json.dumps(_resign(d)))
    return p.name, "differ from the recomputed"


def _lower_claim(root):
    p = _entries(root)[0]
    d = json.loads(p.read_text())
    d["claimed_cost"] -= 5
    d["verified"]["costs"]["alphagrad"] -= 5
    p.write_text(json.dumps(_resign(d)))
    return p.name, "disagrees with the verified cost"


def _swap_order(root):
    p = _entries(root)[0]
    d = json.loads(p.read_text())
    d["order"][0], d["order"][1] = d["order"][1], d["order"][0]
    p.write_text(json.dumps(_resign(d)))
    return p.name, ""  # either the costs or the id no longer match; both are reported


def _wrong_folder(root):
    p = _entries(root)[0]
    (root / "submissions" / "MLP").mkdir()
    shutil.move(p, root / "submissions" / "MLP" / p.name)
    return p.name, "is in folder MLP"


def _renamed(root):
    p = _entries(root)[0]
    p.rename(p.with_name("my-entry.json"))
    return "my-entry.json", "file name should be"


def _leftover_tmp(root):
    (root / "submissions" / TASK / ".x.json.abc.tmp").write_text("{")
    return ".x.json.abc.tmp", "leftover temporary file"


def _stray_file(root):
    (root / "submissions" / TASK / "notes.txt").write_text("hello")
    return "notes.txt", "unexpected file"


def _unknown_task_folder(root):
    (root / "submissions" / "Foo").mkdir()
    return "submissions/Foo", "folder is not a task name"


def _raw_submission_copied_in(root):
    p = _entries(root)[0]
    d = json.loads(p.read_text())
    for k in ("id", "verified", "entry_sha256"):
        d.pop(k)
    (root / "submissions" / TASK / "raw.json").write_text(json.dumps(d))
    return "raw.json", "lacks field 'id'"


def _duplicate(root):
    p = _entries(root)[0]
    d = json.loads(p.read_text())
    d["method"] = "same order, new name"
    from crosscountry_gym.leaderboard.schema import order_key

    d["id"] = "alphagrad-same-order-new-name-" + order_key(TASK, d["cost_model"], d["order"])[:12]
    (root / "submissions" / TASK / f"{d['id']}.json").write_text(json.dumps(_resign(d)))
    return "", "(same task, model and order)"


def _stale_md(root):
    p = root / "LEADERBOARD.md"
    p.write_text(p.read_text().replace("| 1 |", "| 0 |", 1))
    return "LEADERBOARD.md", "stale"


def _missing_html(root):
    (root / "index.html").unlink()
    return "index.html", "missing"


DAMAGE = {f.__name__.lstrip("_"): f for f in (
    _truncate, _hand_edit_method, _inflate_costs, _lower_claim, _swap_order, _wrong_folder,
    _renamed, _stray_file, _unknown_task_folder, _raw_submission_copied_in,
    _duplicate, _stale_md, _missing_html,
)}
RENDER_ONLY = {"stale_md", "missing_html"}


def test_clean_store_passes_check(store_dir, run_cli):
    rc, out, err = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert rc == 0, out + err
    assert out.startswith("ok: 2 entries verified")


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_check_reports_damage(damage, store_dir, run_cli, make_sub, write_json, snap):
    name, phrase = DAMAGE[damage](store_dir)
    rc, out, err = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert rc == 1
    problems = [line for line in out.splitlines() if line.startswith("problem: ")]
    assert problems, out
    assert any(name in line and phrase in line for line in problems), out
    assert "problem(s) in" in err
    if damage in RENDER_ONLY:
        # render repairs the rendered files; check is clean again
        assert run_cli("leaderboard", "render", "--leaderboard", str(store_dir))[0] == 0
        assert run_cli("leaderboard", "check", "--leaderboard", str(store_dir))[0] == 0
        return
    # a damaged store is never rendered or extended with the damaged entries left out
    before = snap(store_dir)
    rc, _, err = run_cli("leaderboard", "--leaderboard", str(store_dir))
    assert rc == 1 and "problem(s)" in err
    rc, _, err = run_cli("leaderboard", "render", "--leaderboard", str(store_dir))
    assert rc == 1 and "problem(s)" in err
    order = random_order(tasks.load(TASK).graph, seed=99)
    rc, _, err = run_cli("submit", str(write_json(make_sub(order=list(order)))), "--leaderboard",
                         str(store_dir), "--skip-executor")
    assert rc == 1 and "the store has problems" in err
    assert snap(store_dir) == before


def test_leftover_tmp_is_reported_then_cleaned(store_dir, run_cli, make_sub, write_json, snap):
    """A dead writer's temporary file is reported by `check` (which changes nothing) and removed
    by the next command holding the lock: it does not block the store."""
    name, phrase = _leftover_tmp(store_dir)
    before = snap(store_dir)
    rc, out, _ = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert rc == 1 and name in out and phrase in out
    assert snap(store_dir) == before
    order = random_order(tasks.load(TASK).graph, seed=99)
    rc, out, err = run_cli("submit", str(write_json(make_sub(order=list(order)))), "--leaderboard",
                           str(store_dir), "--skip-executor")
    assert rc == 0, err
    assert "note: removed the leftover temporary file" in err and name in err
    assert run_cli("leaderboard", "check", "--leaderboard", str(store_dir))[0] == 0


def test_interrupted_write_leaves_store_unchanged(store_dir, make_sub, monkeypatch, snap):
    from crosscountry_gym.leaderboard import store as store_mod
    from crosscountry_gym.leaderboard import submit_submission
    from crosscountry_gym.leaderboard.schema import parse_submission

    def crash(src, dst):
        raise OSError("disk full (simulated)")

    before = snap(store_dir)
    monkeypatch.setattr(store_mod.os, "replace", crash)
    order = random_order(tasks.load(TASK).graph, seed=5)
    with pytest.raises(StoreError, match="cannot write .*simulated"):
        submit_submission(parse_submission(make_sub(order=list(order))), store_dir, skip_executor=True)
    monkeypatch.undo()
    # the journal write failed first: no half-written entry, no temporary file, no journal
    assert snap(store_dir) == before
    assert Store(store_dir).check() == []


def test_store_requires_existing_folder(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing")
