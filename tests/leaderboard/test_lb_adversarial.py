"""The leaderboard under abuse: every case of issue 15 and its neighbours.

Four groups, each case a test:

* **refused at submit** (:data:`SUBMIT_REFUSALS`, :data:`FILE_REFUSALS`): a one-line message
  naming the problem, CLI exit status 2 (unreadable input) and the store byte-identical;
* **neutralised** (:data:`INJECTIONS`): markup, control and bidi characters in any text field are
  accepted only cleaned and escaped: nothing reaches ``LEADERBOARD.md``, ``index.html``, the
  stored entry or the terminal raw;
* **forged or damaged stores** (:data:`STORE_DAMAGE`): ``leaderboard check`` fails (exit 1) with a
  one-line problem naming the file, changes nothing, and ``submit`` and ``render`` refuse with
  the store byte-identical;
* **dead writers** (:data:`KILL_POINTS`): a writer killed with SIGKILL at each step of a write
  (paused there by the store's fault hook), then a successful submit and render with no manual
  step, every earlier entry byte-identical, and the killed write either complete or absent.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crosscountry_gym import cost, tasks
from crosscountry_gym.baselines import random_order, reverse_order
from crosscountry_gym.leaderboard import Store, StoreError, SubmissionFormatError, render_text
from crosscountry_gym.leaderboard.safety import MAX_SUBMISSION_BYTES, TEXT_LIMITS
from crosscountry_gym.leaderboard.schema import loads_json

TASK = "PropaneCombustion"
GRAPH = tasks.load(TASK).graph


def _order(seed: int) -> list[int]:
    return list(random_order(GRAPH, seed=seed))


def _refused(rc: int, err: str, code: int, *phrases: str) -> None:
    """A clear refusal: the exit status, one line on stderr, naming the problem."""
    assert rc == code, err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert len(err) < 2000, err
    for phrase in phrases:
        assert phrase in err, err


def _entries_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "submissions").rglob("*.json"))}


# -- refused at submit --------------------------------------------------------------------------

BIG_METHOD = "m" * 2_000_000
SUBMIT_REFUSALS = {
    # name: (overrides of the submission, phrases of the message)
    "2 MB method name": (dict(method=BIG_METHOD), ("bytes; the limit is", str(MAX_SUBMISSION_BYTES))),
    "20 MB of notes": (dict(notes="n" * 20_000_000), ("bytes; the limit is",)),
    **{
        f"{field} over its limit": (
            {field: "x" * (limit + 1)} if field != "authors" else {field: ["x" * (limit + 1)]},
            (f"field '{field}" if field != "authors" else "field 'authors[0]'",
             f"is {limit + 1} characters long; the limit is {limit}"),
        )
        for field, limit in TEXT_LIMITS.items()
    },
    "21 authors": (dict(authors=[f"a{i}" for i in range(21)]), ("field 'authors' has 21 names",)),
    "1001 seeds": (dict(seeds=list(range(1001))), ("field 'seeds' has 1001 values",)),
    "seed out of range": (dict(seeds=[2**64]), ("field 'seeds'[0] is out of range",)),
    "claimed cost 2**63": (dict(claimed_cost=2**63), ("field 'claimed_cost' must be",)),
    "lone surrogate in method": (dict(method="ab\ud800c"), ("field 'method'", "lone surrogate U+D800")),
    "lone surrogate in an author": (dict(authors=["ok", "\udfff"]), ("field 'authors[1]'", "U+DFFF")),
    "lone surrogate in notes": (dict(notes="\udc80"), ("field 'notes'", "lone surrogate")),
    "lone surrogate in task": (dict(task="MLP\ud800"), ("field 'task'", "lone surrogate")),
    "lone surrogate in a key": ({"x\ud800": 1}, ("unknown field 'x\\ud800'",)),
    "only control characters as method": (dict(method="\x00\r\n\u202e"),
                                          ("field 'method' must be a non-empty",)),
    "method is a list": (dict(method=["a"] * 10_000), ("field 'method' must be a string", "list")),
    "100-deep value in a field": (dict(notes=json.loads("[" * 100 + "]" * 100)), ("nested more than 8",)),
}


@pytest.mark.parametrize("case", list(SUBMIT_REFUSALS))
def test_submit_refuses(case, store_dir, make_sub, write_json, run_cli, snap):
    overrides, phrases = SUBMIT_REFUSALS[case]
    d = make_sub(order=_order(3))
    d.update(overrides)
    # ensure_ascii: lone surrogates travel as \ud800 escapes, as an editor would write them
    path = write_json(json.dumps(d, ensure_ascii=True))
    before = snap(store_dir)
    rc, out, err = run_cli("submit", str(path), "--leaderboard", str(store_dir), "--skip-executor")
    _refused(rc, err, 2, "rejected:", *phrases)
    assert out == ""
    assert snap(store_dir) == before


def _deep(n: int) -> str:
    return "[" * n + "]" * n


FILE_REFUSALS = {
    # name: (function(tmp_path) -> path of the submission, phrases)
    "200,000-deep nested JSON": (lambda t: _write(t, _deep(200_000)), ("bytes; the limit is",)),
    "100,000-deep nested JSON (under the size limit)": (
        lambda t: _write(t, _deep(100_000)), ("nested more than 8 levels deep",)),
    "2,000-deep nested object": (
        lambda t: _write(t, '{"a":' * 2000 + "1" + "}" * 2000), ("nested more than 8 levels deep",)),
    "a folder": (lambda t: _mkdir(t / "somedir"), ("is a folder, not a file",)),
    "a named pipe": (lambda t: _fifo(t / "pipe.json"), ("is not a regular file",)),
    "not UTF-8": (lambda t: _write(t, b'{"method": "\xff\xfe"}'), ("is not UTF-8 text (byte 0xff",)),
    "duplicate key": (lambda t: _write(t, '{"method": "a", "method": "b"}'), ("'method' appears twice",)),
    "NaN": (lambda t: _write(t, '{"claimed_cost": NaN}'), ("NaN is not a JSON number",)),
    "a 5000-digit integer": (lambda t: _write(t, '{"claimed_cost": ' + "9" * 5000 + "}"),
                             ("is not valid JSON",)),
    "empty file": (lambda t: _write(t, ""), ("is not valid JSON",)),
    "a newline in the file name": (lambda t: _write(t, "[", name="bad\nname.json"), ("bad\\nname.json",)),
}


def _write(folder: Path, data, name: str = "sub.json") -> Path:
    p = folder / name
    (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
    return p


def _mkdir(p: Path) -> Path:
    p.mkdir()
    return p


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


@pytest.mark.parametrize("case", list(FILE_REFUSALS))
def test_submit_refuses_unreadable_file(case, store_dir, tmp_path, run_cli, snap):
    make, phrases = FILE_REFUSALS[case]
    path = make(tmp_path)
    before = snap(store_dir)
    rc, out, err = run_cli("submit", str(path), "--leaderboard", str(store_dir))
    _refused(rc, err, 2, "rejected:", *phrases)
    assert snap(store_dir) == before


@pytest.mark.parametrize("case", ["200,000-deep nested JSON",
                                  "100,000-deep nested JSON (under the size limit)",
                                  "a folder", "a named pipe", "duplicate key"])
def test_verify_refuses_unreadable_file(case, tmp_path, run_cli):
    make, phrases = FILE_REFUSALS[case]
    rc, _, err = run_cli("verify", TASK, str(make(tmp_path)))
    _refused(rc, err, 2, *phrases)


def test_loads_json_never_recurses():
    for text in (_deep(200_000), '{"a":' * 200_000 + "1" + "}" * 200_000):
        with pytest.raises(SubmissionFormatError, match="nested more than 8 levels"):
            loads_json(text, "x")


def test_leaderboard_folder_that_is_a_file(tmp_path, make_sub, write_json, run_cli):
    (tmp_path / "afile").write_text("x")
    rc, _, err = run_cli("submit", str(write_json(make_sub())), "--leaderboard", str(tmp_path / "afile"))
    _refused(rc, err, 2, "is not a folder")


# -- neutralised ---------------------------------------------------------------------------------

PAYLOADS = {
    "html and a javascript link": "<img src=x onerror=alert(1)> [x](javascript:alert(1))",
    "script tag": "</td><script>alert(1)</script>",
    "markdown image": "![t](https://evil.example/x.png)",
    "table break": "a | b | c\n| --- |",
    "entity trick": "&lt;img src=x onerror=alert(1)&gt;",
    "emphasis and code": "**bold** _it_ `code` ~~s~~ $x$",
    "NUL and CR": "a\x00b\rc",
    "ANSI escape": "\x1b[31mred\x1b[0m \x1b]0;title\x07",
    "bidi override": "\u202eevil\u202c txt.exe",
    "bidi isolates and marks": "\u2066a\u2069\u200e\u200f\u061c",
    "zero width and BOM": "a\u200bb\ufeffc\u2060",
    "line separators": "a\u2028b\u2029c\x85d",
    "attribute break": "\" onmouseover=\"alert(1)",
}
INJECTION_FIELDS = ("method", "notes", "hardware", "compute_budget", "authors")
INJECTIONS = [(p, f) for p in PAYLOADS for f in INJECTION_FIELDS]
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060"
                  "\u2066-\u2069\ufeff\u2028\u2029]")


@pytest.mark.parametrize("payload,field", INJECTIONS, ids=[f"{p}-{f}" for p, f in INJECTIONS])
def test_injection_is_neutralised(payload, field, tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    text = PAYLOADS[payload]
    d = make_sub(order=_order(4), **{field: [text, "B"] if field == "authors" else text})
    if field == "method":
        d["method"] = "m " + text  # a method that is all control characters is refused
    rc, out, err = run_cli("submit", str(write_json(d)), "--leaderboard", str(root), "--skip-executor")
    assert rc == 0, err
    assert not _RAW.search(out + err)
    entry_file = next((root / "submissions" / TASK).glob("*.json"))
    stored = entry_file.read_text(encoding="utf-8")
    md = (root / "LEADERBOARD.md").read_text(encoding="utf-8")
    page = (root / "index.html").read_text(encoding="utf-8")
    for name, rendered in (("entry", stored), ("LEADERBOARD.md", md), ("index.html", page)):
        assert not _RAW.search(rendered), (name, _RAW.search(rendered))
    # Markdown: no raw HTML, links, images or extra cells
    for bad in ("<img", "<script", "</td>", "![", "**bold**", "`code`"):
        assert bad not in md, bad
    assert not re.search(r"(?<!\\)\]\(javascript:", md)  # only as escaped text: \](javascript:
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and "entry" not in ln]
    header = next(ln for ln in md.splitlines() if ln.startswith("| rank |"))
    n_cells = len(re.findall(r"(?<!\\)\|", header))
    for row in rows:
        if "submissions/" in row:
            assert len(re.findall(r"(?<!\\)\|", row)) == n_cells, row
    # HTML: the only script is the page's own, no element or attribute from the payload
    assert page.count("<script") == 1 and "<img" not in page and "</td><script" not in page
    assert 'onmouseover="' not in page and "<img " not in page
    # the terminal table
    assert not _RAW.search(render_text(Store(root).entries()))
    assert Store(root).check() == []


@pytest.mark.parametrize("code", ["javascript:alert(1)", "https://x\" onclick=\"alert(1)",
                                  "data:text/html,<script>alert(1)</script>"])
def test_code_link_only_for_plain_http_urls(code, tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    rc, _, err = run_cli("submit", str(write_json(make_sub(code=code))), "--leaderboard", str(root),
                         "--skip-executor")
    assert rc == 0, err
    page = (root / "index.html").read_text(encoding="utf-8")
    assert "href=\"javascript" not in page and "href=\"data:" not in page
    assert "onclick=\"" not in page and page.count("<script") == 1


# -- forged or damaged stores --------------------------------------------------------------------


def _resign(d: dict) -> dict:
    """Recompute entry_sha256 as documented in leaderboard/README.md (independent of the code)."""
    body = {k: v for k, v in d.items() if k != "entry_sha256"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**body, "entry_sha256": hashlib.sha256(canon.encode()).hexdigest()}


def _first(root: Path) -> Path:
    return sorted((root / "submissions" / TASK).glob("*.json"))[0]


def _manifest(root: Path) -> dict:
    return json.loads((root / "submissions" / "manifest.json").read_text())


def _save_manifest(root: Path, m: dict) -> None:
    (root / "submissions" / "manifest.json").write_text(json.dumps(m))


def _forge_verdict_and_date(root):
    """The issue's forgery: executor 'passed', date 1900-01-01, entry_sha256 recomputed."""
    p = _first(root)
    d = json.loads(p.read_text())
    d["verified"]["executor"] = {"status": "passed", "detail": "Jacobian equals jax.jacrev"}
    d["date"] = "1900-01-01"
    p.write_text(json.dumps(_resign(d)))
    return p.name, "changed since the store recorded it"


