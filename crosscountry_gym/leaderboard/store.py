"""The leaderboard store: one JSON file per verified entry, the folder is the source of truth.

Layout of a leaderboard folder ``DIR`` (default ``./leaderboard``)::

    DIR/submissions/<Task>/<entry id>.json   verified entries (reviewable in a pull request)
    DIR/submissions/manifest.json            the store's record: per entry its sequence number
                                             (the order entries entered the store) and the
                                             checksum it was verified with; written only here
    DIR/LEADERBOARD.md, DIR/index.html       rendered from the entries
    DIR/.submit.lock                         lock file (not committed)
    DIR/.submit.journal                      exists only while a write is in progress

Writes are atomic (a temporary file in the same folder, fsync, then ``os.replace``), and every
read-modify-write holds an inter-process :class:`filelock.FileLock`, so concurrent ``submit``
calls from several processes lose nothing. A write that touches two files (the entry and the
manifest) first writes a journal; a writer killed at any point leaves a journal and/or temporary
files, which the next command holding the lock (every command but ``check``) rolls back and
removes: since every writer holds the lock, anything found while holding it belongs to a dead
writer.

:meth:`Store.check` re-verifies every entry (schema, checksum, fingerprint, order, costs
recomputed in both models, file name, duplicates, the manifest's record, stray files, symbolic
links, leftovers of interrupted writes, rendered files) and re-runs the executor for entries that
are new or changed relative to the manifest (or to a trusted copy of it, ``base_manifest``), and
reports every problem; nothing is skipped silently. See ``docs/leaderboard.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .render import render_html, render_markdown
from .safety import MAX_ENTRY_BYTES, display_path
from .schema import (
    SubmissionError,
    dumps_entry,
    loads_json,
    read_text_file,
)
from .verify import Entry, entry_from_dict, executor_check, make_entry_id, recompute

__all__ = [
    "Problem",
    "Store",
    "StoreError",
    "atomic_write",
    "RENDERED_FILES",
    "MANIFEST_NAME",
    "JOURNAL_NAME",
    "EXECUTOR_RECHECK",
]

RENDERED_FILES = ("LEADERBOARD.md", "index.html")
LOCK_NAME = ".submit.lock"
JOURNAL_NAME = ".submit.journal"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
LOCK_TIMEOUT_S = 300.0
EXECUTOR_RECHECK = ("changed", "all", "none")
"""``check(executor=...)``: re-run the executor for new or changed entries (default), for every
entry, or for none."""

_REL_ENTRY = re.compile(r"[A-Za-z0-9_]+/[a-z0-9-]+\.json")
_HEX64 = re.compile(r"[0-9a-f]{64}")

FAULT_HOOK: Callable[[str], None] | None = None
"""Fault injection for tests: when set, called with the name of each step of a write
(``"journal"``, ``"entry"``, ``"manifest"``, ``"done"``, and ``"rename <file>"`` between the
temporary write and the rename of every file), so a test can crash or kill a writer there."""


def _fault(point: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(point)


class StoreError(ValueError):
    """The store refuses an operation (duplicate, damaged store, missing folder, I/O error)."""


@dataclass(frozen=True)
class Problem:
    """One finding of :meth:`Store.check`: the file (relative to the store root) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{display_path(self.path)}: {self.message}"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old or the new file, never half.

    The temporary file (``.<name>.<random>.tmp``) lives in the destination folder
    (``os.replace`` is atomic only within one file system) and is removed if anything fails
    before the rename; only a killed process leaves it behind (the store removes it later).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        _fault(f"rename {path.name}")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # make a rename or unlink durable; not possible everywhere
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the manifest --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """The manifest's record of one entry: its sequence number, its path relative to
    ``submissions/`` and the ``entry_sha256`` it was verified with."""

    seq: int
    path: str
    entry_sha256: str


