"""Fuzzing `submit` (hypothesis): random JSON-like submissions, random mutations of a valid one,
and random bytes. `submit` either accepts (then the store passes `check` and nothing rendered
holds a control or bidi character) or refuses with the package's own error types
(:class:`SubmissionError`, :class:`StoreError`) and a one-line message, the store byte-identical.
No other exception, and no earlier entry lost or changed, in any case."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crosscountry_gym import cost, tasks
from crosscountry_gym.baselines import random_order, reverse_order
from crosscountry_gym.leaderboard import (
    Store,
    StoreError,
    SubmissionError,
    submit,
    submit_submission,
)
from crosscountry_gym.leaderboard.schema import OPTIONAL_FIELDS, REQUIRED_FIELDS, parse_submission

TASK = "PropaneCombustion"
GRAPH = tasks.load(TASK).graph
FIELDS = [*REQUIRED_FIELDS, *OPTIONAL_FIELDS]
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\ud800-\udfff]")

# text with everything a user should not get through: controls, bidi, surrogates, markup
nasty_chars = st.sampled_from(list("\x00\r\n\t\x1b\x7f\x85\u202e\u2066\u2069\u200f\u200b\ufeff\u2028"
                                   "<>&|[]()*_`~$\\\"'!#") + ["\ud800", "\udfff", "é", "漢", "🙂"])
texts = st.text(max_size=40) | st.lists(nasty_chars | st.characters(), max_size=40).map("".join)
leaves = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
          | st.floats(allow_nan=True, allow_infinity=True) | texts)
json_values = st.recursive(
    leaves,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(texts | st.sampled_from(FIELDS), c, max_size=4),
    max_leaves=12,
)


def _valid(seed: int) -> dict:
    order = list(random_order(GRAPH, seed=seed))
    return {
        "task": TASK, "fingerprint": GRAPH.fingerprint, "cost_model": "alphagrad", "order": order,
        "claimed_cost": cost(GRAPH, order, "alphagrad"), "method": "fuzz", "track": "learned",
        "authors": ["F"], "code": "https://example.org", "package_version": "0.1.0", "seeds": [],
        "compute_budget": "1 s", "hardware": "h", "date": "2026-01-01",
    }


@st.composite
def mutated(draw) -> dict:
    d = _valid(draw(st.integers(0, 10**6)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(FIELDS) | texts)
        action = draw(st.sampled_from(["replace", "text", "delete", "order"]))
        if action == "delete":
            d.pop(key, None)
        elif action == "text":  # adversarial text where text belongs: may well be accepted
            d[draw(st.sampled_from(["method", "notes", "hardware", "authors", "code"]))] = draw(texts)
        elif action == "order":
            o = d["order"] if isinstance(d.get("order"), list) else []
            d["order"] = draw(st.permutations(o)) if o and draw(st.booleans()) else draw(
                st.lists(st.integers(-3, 70), max_size=60))
        else:
            d[key] = draw(json_values)
    return d


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A store with one entry (copied for every example)."""
    root = tmp_path_factory.mktemp("template") / "lb"
    root.mkdir()
    sub = parse_submission({**_valid(0), "order": list(reverse_order(GRAPH)),
                            "claimed_cost": cost(GRAPH, reverse_order(GRAPH), "alphagrad")})
    submit_submission(sub, root, skip_executor=True)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _one(template: Path, payload: bytes, tally: Counter) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "lb"
        shutil.copytree(template, root)
        path = Path(tmp) / "sub.json"
        path.write_bytes(payload)
        before = _snapshot(root)
        tally["tried"] += 1
        try:
            submit(path, root, skip_executor=True)
        except (SubmissionError, StoreError) as err:
            msg = str(err)
            assert "\n" not in msg and len(msg) < 2000, msg
            if _snapshot(root) != before:
                tally["lost"] += 1
                pytest.fail(f"refused ({msg}) but the store changed")
            tally["refused clearly"] += 1
            return
        after = _snapshot(root)
        lost = [k for k, v in before.items() if k.startswith("submissions/") and
                not k.endswith("manifest.json") and after.get(k) != v]
        tally["lost"] += len(lost)
        assert not lost, lost
        assert Store(root).check() == []
        for name in ("LEADERBOARD.md", "index.html"):
            assert not _RAW.search((root / name).read_text(encoding="utf-8")), name
        for p in (root / "submissions").rglob("*.json"):
            for s in _strings(json.loads(p.read_text(encoding="utf-8"))):
                assert not _RAW.search(s), (p.name, s)
        tally["accepted"] += 1


def _strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from _strings(x)


FUZZ = settings(deadline=None, max_examples=250, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _dump(value) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def test_fuzz_submit(template, capsys):
    tally: Counter = Counter()

    @FUZZ
    @given(st.one_of(mutated(), json_values))
    def json_like(value):
        _one(template, _dump(value), tally)

    @FUZZ
    @given(st.binary(max_size=300) | texts.map(lambda t: t.encode("utf-8", "surrogatepass")))
    def raw(data):
        _one(template, data, tally)

    json_like()
    raw()
    with capsys.disabled():
        print(f"\nfuzz submit: {dict(tally)}")
    assert tally["lost"] == 0
    assert tally["tried"] == tally["refused clearly"] + tally["accepted"]
    assert tally["refused clearly"] > 0 and tally["accepted"] > 0