def _forge_and_add_by_hand(root):
    """A valid, correctly checksummed entry written by hand (never submitted)."""
    p = _first(root)
    d = json.loads(p.read_text())
    order = list(reverse_order(GRAPH))
    order[8], order[9] = order[9], order[8]  # another order of the same cost (90)
    from crosscountry_gym.leaderboard.schema import order_key

    d.update(order=order, claimed_cost=cost(GRAPH, order, "alphagrad"), method="hand made")
    d["verified"]["costs"] = {m: cost(GRAPH, order, m) for m in ("alphagrad", "exact")}
    d["id"] = "alphagrad-hand-made-" + order_key(TASK, "alphagrad", order)[:12]
    (p.parent / f"{d['id']}.json").write_text(json.dumps(_resign(d)))
    return d["id"], "not recorded in submissions/manifest.json"


def _drop_manifest_record(root):
    m = _manifest(root)
    gone = m["entries"].pop(0)
    _save_manifest(root, m)
    return gone["path"].split("/")[1], "not recorded"


def _delete_manifest(root):
    (root / "submissions" / "manifest.json").unlink()
    return "manifest.json", "missing"


def _damage_manifest(root):
    (root / "submissions" / "manifest.json").write_text(_deep(50_000))
    return "manifest.json", "nested more than 8 levels"


