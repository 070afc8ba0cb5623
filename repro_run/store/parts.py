"""Runs that several supervisors record together: who creates the run, who attaches, and how
each part's record and the run's record are written without anyone overwriting anyone.

    joins/<digest>.json        the run a group's key made (digest: BLAKE2b of the key)
    joins/<digest>.lock        flocked while a supervisor finds or creates the group's run,
                               and while gc removes a group no supervisor can join any more
    runs/<id>/parts/<name>/    a part's files: lock, output.log, metrics.jsonl, facts/
    runs/<id>/parts/<name>.json  the part's record, written atomically by its supervisor only
    runs/<id>/parts.lock       flocked while a part rewrites run.json from every part's record
    runs/<id>/run.json         the first part's record (by task, then name) with the status of
                               all parts and a summary of each: derived, so any part may rewrite
                               it, and the last one to write sees every part

A part never needs another node to be reachable: it writes its own files, and reads the
others' records from the shared store (REPRO_HOME on a network file system).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from repro_run.core.constants import (
    ENV_JOIN_WINDOW,
    JOINS_DIRNAME,
    PARTS_DIRNAME,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import StoreError
from repro_run.core.record import replace
from repro_run.models import (
    ARCHIVE_FAILED,
    COMMITS_DIFFER,
    CRASHED,
    FAILED,
    FAILED_TO_START,
    INTERRUPTED,
    PRESUMED_DEAD,
    RUNNING,
    SUCCEEDED,
    TERMINATED,
    UNKNOWN_REMOTE,
    PartInfo,
    PartSummary,
    RunRecord,
    is_part_name,
)
from repro_run.models.nodes import combined_facts
from repro_run.store.durable import atomic_write_bytes, flocked, fsync_dir
from repro_run.store.ids import is_run_id, run_id_time
from repro_run.store.run_json import encode_record, peek_record, read_record

# The run's status is the first of these among its parts': one still running keeps the run
# running; one that failed fails it, whatever the others did (srun then ends them).
STATUS_ORDER = (
    RUNNING,
    UNKNOWN_REMOTE,
    CRASHED,
    PRESUMED_DEAD,
    FAILED_TO_START,
    FAILED,
    ARCHIVE_FAILED,
    TERMINATED,
    INTERRUPTED,
    SUCCEEDED,
)
PARTS_LOCK_FILENAME = "parts.lock"
_JSON, _LOCK = ".json", ".lock"  # joins/<digest>.json and .lock
DEFAULT_JOIN_WINDOW_S = 3600.0
_KEY_DIGEST_BYTES = 16


def part_path(run_dir: Path, name: str) -> Path:
    return run_dir / PARTS_DIRNAME / f"{name}.json"


def files_dir(run_dir: Path, part: str | None) -> Path:
    """Where a record's files (log, metrics, facts, patch, lock) are: its part's directory."""
    return run_dir if part is None else run_dir / PARTS_DIRNAME / part


def claim_part(
    root: Path, runs_dir: Path, key: str, part: PartInfo, reused: bool
) -> tuple[str, Path]:
    """The run of group `key` and this part's new directory in it: the group's open run, or a
    new one, made while the group's lock is held, so that concurrent supervisors agree.
    `reused`: the key may name another launch later (a rendezvous ID, a --join name)."""
    import hashlib  # only a run of several supervisors: OpenSSL stays off a plain launch

    from repro_run.store.ids import allocate_run_dir

    joins = root / JOINS_DIRNAME
    digest = hashlib.blake2b(key.encode(), digest_size=_KEY_DIGEST_BYTES).hexdigest()
    try:
        joins.mkdir(exist_ok=True)
        with _join_locked(joins / f"{digest}{_LOCK}", wait=True) as fd:
            if fd is None:
                raise OSError(f"cannot lock {joins / digest}{_LOCK}")
            run_id = _open_run(joins / f"{digest}{_JSON}", runs_dir, part, reused)
            if run_id is None:
                run_id, _ = allocate_run_dir(runs_dir)
                # The window it was made with: gc keeps the file that long at least.
                document = {"key": key, "run": run_id, "window": _join_window()}
                atomic_write_bytes(joins / f"{digest}{_JSON}", json.dumps(document).encode())
            part_dir = runs_dir / run_id / PARTS_DIRNAME / part.name
            part_dir.mkdir(parents=True)  # a clash: another supervisor took this part's name
    except FileExistsError as exc:
        raise StoreError(
            f"part {part.name} of {part.join} is already recorded in run {run_id}"
        ) from exc
    except OSError as exc:
        raise StoreError(f"cannot join the run of {part.join} in {root}: {exc}") from exc
    return run_id, part_dir


@contextlib.contextmanager
def _join_locked(lock: Path, *, wait: bool) -> Iterator[int | None]:
    """A group's lock held (as `flocked`), or None when another holds it (`wait` False). gc
    removes a closed group's lock file while holding it: one that a process then waited on
    and got is no longer the group's, so it takes the lock file now there instead."""
    while True:
        with flocked(lock, wait=wait, create=True) as fd:
            if fd is None or _names(lock, fd):
                yield fd
                return