@dataclass
class Manifest:
    """``submissions/manifest.json``: the entries in the order they entered the store."""

    next_seq: int = 1
    records: dict[str, Record] = field(default_factory=dict)

    def by_seq(self) -> list[Record]:
        return sorted(self.records.values(), key=lambda r: r.seq)

    def dumps(self) -> str:
        """Canonical text: one record per line, in sequence order (append-only diffs)."""
        lines = [
            json.dumps({"seq": r.seq, "path": r.path, "entry_sha256": r.entry_sha256})
            for r in self.by_seq()
        ]
        body = ",\n    ".join(lines)
        return (
            "{\n"
            f'  "format": {MANIFEST_FORMAT},\n'
            '  "about": "written by the leaderboard store under its lock; do not edit '
            '(docs/leaderboard.md)",\n'
            f'  "next_seq": {self.next_seq},\n'
            f'  "entries": [{chr(10) + "    " + body + chr(10) + "  " if lines else ""}]\n'
            "}\n"
        )


def parse_manifest(data: Any) -> Manifest:
    """Check and read manifest data; raises :class:`StoreError` naming the first problem."""
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise StoreError(f"not a manifest of format {MANIFEST_FORMAT}")
    nxt, recs = data.get("next_seq"), data.get("entries")
    if not isinstance(nxt, int) or isinstance(nxt, bool) or nxt < 1 or not isinstance(recs, list):
        raise StoreError("needs an integer 'next_seq' and a list 'entries'")
    m = Manifest(nxt)
    last = 0
    for i, r in enumerate(recs):
        if not isinstance(r, dict) or set(r) != {"seq", "path", "entry_sha256"}:
            raise StoreError(f"entries[{i}] must hold exactly 'seq', 'path' and 'entry_sha256'")
        seq, path, sha = r["seq"], r["path"], r["entry_sha256"]
        if not isinstance(seq, int) or isinstance(seq, bool) or not last < seq < nxt:
            raise StoreError(
                f"entries[{i}]: 'seq' must be an integer above the previous one and below "
                f"next_seq ({nxt}), got {seq!r}"
            )
        if not isinstance(path, str) or not _REL_ENTRY.fullmatch(path):
            raise StoreError(f"entries[{i}]: 'path' must be '<Task>/<id>.json', got {path!r}")
        if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
            raise StoreError(f"entries[{i}]: 'entry_sha256' must be 64 hex digits")
        if path in m.records:
            raise StoreError(f"entries[{i}]: {path} is recorded twice")
        m.records[path] = Record(seq, path, sha)
        last = seq
    return m


def load_manifest(path: str | Path) -> Manifest:
    """Read a manifest file (e.g. a trusted copy from the main branch for ``check``)."""
    try:
        return parse_manifest(loads_json(read_text_file(path, "manifest", limit=MAX_ENTRY_BYTES),
                                         f"manifest {display_path(path)}"))
    except SubmissionError as err:
        raise StoreError(str(err)) from None
    except StoreError as err:
        raise StoreError(f"manifest {display_path(path)}: {err}") from None


# -- scanning ------------------------------------------------------------------------------------


@dataclass
class _Scan:
    entries: list[Entry] = field(default_factory=list)  # sound entries (seq from the manifest)
    paths: dict[str, str] = field(default_factory=dict)  # entry id -> path relative to submissions/
    problems: list[Problem] = field(default_factory=list)
    leftovers: list[Problem] = field(default_factory=list)  # dead writers' files (removable)
    manifest: Manifest | None = None
    manifest_missing: bool = False
    journal: dict[str, Any] | None = None


def _is_leftover(name: str) -> bool:
    return name.endswith(".tmp")


_LEFTOVER_MSG = (
    "leftover temporary file of an interrupted write; the next submit or render removes it "
    "(it holds nothing that was accepted)"
)
_SYMLINK_MSG = (
    "is a symbolic link; the store holds real folders and files only and never follows links "
    "(replace it by the folder or file itself)"
)


