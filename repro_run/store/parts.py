"""Runs that several supervisors record together: who creates the run, who attaches, and how
each part's record and the run's record are written without anyone overwriting anyone.

    joins/<digest>.json        the run a group's key made (digest: BLAKE2b of the key)
    joins/<digest>.lock        flocked while a supervisor finds or creates the group's run
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

import json
import os
import time
from collections.abc import Iterable, Sequence
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
)
from repro_run.models.nodes import combined_facts
from repro_run.store.durable import atomic_write_bytes, flocked
from repro_run.store.ids import is_run_id, run_id_time
from repro_run.store.run_json import encode_record, read_record

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
        with flocked(joins / f"{digest}.lock", wait=True, create=True) as fd:
            if fd is None:
                raise OSError(f"cannot lock {joins / digest}.lock")
            run_id = _open_run(joins / f"{digest}.json", runs_dir, part, reused)
            if run_id is None:
                run_id, _ = allocate_run_dir(runs_dir)
                document = {"key": key, "run": run_id}
                atomic_write_bytes(joins / f"{digest}.json", json.dumps(document).encode())
            part_dir = runs_dir / run_id / PARTS_DIRNAME / part.name
            part_dir.mkdir(parents=True)  # a clash: another supervisor took this part's name
    except FileExistsError as exc:
        raise StoreError(
            f"part {part.name} of {part.join} is already recorded in run {run_id}"
        ) from exc
    except OSError as exc:
        raise StoreError(f"cannot join the run of {part.join} in {root}: {exc}") from exc
    return run_id, part_dir


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
    directories = [n for n in names if not n.endswith(".json")]
    if part.expected is not None and len(directories) >= part.expected:
        return None
    if reused and any(r.status != RUNNING for r in _read_parts(runs_dir / run_id, run_id, names)):
        return None
    return run_id


def write_part(run_dir: Path, record: RunRecord) -> tuple[RunRecord, int]:
    """Write a part's record, then run.json from every part's: the run's record, and its
    file's mtime_ns."""
    assert record.part is not None
    atomic_write_bytes(part_path(run_dir, record.part.name), encode_record(record))
    with flocked(run_dir / PARTS_LOCK_FILENAME, wait=True, create=True):
        names = os.listdir(run_dir / PARTS_DIRNAME)
        merged = merge_parts([record, *_read_parts(run_dir, record.id, names, record.part.name)])
        return merged, atomic_write_bytes(run_dir / RUN_RECORD_FILENAME, encode_record(merged))


def _read_parts(
    run_dir: Path, run_id: str, names: Iterable[str], but: str | None = None
) -> Iterable[RunRecord]:
    """The parts' records among `names` (those of parts/), but part `but`'s."""
    for name in sorted(names):
        if name.endswith(".json") and name != f"{but}.json":
            try:
                yield read_record(run_dir / PARTS_DIRNAME / name, run_id)[0]
            except (OSError, StoreError):
                continue  # being written for the first time, or damaged: fsck says which


def merge_parts(records: Sequence[RunRecord]) -> RunRecord:
    """The run's record from its parts' (pure): the first part's (by task, then name), with
    the status of them all, when the last ended, and a summary of each; parts whose commits
    differ are flagged and named, never merged silently."""
    ordered = sorted(records, key=_part_order)
    first = ordered[0]
    summaries = tuple(_summary(r) for r in ordered)
    ended = [r.ended for r in ordered]
    merged = replace(
        first,
        status=combined_status(s.status for s in summaries),
        ended=max(e for e in ended if e) if all(ended) else None,
        parts=summaries,
        facts=combined_facts([(s.name, r.facts) for s, r in zip(summaries, ordered, strict=True)]),
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


def _part_order(record: RunRecord) -> tuple[bool, int, str]:
    part = record.part
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