def _names(path: Path, fd: int) -> bool:
    """Whether `path` still names the file open as `fd`."""
    try:
        here, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


def remove_closed_joins(root: Path, runs_dir: Path, *, dry_run: bool) -> list[str]:
    """Remove the join files (and locks) of groups no supervisor can join any more: their run
    is gone, or their window has closed (the longer of the one each was made with and this
    process's). Each is judged and removed under its lock; one held (a supervisor attaching)
    is left. The digests removed (or that would be, `dry_run`)."""
    joins = root / JOINS_DIRNAME
    try:
        names = os.listdir(joins)
    except FileNotFoundError:
        return []
    digests = {n.removesuffix(_LOCK).removesuffix(_JSON) for n in names}
    removed = []
    for digest in sorted(d for d in digests if _is_key_digest(d)):
        with _join_locked(joins / f"{digest}{_LOCK}", wait=False) as fd:
            if fd is None or not _closed(joins / f"{digest}{_JSON}", runs_dir):
                continue
            if not dry_run:
                for suffix in (_JSON, _LOCK):  # the lock last: held until both are gone
                    with contextlib.suppress(FileNotFoundError):
                        (joins / f"{digest}{suffix}").unlink()
            removed.append(digest)
    if removed and not dry_run:
        fsync_dir(joins)
    return removed


def _closed(join_file: Path, runs_dir: Path) -> bool:
    """Whether no supervisor can join the group any more: no join file, or one naming no run
    (nothing to attach to: the next supervisor makes a run), a run gone, or one past its
    window. Call with the group's lock held."""
    try:
        document = json.loads(join_file.read_bytes())
        run_id, window = document["run"], float(document.get("window", 0))
    except FileNotFoundError:
        return True
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return True  # unreadable: a supervisor would make a new run and write it afresh
    if not isinstance(run_id, str) or not is_run_id(run_id):
        return True
    if not (runs_dir / run_id).is_dir():
        return True
    return time.time() - run_id_time(run_id) > max(window, _join_window())


def _is_key_digest(name: str) -> bool:
    return len(name) == 2 * _KEY_DIGEST_BYTES and all(c in "0123456789abcdef" for c in name)


def _open_run(join_file: Path, runs_dir: Path, part: PartInfo, reused: bool) -> str | None:
    """The run a group's join file names, if it still takes parts: made within the join
    window, short of the parts its launch starts, and (for a key that may be `reused`: the
    same rendezvous ID used again tomorrow is another run) none of its parts has ended."""
    try:
        run_id = json.loads(join_file.read_bytes())["run"]
        names = os.listdir(runs_dir / str(run_id) / PARTS_DIRNAME)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(run_id, str) or not is_run_id(run_id):
        return None
    if time.time() - run_id_time(run_id) > _join_window():
        return None
    parts_dir = runs_dir / run_id / PARTS_DIRNAME
    # Each part's own directory: not its record, nor that record's temp file while it is written.
    directories = [n for n in names if not n.endswith(".json") and (parts_dir / n).is_dir()]
    if part.expected is not None and len(directories) >= part.expected:
        return None
    parts = _read_parts(runs_dir / run_id, run_id, names)[0]
    if reused and any(r.status != RUNNING for r in parts):
        return None
    return run_id


def write_part(run_dir: Path, record: RunRecord) -> tuple[RunRecord, int]:
    """Write a part's record, then run.json from every part's: the run's record, and its
    file's mtime_ns."""
    assert record.part is not None
    atomic_write_bytes(part_path(run_dir, record.part.name), encode_record(record))
    with flocked(run_dir / PARTS_LOCK_FILENAME, wait=True, create=True):
        names = os.listdir(run_dir / PARTS_DIRNAME)
        others, damaged = _read_parts(run_dir, record.id, names, record.part.name)
        kept = _listed(run_dir, record.id, damaged) if damaged else ()
        merged = merge_parts([record, *others], kept)
        return merged, atomic_write_bytes(run_dir / RUN_RECORD_FILENAME, encode_record(merged))


def _read_parts(
    run_dir: Path, run_id: str, names: Iterable[str], but: str | None = None
) -> tuple[list[RunRecord], set[str]]:
    """The parts' records among `names` (those of parts/), but part `but`'s; and the names of
    the parts whose record cannot be read (damaged: a record is written whole or not at all)."""
    records, damaged = [], set()
    for name in sorted(names):
        if name.endswith(_JSON) and name != f"{but}{_JSON}":
            try:
                records.append(read_record(run_dir / PARTS_DIRNAME / name, run_id)[0])
            except (OSError, StoreError):
                damaged.add(name.removesuffix(_JSON))  # fsck says why
    return records, damaged