def _manifest_seq_not_increasing(root):
    m = _manifest(root)
    m["entries"][1]["seq"] = m["entries"][0]["seq"]
    _save_manifest(root, m)
    return "manifest.json", "'seq' must be an integer above the previous one"


def _record_for_missing_file(root):
    _first(root).unlink()
    return "", "recorded in submissions/manifest.json but the file is missing"


def _control_chars_in_stored_entry(root):
    """NUL and U+202E written into a stored entry, checksum and manifest record updated."""
    p = _first(root)
    d = _resign({**json.loads(p.read_text()), "method": "test\x00method\u202e"})
    p.write_text(json.dumps(d))
    m = _manifest(root)
    for r in m["entries"]:
        if r["path"].endswith(p.name):
            r["entry_sha256"] = d["entry_sha256"]
    _save_manifest(root, m)
    return p.name, "stored field 'method' is not in the form `submit` writes"


def _surrogate_in_stored_entry(root):
    p = _first(root)
    p.write_text(p.read_text().replace('"test method"', '"test \\ud800 method"'))
    return p.name, "field 'method' contains a lone surrogate"


def _deep_stored_entry(root):
    p = _first(root)
    p.write_text(_deep(300_000))
    return p.name, "bytes; the limit is"


def _deep_small_stored_entry(root):
    p = _first(root)
    p.write_text(_deep(100_000))
    return p.name, "nested more than 8 levels"


