"""The leaderboard store: one JSON file per verified entry, the folder is the source of truth.

Layout of a leaderboard folder ``DIR`` (default ``./leaderboard``)::

    DIR/submissions/<Task>/<entry id>.json   verified entries (reviewable in a pull request)
    DIR/LEADERBOARD.md, DIR/index.html       rendered from the entries
    DIR/.submit.lock                         lock file (not committed)

Writes are atomic (a temporary file in the same folder, fsync, then ``os.replace``), and every
read-modify-write (duplicate check, write, re-render) holds an inter-process
:class:`filelock.FileLock`, so concurrent ``submit`` calls from several processes lose nothing.
:meth:`Store.check` re-verifies every entry (schema, checksum, fingerprint, order, recomputed
costs, file name, duplicates, stray files, rendered files) and reports every problem; nothing is
skipped silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from filelock import FileLock, Timeout

from .render import render_html, render_markdown
from .schema import SubmissionError, dumps_entry
from .verify import Entry, entry_from_dict, make_entry_id, recompute

__all__ = ["Problem", "Store", "StoreError", "atomic_write", "RENDERED_FILES"]

RENDERED_FILES = ("LEADERBOARD.md", "index.html")
LOCK_NAME = ".submit.lock"
LOCK_TIMEOUT_S = 300.0


class StoreError(ValueError):
    """The store refuses an operation (duplicate, damaged store, missing folder)."""


@dataclass(frozen=True)
class Problem:
    """One finding of :meth:`Store.check`: the file (relative to the store root) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old or the new file, never half.

    The temporary file lives in the destination folder (``os.replace`` is atomic only within one
    file system) and is removed if anything fails before the rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename durable; not possible everywhere
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class Store:
    """A leaderboard folder. ``root`` must exist; ``submissions/`` is created on first write."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise StoreError(
                f"leaderboard folder {self.root} does not exist (create it, or pass --leaderboard DIR)"
            )
        self.submissions = self.root / "submissions"
        self.lock = FileLock(str(self.root / LOCK_NAME), timeout=LOCK_TIMEOUT_S)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's inter-process lock."""
        try:
            with self.lock:
                yield
        except Timeout:
            raise StoreError(
                f"could not lock {self.lock.lock_file} within {LOCK_TIMEOUT_S:.0f} s; "
                "is another submit hanging?"
            ) from None

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def entry_path(self, entry: Entry) -> Path:
        return self.submissions / entry.task / f"{entry.entry_id}.json"

    # -- reading and checking ------------------------------------------------------------------

    def scan(self) -> tuple[list[Entry], list[Problem]]:
        """Read and re-verify every file under ``submissions/``; callers hold the lock (a
        concurrent write's temporary file would otherwise be reported as a leftover).

        Returns the sound entries (sorted by task, id) and a problem per unsound file. An entry
        that duplicates an earlier one (by file name order) is reported, not returned.
        """
        from crosscountry_gym import tasks

        entries: list[Entry] = []
        problems: list[Problem] = []
        if not self.submissions.exists():
            return entries, problems
        task_names = set(tasks.names())
        seen: dict[str, str] = {}
        for path in sorted(self.submissions.rglob("*")):
            rel = self._rel(path)
            if path.is_dir():
                if path.parent == self.submissions and path.name not in task_names:
                    problems.append(Problem(rel, f"folder is not a task name ({', '.join(tasks.names())})"))
                elif path.parent != self.submissions:
                    problems.append(Problem(rel, "unexpected nested folder"))
                continue
            if path.name.endswith(".tmp"):
                problems.append(Problem(rel, "leftover temporary file of an interrupted write; delete it"))
                continue
            if path.suffix != ".json" or path.parent.parent != self.submissions:
                problems.append(Problem(rel, "unexpected file (entries are submissions/<Task>/<id>.json)"))
                continue
            try:
                entry = self._read_entry(path)
            except SubmissionError as err:
                problems.append(Problem(rel, str(err)))
                continue
            if entry.key in seen:
                problems.append(Problem(rel, f"duplicate of {seen[entry.key]} (same task, model and order)"))
                continue
            seen[entry.key] = rel
            entries.append(entry)
        return entries, problems

    def _read_entry(self, path: Path) -> Entry:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise SubmissionError(f"cannot read: {err}") from None
        entry = _verified_entry(text)
        if path.parent.name != entry.task:
            raise SubmissionError(f"entry of task {entry.task} is in folder {path.parent.name}")
        if path.stem != entry.entry_id:
            raise SubmissionError(f"id / file name should be {entry.entry_id!r}")
        return entry

    def entries(self) -> list[Entry]:
        """All entries (read under the lock, so no write is half-seen); raises
        :class:`StoreError` listing the problems if any file is unsound."""
        with self.locked():
            entries, problems = self.scan()
        if problems:
            raise StoreError(_problem_summary(problems))
        return entries

    def rendered(self, entries: list[Entry]) -> dict[str, str]:
        return {"LEADERBOARD.md": render_markdown(entries), "index.html": render_html(entries)}

    def check(self) -> list[Problem]:
        """Every problem of the store, including missing or stale rendered files."""
        with self.locked():
            entries, problems = self.scan()
            if problems:  # rendered files are judged only against a sound store
                return problems
            for name, text in self.rendered(entries).items():
                path = self.root / name
                if not path.exists():
                    problems.append(Problem(name, "missing; run `crosscountry-gym leaderboard render`"))
                elif path.read_text(encoding="utf-8") != text:
                    problems.append(Problem(name, "stale; run `crosscountry-gym leaderboard render`"))
            return problems

    def find_duplicate(self, entry: Entry) -> Path | None:
        """The stored file with the same task, model and order, if any (lock-free pre-check)."""
        folder = self.submissions / entry.task
        if not folder.is_dir():
            return None
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if (
                    data.get("cost_model") == entry.cost_model
                    and list(data.get("order", [])) == list(entry.submission.order)
                ):
                    return path
            except (OSError, ValueError, AttributeError):
                continue  # unreadable files are the business of scan() under the lock
        return None

    # -- writing -------------------------------------------------------------------------------

    def add(self, entry: Entry, *, render: bool = True) -> Path:
        """Store a verified entry (refusing duplicates) and re-render; returns its path.

        Everything happens under the lock, and the store is re-scanned first: a damaged store
        is refused rather than rendered without its damaged entries.
        """
        with self.locked():
            entries, problems = self.scan()
            if problems:
                raise StoreError(
                    "the store has problems, fix them first (`crosscountry-gym leaderboard check`): "
                    + _problem_summary(problems)
                )
            for other in entries:
                if other.key == entry.key:
                    raise StoreError(
                        f"duplicate: {self._rel(self.entry_path(other))} (id {other.entry_id}) already "
                        f"holds this order for {entry.task} in model '{entry.cost_model}'"
                    )
            path = self.entry_path(entry)
            if path.exists():  # same id but different key: a 48-bit hash prefix collision
                raise StoreError(f"an entry file {self._rel(path)} already exists")
            atomic_write(path, dumps_entry(entry.to_dict()))
            if render:
                self._write_rendered([*entries, entry])
            return path

    def update_executor(self, entry: Entry, check: dict) -> Path:
        """Record a new executor check on a stored entry (see
        :func:`~crosscountry_gym.leaderboard.seeds.refresh_executor`), then re-render. The rest
        of the entry is unchanged; its checksum is recomputed."""
        with self.locked():
            entries, problems = self.scan()
            if problems:
                raise StoreError("the store has problems, fix them first: " + _problem_summary(problems))
            if not any(e.entry_id == entry.entry_id and e.key == entry.key for e in entries):
                raise StoreError(f"no stored entry {entry.entry_id} for {entry.task}")
            new = replace(entry, executor=dict(check))
            path = self.entry_path(new)
            atomic_write(path, dumps_entry(new.to_dict()))
            self._write_rendered([new if e.entry_id == new.entry_id else e for e in entries])
            return path

    def render(self) -> list[Path]:
        """Re-render ``LEADERBOARD.md`` and ``index.html``; refuses a store with problems."""
        with self.locked():
            return self._write_rendered(self.entries())

    def _write_rendered(self, entries: list[Entry]) -> list[Path]:
        written = []
        for name, text in self.rendered(entries).items():
            path = self.root / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                atomic_write(path, text)
            written.append(path)
        return written


@lru_cache(maxsize=4096)
def _verified_entry(text: str) -> Entry:
    """Parse and re-verify one stored entry's text (pure in the text, hence cached: repeated
    scans in one process, e.g. while seeding, cost one recomputation per entry)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SubmissionError(f"not valid JSON: {err}") from None
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