def _listed(run_dir: Path, run_id: str, names: set[str]) -> tuple[PartSummary, ...]:
    """The summaries run.json holds of parts `names`: a part whose record cannot be read now
    stays listed (and its objects kept by gc) as it was, never dropped by the next merge."""
    try:
        current = read_record(run_dir / RUN_RECORD_FILENAME, run_id)[0]
    except (OSError, StoreError):
        return ()
    return tuple(s for s in current.parts if s.name in names)


def read_parts(run_dir: Path, record: RunRecord) -> tuple[list[RunRecord], list[str]]:
    """The records of `record`'s parts that can be read; and one line for each other, naming
    it and why (one damaged part never hides the others)."""
    records: list[RunRecord] = []
    unreadable: list[str] = []
    for part in record.parts:
        try:
            if not is_part_name(part.name):  # a path, from a record edited by hand
                raise StoreError("its name is no part's")
            records.append(read_record(part_path(run_dir, part.name), record.id)[0])
        except (OSError, StoreError) as exc:
            unreadable.append(f"run {record.id}: part {part.name!r} cannot be read: {exc}")
    return records, unreadable


def damaged_parts(run_dir: Path, record: RunRecord) -> dict[str, str]:
    """Why each part whose record is missing, or is not that part's, cannot be read (by name);
    each read as JSON only, not decoded (~1 ms each: `show` of a thousand parts stays fast),
    so what only the codec refuses is left to `read_parts` (fsck)."""
    damaged = {}
    for part in record.parts:
        path = part_path(run_dir, part.name) if is_part_name(part.name) else None
        peek = peek_record(path) if path is not None else {}
        named = peek.get("part") if peek is not None else None
        if peek is None:
            damaged[part.name] = "its record is missing"
        elif (
            peek.get("id") != record.id
            or not isinstance(named, dict)
            or named.get("name") != part.name
        ):
            damaged[part.name] = "its record is damaged"
    return damaged


def merge_parts(records: Sequence[RunRecord], kept: Sequence[PartSummary] = ()) -> RunRecord:
    """The run's record from its parts' (pure): the first part's (by task, then name), with
    the status of them all, when the last ended, and a summary of each (`kept`: those of parts
    whose record cannot be read, as run.json had them); parts whose commits differ are
    flagged and named, never merged silently."""
    ordered = sorted(records, key=lambda r: _order(r.part))
    first = ordered[0]
    own = [_summary(r) for r in ordered]
    summaries = tuple(sorted((*own, *kept), key=_order))
    ended = [r.ended for r in ordered]
    merged = replace(
        first,
        status=combined_status(s.status for s in summaries),
        ended=max(e for e in ended if e) if all(ended) else None,
        parts=summaries,
        facts=combined_facts([(s.name, r.facts) for s, r in zip(own, ordered, strict=True)]),
    )
    part = first.part
    assert part is not None
    if merged.status != RUNNING and part.expected is not None and len(summaries) < part.expected:
        missing = f"{part.expected - len(summaries)} of the {part.expected} parts of {part.join}"
        merged = replace(merged, problems=(*merged.problems, f"{missing} never recorded"))
    commits = {s.commit for s in summaries}
    if len(commits) > 1:
        named = ", ".join(f"{s.name} at {s.commit[:12]}" for s in summaries)
        merged = replace(
            merged,
            flags=(*merged.flags, COMMITS_DIFFER),
            problems=(*merged.problems, f"the parts ran different commits: {named}"),
        )
    return merged


def combined_status(statuses: Iterable[str]) -> str:
    seen = set(statuses)
    return next((s for s in STATUS_ORDER if s in seen), SUCCEEDED)


def _order(part: PartInfo | PartSummary | None) -> tuple[bool, int, str]:
    """Parts in order of task, then name."""
    assert part is not None
    return (part.task is None, part.task or 0, part.name)


def _summary(record: RunRecord) -> PartSummary:
    assert record.part is not None
    return PartSummary(
        name=record.part.name,
        status=record.status,
        supervisor=record.supervisor,
        commit=record.code.commit,
        dirty=record.code.dirty,
        task=record.part.task,
        exit_code=record.process.exit_code if record.process else None,
    )


def _join_window() -> float:
    try:
        value = float(os.environ.get(ENV_JOIN_WINDOW, DEFAULT_JOIN_WINDOW_S))
    except ValueError:
        return DEFAULT_JOIN_WINDOW_S
    return value if value >= 0 else DEFAULT_JOIN_WINDOW_S