def _huge_stored_entry(root):
    p = _first(root)
    p.write_text(" " * 600_000 + p.read_text())
    return p.name, "bytes; the limit is"


def _fifo_entry(root):
    p = _first(root)
    p.unlink()
    os.mkfifo(p)
    return p.name, "is not a regular file"


def _symlinked_task_folder(root):
    folder = root / "submissions" / TASK
    elsewhere = root.parent / "elsewhere"
    shutil.move(folder, elsewhere)
    folder.symlink_to(elsewhere, target_is_directory=True)
    return f"submissions/{TASK}", "is a symbolic link"


def _symlinked_entry(root):
    p = _first(root)
    target = root.parent / "target.json"
    shutil.move(p, target)
    p.symlink_to(target)
    return p.name, "is a symbolic link"


def _symlinked_submissions(root):
    sub = root / "submissions"
    shutil.move(sub, root.parent / "subs")
    sub.symlink_to(root.parent / "subs", target_is_directory=True)
    return "submissions", "is a symbolic link"


def _rendered_is_folder(root):
    (root / "LEADERBOARD.md").unlink()
    (root / "LEADERBOARD.md").mkdir()
    return "LEADERBOARD.md", "is not a regular file"


def _rendered_is_symlink(root):
    (root / "index.html").unlink()
    (root.parent / "other.html").write_text("<html></html>")
    (root / "index.html").symlink_to(root.parent / "other.html")
    return "index.html", "is a symbolic link"