class Store:
    """A leaderboard folder. ``root`` must exist; ``submissions/`` is created on first write.

    ``recovered`` lists what lock-holding commands cleaned up after dead writers (rolled-back
    journal, removed temporary files), for the command line to report; ``last_added`` is the
    entry :meth:`add` stored last, with its sequence number.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            what = "is not a folder" if self.root.exists() else "does not exist"
            raise StoreError(
                f"leaderboard folder {display_path(self.root)} {what} (create it, or pass "
                "--leaderboard DIR)"
            )
        self.submissions = self.root / "submissions"
        self.manifest_path = self.submissions / MANIFEST_NAME
        self.journal_path = self.root / JOURNAL_NAME
        self.lock = FileLock(str(self.root / LOCK_NAME), timeout=LOCK_TIMEOUT_S)
        self.recovered: list[str] = []
        self.executor_reruns = 0
        self.last_added: Entry | None = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's inter-process lock."""
        try:
            self.lock.acquire()
        except Timeout:
            raise StoreError(
                f"could not lock {display_path(self.lock.lock_file)} within {LOCK_TIMEOUT_S:.0f} s; "
                "is another submit hanging?"
            ) from None
        except OSError as err:
            raise StoreError(
                f"cannot lock {display_path(self.lock.lock_file)}: {err.strerror or err}"
            ) from None
        try:
            yield
        finally:
            self.lock.release()

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def entry_path(self, entry: Entry) -> Path:
        return self.submissions / entry.task / f"{entry.entry_id}.json"

    # -- reading and checking ------------------------------------------------------------------

    def _scan(self) -> _Scan:
        """Read and re-verify everything; callers hold the lock."""
        from crosscountry_gym import tasks

        res = _Scan()
        root = self.root
        for name in RENDERED_FILES:
            p = root / name
            if p.is_symlink():
                res.problems.append(Problem(name, _SYMLINK_MSG))
            elif p.exists() and not p.is_file():
                res.problems.append(Problem(name, "is not a regular file; the store writes it"))
        for de in _listdir(root):
            if _is_leftover(de.name) and not de.is_dir(follow_symlinks=False):
                res.leftovers.append(Problem(de.name, _LEFTOVER_MSG))
        if self.journal_path.is_symlink() or self.journal_path.exists():
            res.journal = _read_journal(self.journal_path)
            res.leftovers.append(Problem(
                JOURNAL_NAME,
                "journal of an interrupted write; the next submit or render rolls that write back",
            ))
        sub = self.submissions
        if sub.is_symlink():
            res.problems.append(Problem("submissions", _SYMLINK_MSG))
            return res
        if not sub.exists():
            return res
        if not sub.is_dir():
            res.problems.append(Problem("submissions", "is not a folder"))
            return res
        task_names = set(tasks.names())
        found: dict[str, Entry] = {}  # path relative to submissions/ -> parsed entry
        seen: dict[str, str] = {}
        for de in _listdir(sub):
            rel = f"submissions/{de.name}"
            if de.name == MANIFEST_NAME:
                continue
            if de.is_symlink():
                res.problems.append(Problem(rel, _SYMLINK_MSG))
            elif de.is_dir(follow_symlinks=False):
                if de.name not in task_names:
                    res.problems.append(
                        Problem(rel, f"folder is not a task name ({', '.join(tasks.names())})")
                    )
                    continue
                for f in _listdir(Path(de.path)):
                    frel = f"{rel}/{f.name}"
                    if f.is_symlink():
                        res.problems.append(Problem(frel, _SYMLINK_MSG))
                    elif f.is_dir(follow_symlinks=False):
                        res.problems.append(Problem(frel, "unexpected nested folder"))
                    elif _is_leftover(f.name):
                        res.leftovers.append(Problem(frel, _LEFTOVER_MSG))
                    elif not f.is_file(follow_symlinks=False):
                        res.problems.append(Problem(frel, "is not a regular file"))
                    elif not f.name.endswith(".json"):
                        res.problems.append(
                            Problem(frel, "unexpected file (entries are submissions/<Task>/<id>.json)")
                        )
                    else:
                        try:
                            entry = self._read_entry(Path(f.path))
                        except SubmissionError as err:
                            res.problems.append(Problem(frel, str(err)))
                            continue
                        if entry.key in seen:
                            res.problems.append(Problem(
                                frel, f"duplicate of {seen[entry.key]} (same task, model and order)"
                            ))
                            continue
                        seen[entry.key] = frel
                        found[f"{de.name}/{f.name}"] = entry
            elif _is_leftover(de.name):
                res.leftovers.append(Problem(rel, _LEFTOVER_MSG))
            elif not de.is_file(follow_symlinks=False):
                res.problems.append(Problem(rel, "is not a regular file"))
            else:
                res.problems.append(
                    Problem(rel, "unexpected file (entries are submissions/<Task>/<id>.json)")
                )
        self._match_manifest(res, found)
        return res

    def _match_manifest(self, res: _Scan, found: dict[str, Entry]) -> None:
        mrel = f"submissions/{MANIFEST_NAME}"
        mp = self.manifest_path
        if mp.is_symlink():
            res.problems.append(Problem(mrel, _SYMLINK_MSG))
        elif mp.exists():
            try:
                res.manifest = parse_manifest(
                    loads_json(read_text_file(mp, "manifest", limit=MAX_ENTRY_BYTES), "it")
                )
            except (SubmissionError, StoreError) as err:
                res.problems.append(Problem(mrel, f"damaged: {err}"))
        pending = res.journal.get("path") if res.journal else None
        if res.manifest is None:
            if not mp.exists() and not mp.is_symlink() and found:
                res.manifest_missing = True
                res.problems.append(Problem(
                    mrel,
                    "missing: the store's record of the order entries entered it and of what was "
                    "verified; for a store written before the manifest existed run "
                    "`crosscountry-gym leaderboard migrate` (re-verifies every entry)",
                ))
            res.entries = list(found.values())
            return
        for rel, entry in found.items():
            rec = res.manifest.records.get(rel)
            shown = f"submissions/{rel}"
            if rec is None:
                if rel == pending:
                    continue  # written by a writer that died before recording it
                res.problems.append(Problem(
                    shown,
                    f"not recorded in {mrel}: entries enter the store only through `submit` "
                    "(added, copied or renamed by hand?)",
                ))
            elif rec.entry_sha256 != entry.entry_sha256:
                if rel == pending:
                    continue
                res.problems.append(Problem(
                    shown,
                    f"changed since the store recorded it (entry_sha256 {entry.entry_sha256[:12]}..., "
                    f"recorded {rec.entry_sha256[:12]}...): edited by hand after verification, "
                    "even if its own checksum was recomputed; re-submit instead",
                ))
            entry = replace(entry, seq=rec.seq if rec else None)
            res.entries.append(entry)
            res.paths[entry.entry_id] = rel
        for rel in res.manifest.records:
            if rel not in found and rel != pending and not (self.submissions / rel).is_file():
                res.problems.append(Problem(
                    f"submissions/{rel}",
                    f"recorded in {mrel} but the file is missing (deleted or moved by hand?)",
                ))

    def scan(self) -> tuple[list[Entry], list[Problem]]:
        """Read and re-verify every file under ``submissions/``; callers hold the lock.

        Returns the sound entries (with their sequence numbers) and a problem per unsound file,
        leftovers of interrupted writes included. An entry that duplicates an earlier one (by
        file name order) is reported, not returned.
        """
        res = self._scan()
        return res.entries, res.problems + res.leftovers

    def _read_entry(self, path: Path) -> Entry:
        text = read_text_file(path, "entry", limit=MAX_ENTRY_BYTES)
        entry = _verified_entry(text)
        if path.parent.name != entry.task:
            raise SubmissionError(f"entry of task {entry.task} is in folder {path.parent.name}")
        if path.stem != entry.entry_id:
            raise SubmissionError(f"id / file name should be {entry.entry_id!r}")
        return entry

    def entries(self) -> list[Entry]:
        """All entries (read under the lock, so no write is half-seen; a dead writer's leftovers
        are cleaned first); raises :class:`StoreError` listing the problems if any file is
        unsound."""
        with self.locked():
            self._recover()
            res = self._scan()
        if res.problems:
            raise StoreError(_problem_summary(res.problems))
        return res.entries

    def rendered(self, entries: list[Entry]) -> dict[str, str]:
        return {"LEADERBOARD.md": render_markdown(entries), "index.html": render_html(entries)}

    def check(
        self,
        *,
        executor: str = "changed",
        base_manifest: str | Path | None = None,
        run_executor: Callable[[str, tuple[int, ...]], dict] | None = None,
    ) -> list[Problem]:
        """Every problem of the store; changes nothing.

        Costs are recomputed for every entry. The executor is re-run (``executor="changed"``)
        for entries that are new or changed relative to the record: the store's manifest, or,
        if given, ``base_manifest`` (a trusted copy, e.g. from the main branch: then a forged
        manifest is caught too, and its records must keep their sequence numbers);
        ``"all"`` re-runs it for every entry, ``"none"`` for none. A stored verdict that a
        fresh run does not confirm is a problem. Rendered files are compared when the entries
        are sound. ``executor_reruns`` counts the runs.
        """
        if executor not in EXECUTOR_RECHECK:
            raise StoreError(f"executor must be one of {', '.join(EXECUTOR_RECHECK)}, got {executor!r}")
        base = load_manifest(base_manifest) if base_manifest is not None else None
        with self.locked():
            res = self._scan()
            problems = res.problems + res.leftovers
            if not res.problems:  # rendered files are judged only against a sound store
                for name, text in self.rendered(res.entries).items():
                    path = self.root / name
                    if not path.exists():
                        problems.append(Problem(name, "missing; run `crosscountry-gym leaderboard render`"))
                    elif _read_rendered(path) != text:
                        problems.append(Problem(name, "stale; run `crosscountry-gym leaderboard render`"))
        record = base if base is not None else res.manifest
        if base is not None and res.manifest is not None:
            for rec in base.by_seq():
                cur = res.manifest.records.get(rec.path)
                if cur is not None and cur.seq != rec.seq:
                    problems.append(Problem(
                        f"submissions/{MANIFEST_NAME}",
                        f"changes the sequence number of {rec.path} from {rec.seq} (base) to "
                        f"{cur.seq}: the manifest is append-only",
                    ))
        self.executor_reruns = 0
        if executor == "none" or (record is None and executor != "all"):
            return problems  # no record (missing or damaged manifest: reported) to compare with
        for e in res.entries:
            rel = res.paths.get(e.entry_id, f"{e.task}/{e.entry_id}.json")
            rec = record.records.get(rel) if record is not None else None
            if executor == "all" or rec is None or rec.entry_sha256 != e.entry_sha256:
                self.executor_reruns += 1
                problems += _executor_problems(e, f"submissions/{rel}", run_executor)
        return problems

    def find_duplicate(self, entry: Entry) -> Path | None:
        """The stored file with the same task, model and order, if any (lock-free pre-check)."""
        folder = self.submissions / entry.task
        if folder.is_symlink() or not folder.is_dir():
            return None
        for de in _listdir(folder):
            if not de.name.endswith(".json") or not de.is_file(follow_symlinks=False):
                continue
            try:
                data = loads_json(read_text_file(de.path, "entry", limit=MAX_ENTRY_BYTES), "entry")
                if (
                    isinstance(data, dict)
                    and data.get("cost_model") == entry.cost_model
                    and data.get("order") == list(entry.submission.order)
                ):
                    return Path(de.path)
            except SubmissionError:
                continue  # unreadable files are the business of the scan under the lock
        return None

    # -- recovery ------------------------------------------------------------------------------

    def _recover(self) -> list[str]:
        """Under the lock: roll back a dead writer's journaled write and remove its temporary
        files. Returns (and appends to ``recovered``) one line per action."""
        notes: list[str] = []
        jp = self.journal_path
        if jp.is_symlink() or jp.exists():
            journal = _read_journal(jp)
            notes += self._roll_back(journal)
            try:
                jp.unlink()
            except OSError as err:
                raise StoreError(f"cannot remove {JOURNAL_NAME}: {err.strerror or err}") from None
            notes.append(f"removed the journal {JOURNAL_NAME} of an interrupted write")
        folders = [self.root]
        if self.submissions.is_dir() and not self.submissions.is_symlink():
            folders.append(self.submissions)
            folders += [Path(de.path) for de in _listdir(self.submissions)
                        if de.is_dir(follow_symlinks=False)]
        for folder in folders:
            for de in _listdir(folder):
                if _is_leftover(de.name) and (de.is_file(follow_symlinks=False) or de.is_symlink()):
                    try:
                        os.unlink(de.path)
                    except OSError as err:
                        raise StoreError(
                            f"cannot remove the leftover {display_path(self._rel(Path(de.path)))}: "
                            f"{err.strerror or err}"
                        ) from None
                    notes.append(
                        f"removed the leftover temporary file {display_path(self._rel(Path(de.path)))}"
                        " of an interrupted write"
                    )
        if notes:
            _fsync_dir(self.root)
        self.recovered += notes
        return notes

    def _roll_back(self, journal: dict[str, Any] | None) -> list[str]:
        if not journal:
            return []
        rel = journal.get("path")
        if not isinstance(rel, str) or not _REL_ENTRY.fullmatch(rel):
            return []
        path = self.submissions / rel
        if path.is_symlink() or not path.is_file():
            return []
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return []
        if _sha256(current) != journal.get("new_file_sha256"):
            return []  # not what the dead writer wrote: leave it to check
        manifest = None
        with contextlib.suppress(SubmissionError, StoreError):
            manifest = parse_manifest(
                loads_json(read_text_file(self.manifest_path, "manifest", limit=MAX_ENTRY_BYTES), "it")
            )
        rec = manifest.records.get(rel) if manifest else None
        if rec is not None and rec.entry_sha256 == journal.get("new_entry_sha256"):
            return []  # the write was recorded: it is complete
        old = journal.get("old_text")
        if isinstance(old, str):
            self._write(path, old)
            return [f"restored submissions/{rel} as it was before an interrupted write"]
        self._unlink(path)
        return [f"removed submissions/{rel}, written by a submit that died before recording it"]

    # -- writing -------------------------------------------------------------------------------

    def _write(self, path: Path, text: str) -> None:
        try:
            atomic_write(path, text)
        except OSError as err:
            raise StoreError(f"cannot write {display_path(self._rel(path))}: {err.strerror or err}") from None

    def _unlink(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as err:
            shown = display_path(self._rel(path))
            raise StoreError(f"cannot remove {shown}: {err.strerror or err}") from None
        _fsync_dir(path.parent)

    def _sound(self) -> _Scan:
        self._recover()
        res = self._scan()
        if res.problems:
            raise StoreError(
                "the store has problems, fix them first (`crosscountry-gym leaderboard check`): "
                + _problem_summary(res.problems)
            )
        return res

    def _commit(self, manifest: Manifest, rel: str, text: str, old_text: str | None,
                sha: str) -> None:
        """Write entry ``rel`` and its manifest record, journaled: a writer killed at any
        point is rolled back by the next lock holder."""
        journal = {"op": "write", "path": rel, "old_text": old_text,
                   "new_file_sha256": _sha256(text), "new_entry_sha256": sha}
        self._write(self.journal_path, json.dumps(journal, ensure_ascii=False) + "\n")
        try:
            _fault("journal")
            self._write(self.submissions / rel, text)
            _fault("entry")
            self._write(self.manifest_path, manifest.dumps())
            _fault("manifest")
            self._unlink(self.journal_path)
        except BaseException:
            # still alive (an I/O error, an interrupt): roll back now rather than leave it to
            # the next lock holder; only a killed process leaves the journal behind
            with contextlib.suppress(Exception):
                self._recover()
            raise
        _fault("done")

    def add(self, entry: Entry, *, render: bool = True) -> Path:
        """Store a verified entry (refusing duplicates), record it in the manifest with the next
        sequence number, and re-render; returns its path.

        Everything happens under the lock, after cleaning up dead writers, and the store is
        re-scanned first: a damaged store is refused rather than rendered without its damaged
        entries.
        """
        with self.locked():
            res = self._sound()
            for other in res.entries:
                if other.key == entry.key:
                    raise StoreError(
                        f"duplicate: {self._rel(self.entry_path(other))} (id {other.entry_id}) already "
                        f"holds this order for {entry.task} in model '{entry.cost_model}'"
                    )
            path = self.entry_path(entry)
            if path.exists() or path.is_symlink():  # same id, other key: a 48-bit hash collision
                raise StoreError(f"an entry file {self._rel(path)} already exists")
            manifest = res.manifest or Manifest()
            new = replace(entry, seq=manifest.next_seq)
            rel = f"{new.task}/{new.entry_id}.json"
            manifest.records[rel] = Record(new.seq, rel, new.entry_sha256)
            manifest.next_seq += 1
            self._commit(manifest, rel, dumps_entry(new.to_dict()), None, new.entry_sha256)
            if render:
                self._write_rendered([*res.entries, new])
            self.last_added = new
            return path

    def update_executor(self, entry: Entry, check: dict) -> Path:
        """Record a new executor check on a stored entry (see
        :func:`~crosscountry_gym.leaderboard.seeds.refresh_executor`), then re-render. The rest
        of the entry and its sequence number are unchanged; its checksum is recomputed and
        recorded in the manifest."""
        with self.locked():
            res = self._sound()
            old = next((e for e in res.entries if e.entry_id == entry.entry_id and e.key == entry.key),
                       None)
            if old is None or res.manifest is None:
                raise StoreError(f"no stored entry {entry.entry_id} for {entry.task}")
            new = replace(old, executor=dict(check))
            rel = res.paths[old.entry_id]
            path = self.submissions / rel
            manifest = res.manifest
            manifest.records[rel] = Record(old.seq or 0, rel, new.entry_sha256)
            self._commit(manifest, rel, dumps_entry(new.to_dict()),
                         path.read_text(encoding="utf-8"), new.entry_sha256)
            self._write_rendered([new if e.entry_id == new.entry_id else e for e in res.entries])
            return path

    def render(self) -> list[Path]:
        """Re-render ``LEADERBOARD.md`` and ``index.html``; refuses a store with problems."""
        with self.locked():
            return self._write_rendered(self._sound().entries)

    def migrate(
        self,
        *,
        run_executor: Callable[[str, tuple[int, ...]], dict] | None = None,
        progress: bool = False,
    ) -> int:
        """Create the manifest of a store written before it existed: every entry is re-verified
        (costs, and a fresh executor run that must confirm its stored verdict), then numbered
        in the order (date, id), the best record of their arrival such a store has. Refuses a
        store that has a manifest or other problems. Returns the number of entries recorded."""
        with self.locked():
            self._recover()
            res = self._scan()
            if res.manifest is not None or (self.manifest_path.exists() or self.manifest_path.is_symlink()):
                raise StoreError(f"submissions/{MANIFEST_NAME} exists already; nothing to migrate")
            other = [p for p in res.problems if not (res.manifest_missing and p.path.endswith(MANIFEST_NAME))]
            if other:
                raise StoreError("the store has problems, fix them first: " + _problem_summary(other))
            items = sorted(res.entries, key=lambda e: (e.submission.date, e.entry_id))
            iterator: Any = items
            if progress:
                from tqdm import tqdm

                iterator = tqdm(items, desc="executor", unit="entry")
            problems: list[Problem] = []
            for e in iterator:
                problems += _executor_problems(e, self._rel(self.entry_path(e)), run_executor)
            if problems:
                raise StoreError("not migrated, stored verdicts not confirmed: "
                                 + _problem_summary(problems))
            manifest = Manifest()
            for e in items:
                rel = f"{e.task}/{e.entry_id}.json"
                manifest.records[rel] = Record(manifest.next_seq, rel, e.entry_sha256)
                manifest.next_seq += 1
            self._write(self.manifest_path, manifest.dumps())
            return len(items)

    def _write_rendered(self, entries: list[Entry]) -> list[Path]:
        written = []
        for name, text in self.rendered(entries).items():
            path = self.root / name
            if not path.exists() or _read_rendered(path) != text:
                self._write(path, text)
            written.append(path)
        return written


def _listdir(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda de: de.name)
    except OSError as err:
        raise StoreError(f"cannot list {display_path(folder)}: {err.strerror or err}") from None


def _read_rendered(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_journal(path: Path) -> dict[str, Any] | None:
    try:
        data = loads_json(read_text_file(path, "journal", limit=2 * MAX_ENTRY_BYTES), "journal")
    except SubmissionError:
        return None
    return data if isinstance(data, dict) else None


def _is_requested_skip(check: dict) -> bool:
    return str(check.get("detail", "")).startswith("skipped on request")


def _executor_problems(
    e: Entry, rel: str, run_executor: Callable[[str, tuple[int, ...]], dict] | None
) -> list[Problem]:
    """Re-run the executor on entry ``e``; a problem if the fresh verdict does not confirm the
    stored one (stored 'passed' must pass again; a fresh failure is always a problem; a stored
    skip that now passes is a problem unless the skip was requested)."""
    run = run_executor or executor_check
    try:
        fresh = run(e.task, e.submission.order)
    except SubmissionError as err:
        return [Problem(rel, f"a fresh executor run rejects the order: {err}")]
    except Exception as err:  # noqa: BLE001 - reported, never a traceback
        return [Problem(rel, f"the executor could not be run to confirm the stored verdict: "
                             f"{type(err).__name__}: {err}")]
    stored = e.executor.get("status")
    if stored == "passed" and fresh.get("status") != "passed":
        return [Problem(rel, f"stored executor verdict 'passed' is not confirmed by a fresh run "
                             f"({fresh.get('status')}: {fresh.get('detail', '')})")]
    if stored != "passed" and fresh.get("status") == "passed" and not _is_requested_skip(e.executor):
        return [Problem(rel, "stored executor verdict 'skipped' but a fresh run passes; record it "
                             "with `python leaderboard/seed.py --refresh-executor`")]
    return []


@lru_cache(maxsize=4096)
def _verified_entry(text: str) -> Entry:
    """Parse and re-verify one stored entry's text (pure in the text, hence cached: repeated
    scans in one process, e.g. while seeding, cost one recomputation per entry)."""
    data = loads_json(text, "the entry")
    entry = entry_from_dict(data)
    sub, costs = recompute(entry.submission)
    if sub.task != entry.task:
        raise SubmissionError(f"task {entry.task!r} is not the canonical name {sub.task!r}")
    if costs != entry.costs:
        raise SubmissionError(f"stored verified costs {entry.costs} differ from the recomputed {costs}")
    expected = make_entry_id(entry.submission)
    if entry.entry_id != expected:
        raise SubmissionError(f"id / file name should be {expected!r} (entry id {entry.entry_id!r})")
    return entry


def _problem_summary(problems: list[Problem], limit: int = 5) -> str:
    shown = "; ".join(str(p) for p in problems[:limit])
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return f"{len(problems)} problem(s): {shown}{more}"