def _undecodable_file_name(root):
    folder = os.fsencode(root / "submissions" / TASK)
    fd = os.open(folder + b"/\xff\x1b[2J.json", os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"{}")
    os.close(fd)
    return "\\udcff\\x1b[2J.json", "lacks field 'id'"


STORE_DAMAGE = {f.__name__.lstrip("_"): f for f in (
    _forge_verdict_and_date, _forge_and_add_by_hand, _drop_manifest_record, _delete_manifest,
    _damage_manifest, _manifest_seq_not_increasing, _record_for_missing_file,
    _control_chars_in_stored_entry, _surrogate_in_stored_entry, _deep_stored_entry,
    _deep_small_stored_entry, _huge_stored_entry, _fifo_entry, _symlinked_task_folder,
    _symlinked_entry, _symlinked_submissions, _rendered_is_folder, _rendered_is_symlink,
    _undecodable_file_name,
)}


@pytest.mark.parametrize("damage", list(STORE_DAMAGE))
def test_check_catches_forgery_and_damage(damage, store_dir, fake_executor, run_cli, make_sub,
                                          write_json, snap):
    # the executor (faked: fast) cannot run these orders; a forged 'passed' must not survive
    fake_executor(lambda task, order: (_ for _ in ()).throw(NotImplementedError("cannot run")))
    name, phrase = STORE_DAMAGE[damage](store_dir)
    before = snap(store_dir)
    rc, out, err = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert rc == 1, out + err
    problems = [ln for ln in out.splitlines() if ln.startswith("problem: ")]
    assert out.count("\n") == len(problems), out  # one line per problem
    assert any(name in ln and phrase in ln for ln in problems), out
    assert snap(store_dir) == before  # check changes nothing
    rc, _, err = run_cli("leaderboard", "render", "--leaderboard", str(store_dir))
    _refused(rc, err, 1, "problem(s)")
    rc, _, err = run_cli("submit", str(write_json(make_sub(order=_order(9)))), "--leaderboard",
                         str(store_dir), "--skip-executor")
    _refused(rc, err, 1, "the store has problems")
    assert snap(store_dir) == before


def test_forged_verdict_fails_the_fresh_executor_run(store_dir, fake_executor):
    fake_executor(lambda task, order: (_ for _ in ()).throw(NotImplementedError("cannot run")))
    name, _ = _forge_verdict_and_date(store_dir)
    problems = [str(p) for p in Store(store_dir).check()]
    assert any(name in p and "stored executor verdict 'passed' is not confirmed by a fresh run" in p
               for p in problems), problems


def test_forged_manifest_is_caught_against_a_trusted_copy(store_dir, fake_executor, tmp_path, run_cli):
    """The forger also updates the manifest (checksum, and moves the entry ahead in the store
    order): the store's own record then agrees, but a trusted copy of the manifest (e.g. the
    main branch's) does not, and the fresh executor run refutes the verdict."""
    fake_executor(lambda task, order: (_ for _ in ()).throw(NotImplementedError("cannot run")))
    base = tmp_path / "base-manifest.json"
    shutil.copy(store_dir / "submissions" / "manifest.json", base)
    p = _first(store_dir)
    d = json.loads(p.read_text())
    d["verified"]["executor"] = {"status": "passed", "detail": "Jacobian equals jax.jacrev"}
    d = _resign(d)
    p.write_text(json.dumps(d))
    m = _manifest(store_dir)
    rec = next(r for r in m["entries"] if r["path"].endswith(p.name))
    rec["entry_sha256"] = d["entry_sha256"]
    seqs = [r["seq"] for r in m["entries"]]
    for r, s in zip(m["entries"], reversed(seqs), strict=True):  # reverse the store order
        r["seq"] = s
    m["entries"].sort(key=lambda r: r["seq"])
    _save_manifest(store_dir, m)
    rc, out, _ = run_cli("leaderboard", "check", "--leaderboard", str(store_dir), "--base-manifest",
                         str(base))
    assert rc == 1
    assert "stored executor verdict 'passed' is not confirmed" in out
    assert "the manifest is append-only" in out


def test_ties_follow_store_order_not_the_date(tmp_path, make_sub, write_json, run_cli):
    root = tmp_path / "lb"
    root.mkdir()
    first = list(reverse_order(GRAPH))
    second = first.copy()
    second[8], second[9] = second[9], second[8]
    assert cost(GRAPH, first, "alphagrad") == cost(GRAPH, second, "alphagrad")
    for order, method, date in ((first, "early bird", "2026-05-01"), (second, "late claim", "1900-01-01")):
        rc, _, err = run_cli("submit", str(write_json(make_sub(order=order, method=method, date=date))),
                             "--leaderboard", str(root), "--skip-executor")
        assert rc == 0, err
    entries = Store(root).entries()
    assert sorted(e.seq for e in entries) == [1, 2]
    from crosscountry_gym.leaderboard.ranking import ranked

    assert [r.entry.submission.method for r in ranked(entries, TASK, "alphagrad")] == [
        "early bird", "late claim"]
    assert Store(root).check() == []


def test_full_executor_recheck_of_the_committed_store_is_available(run_cli):
    """`check --executor none` skips the executor; the default re-runs it only for new or
    changed entries: none in the committed store, so CI stays fast."""
    committed = Path(__file__).resolve().parents[2] / "leaderboard"
    store = Store(committed)
    assert store.check() == [] and store.executor_reruns == 0
    assert store.check(executor="none") == []
    with pytest.raises(StoreError, match="executor must be one of"):
        store.check(executor="sometimes")


# -- dead writers --------------------------------------------------------------------------------

KILL_DRIVER = textwrap.dedent(
    """
    import fnmatch, os, pathlib, sys, time
    from crosscountry_gym.leaderboard import store as store_mod
    from crosscountry_gym.cli import main
    point, marker = sys.argv[1], pathlib.Path(sys.argv[2])

    def hook(name):
        if fnmatch.fnmatch(name, point):
            marker.write_text(name)
            time.sleep(600)  # paused at the worst moment, until the test kills us

    store_mod.FAULT_HOOK = hook
    sys.exit(main(sys.argv[3:]))
    """
)

# step of a submit -> whether the killed submission is complete (True) or absent (False) after
KILL_POINTS = {
    "rename .submit.journal": False,  # journal written to its temporary file, not renamed
    "journal": False,
    "rename *-*.json": False,  # the entry's temporary file, before its rename
    "entry": False,  # entry in place, not yet recorded in the manifest
    "rename manifest.json": False,
    "manifest": True,  # recorded; the journal not yet removed
    "done": True,  # journal removed; nothing rendered yet
    "rename LEADERBOARD.md": True,  # killed while rendering
    "rename index.html": True,
}


def _kill_at(point: str, tmp_path: Path, *argv: str) -> str:
    """Run the CLI in a subprocess, pause it at ``point`` with the fault hook, SIGKILL it."""
    marker = tmp_path / f"paused-{len(list(tmp_path.iterdir()))}"
    proc = subprocess.Popen([sys.executable, "-c", KILL_DRIVER, point, str(marker), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not marker.exists():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"writer never reached {point!r}: {proc.communicate()}")
        time.sleep(0.02)
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return marker.read_text()


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_writer_killed_mid_submit_blocks_nobody(point, store_dir, tmp_path, make_sub, write_json,
                                                run_cli):
    before = _entries_of(store_dir)
    killed = make_sub(order=_order(21), method="killed writer")
    hit = _kill_at(point, tmp_path, "submit", str(write_json(killed)), "--leaderboard", str(store_dir),
                   "--skip-executor")
    assert fnmatch.fnmatch(hit, point)
    # check reports what the dead writer left, without a traceback and without changing it
    leftovers = sorted(p.name for p in store_dir.rglob("*") if p.name.endswith((".tmp", ".journal")))
    rc, out, err = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert "Traceback" not in err
    for name in leftovers:
        assert name in out, (name, out)
    # no manual step: the next submit cleans up (the lock died with the writer) and succeeds
    t0 = time.time()
    rc, out, err = run_cli("submit", str(write_json(make_sub(order=_order(22), method="next"))),
                           "--leaderboard", str(store_dir), "--skip-executor")
    assert rc == 0, err
    assert time.time() - t0 < 60
    assert all(name in err for name in leftovers), err
    rc, _, err = run_cli("leaderboard", "render", "--leaderboard", str(store_dir))
    assert rc == 0, err
    rc, out, err = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert rc == 0, out + err
    after = _entries_of(store_dir)
    for rel, data in before.items():  # nothing accepted before was lost or changed
        if not rel.endswith("manifest.json"):
            assert after[rel] == data, rel
    methods = [e.submission.method for e in Store(store_dir).entries()]
    assert methods.count("next") == 1
    assert methods.count("killed writer") == (1 if KILL_POINTS[point] else 0)
    assert not [p for p in store_dir.rglob("*") if p.name.endswith((".tmp", ".journal"))]


def test_render_killed_mid_way_leaves_nothing_blocking(store_dir, tmp_path, run_cli):
    for name in ("LEADERBOARD.md", "index.html"):  # make both stale, so both are rewritten
        p = store_dir / name
        p.write_text(p.read_text() + "stale\n")
    _kill_at("rename index.html", tmp_path, "leaderboard", "render", "--leaderboard", str(store_dir))
    [tmp] = [p.name for p in store_dir.glob(".*.tmp")]
    rc, out, _ = run_cli("leaderboard", "check", "--leaderboard", str(store_dir))
    assert rc == 1 and f"problem: {tmp}: leftover temporary file" in out
    assert "index.html: stale" in out
    rc, _, err = run_cli("leaderboard", "render", "--leaderboard", str(store_dir))
    assert rc == 0 and tmp in err, err
    assert run_cli("leaderboard", "check", "--leaderboard", str(store_dir))[0] == 0


UPDATE_DRIVER = textwrap.dedent(
    """
    import os, pathlib, sys, time
    from crosscountry_gym.leaderboard import Store
    from crosscountry_gym.leaderboard import store as store_mod
    root, marker = sys.argv[1], pathlib.Path(sys.argv[2])

    def hook(name):
        if name == "entry":
            marker.write_text(name)
            time.sleep(600)

    store_mod.FAULT_HOOK = hook
    store = Store(root)
    e = store.entries()[0]
    store.update_executor(e, {"status": "passed", "detail": "fake"})
    """
)


def test_writer_killed_mid_update_is_restored(store_dir, tmp_path, run_cli):
    before = _entries_of(store_dir)
    marker = tmp_path / "paused"
    proc = subprocess.Popen([sys.executable, "-c", UPDATE_DRIVER, str(store_dir), str(marker)])
    deadline = time.time() + 120
    while not marker.exists():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _entries_of(store_dir) != before  # the entry was rewritten, the manifest not
    rc, _, err = run_cli("leaderboard", "render", "--leaderboard", str(store_dir))
    assert rc == 0 and "restored submissions/" in err, err
    assert _entries_of(store_dir) == before  # byte-identical to before the interrupted update
    assert run_cli("leaderboard", "check", "--leaderboard", str(store_dir))[0] == 0


def test_in_process_crash_rolls_back_at_once(store_dir, make_sub, monkeypatch, snap):
    """A writer that is still alive when a step fails (an I/O error, Ctrl-C) rolls back
    itself: no journal and no half-recorded entry are left for the next writer."""
    from crosscountry_gym.leaderboard import store as store_mod
    from crosscountry_gym.leaderboard import submit_submission
    from crosscountry_gym.leaderboard.schema import parse_submission

    before = snap(store_dir)
    for point in ("journal", "entry", "rename manifest.json"):
        def crash(name, point=point):
            if fnmatch.fnmatch(name, point):
                raise KeyboardInterrupt(point)

        monkeypatch.setattr(store_mod, "FAULT_HOOK", crash)
        with pytest.raises(KeyboardInterrupt):
            submit_submission(parse_submission(make_sub(order=_order(30))), store_dir,
                              skip_executor=True)
        assert snap(store_dir) == before, point
