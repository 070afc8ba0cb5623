"""The Store: one `.repro/` directory; allocates runs, writes records, lists and resolves them."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import shlex
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from repro_run.core.constants import (
    DIGEST_KEY_BYTES,
    DIGEST_KEY_FILENAME,
    INDEX_FILENAME,
    INDEX_LOCK_FILENAME,
    OBJECTS_DIRNAME,
    RUN_RECORD_FILENAME,
    RUNS_DIRNAME,
    TMP_DIRNAME,
)
from repro_run.core.errors import ReadOnlyStoreError, StoreError
from repro_run.core.record import replace
from repro_run.models import (
    CRASHED,
    PRESUMED_DEAD,
    RUNNING,
    UNKNOWN_REMOTE,
    ManifestEntry,
    PartInfo,
    RunRecord,
    RunSummary,
)
from repro_run.store import processes
from repro_run.store import resolve as refs
from repro_run.store.crashpoint import durable_step
from repro_run.store.durable import atomic_write_bytes, fsync_dir, write_once
from repro_run.store.ids import TIME_CHARS, allocate_run_dir, is_run_id
from repro_run.store.layout import ensure_layout
from repro_run.store.liveness import RunLock, effective_status, part_statuses
from repro_run.store.objects import ObjectStore
from repro_run.store.parts import damaged_parts, files_dir, read_parts, write_part
from repro_run.store.run_json import encode_record, peek_record, read_record

# Re-exported for callers that import from this module; `repro_run.store` is the public face.
__all__ = ["Store"]

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from repro_run.store.index import RunIndex

_LIVENESS_STATUSES = (RUNNING, CRASHED, UNKNOWN_REMOTE, PRESUMED_DEAD)  # a running row's verdicts


class Store:
    """A run store rooted at `root` (normally `<repo root>/.repro`). Safe across processes.

    runs/<id>/run.json is the source of truth; index.sqlite is a cache that `list_runs`
    reconciles with runs/ (new, removed and still-running runs) before answering.
    """

    def __init__(self, root: Path, warn: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.runs_dir = root / RUNS_DIRNAME
        self.objects = ObjectStore(root / OBJECTS_DIRNAME, root / OBJECTS_DIRNAME / TMP_DIRNAME)
        self._warn = warn  # told of each record skipped because it cannot be read
        self._skipped: set[str] = set()

    @functools.cached_property
    def index(self) -> RunIndex:
        """The SQLite index (a cache of runs/), imported and opened on first use."""
        from repro_run.store.index import RunIndex

        return RunIndex(self.root / INDEX_FILENAME, self.root / INDEX_LOCK_FILENAME)

    @classmethod
    def open(
        cls, path: Path, *, index: bool = True, warn: Callable[[str], None] | None = None
    ) -> Store:
        """Open the store at `path`, creating its layout and index if needed (concurrency-safe).

        `index=False` leaves the index (a cache) to its first write: `repro run` starts the
        command without importing SQLite, and a run never fails for its cache.
        """
        root = path.absolute()
        ensure_layout(root)
        store = cls(root, warn)
        if index:
            with contextlib.suppress(ReadOnlyStoreError):  # readers then go without the index
                store.index.ensure_schema()
        return store

    # --- runs ----------------------------------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise ValueError(f"not a run ID: {run_id!r}")
        return self.runs_dir / run_id

    def new_run(self) -> tuple[str, Path]:
        """Allocate a fresh run ID and its empty directory (invisible until `write_record`)."""
        try:
            run_id, path = allocate_run_dir(self.runs_dir)
            fsync_dir(self.runs_dir)  # the run directory itself must survive before its record
        except OSError as exc:
            raise StoreError(f"cannot create a run directory in {self.runs_dir}: {exc}") from exc
        return run_id, path

    def join_run(self, key: str, part: PartInfo, *, reused: bool) -> tuple[str, Path]:
        """The run group `key` records together (made by the first to ask) and `part`'s new
        directory in it: see store/parts.py."""
        from repro_run.store.parts import claim_part

        run_id, part_dir = claim_part(self.root, self.runs_dir, key, part, reused)
        try:
            fsync_dir(part_dir.parent)  # the part's directory must survive before its record
            fsync_dir(self.runs_dir)
        except OSError as exc:
            raise StoreError(f"cannot create a run directory in {self.runs_dir}: {exc}") from exc
        return run_id, part_dir

    def files_dir(self, record: RunRecord) -> Path:
        """Where the run's files (log, metrics, patch) are; a multi-part run's: its first
        part's, each part's under parts/<name>/."""
        return files_dir(self.run_dir(record.id), record.part.name if record.part else None)

    def run_lock(self, run_id: str, part: str | None = None) -> RunLock:
        """The supervisor's liveness lock for `run_id` (in `part`'s directory, for one part of
        several); hold it until the record is final."""
        return RunLock.acquire(files_dir(self.run_dir(run_id), part))

    def write_record(self, record: RunRecord, *, index: bool = True) -> None:
        """Atomically replace runs/<id>/run.json, then update the index.

        Order: fsync(temp) -> rename -> fsync(run dir) -> index commit, so the index never
        names a record that a crash could lose. `index=False` writes run.json only, for the
        next `list` to index (`repro run`: opening SQLite costs ~3 ms of a short command).
        """
        run_dir = self.run_dir(record.id)
        if not run_dir.is_dir():
            raise StoreError(f"run {record.id} has no directory in {self.runs_dir}")
        try:
            if record.part is None:
                mtime_ns = atomic_write_bytes(run_dir / RUN_RECORD_FILENAME, encode_record(record))
            else:  # one part of several: its own record, then the run's from all of them
                record, mtime_ns = write_part(run_dir, record)
        except OSError as exc:
            raise StoreError(f"cannot write the record of run {record.id}: {exc}") from exc
        if not index:
            return
        try:
            self.index.upsert([(_summarize(record), mtime_ns)])
        except StoreError:
            # run.json is durable and is the truth; `list` re-indexes what the index missed,
            # and reports the index's trouble itself. A run never fails for its cache.
            return
        durable_step("index commit")

    def load_record(self, run_id: str) -> RunRecord:
        """The record of `run_id`; RunNotFoundError until its run.json exists."""
        if not is_run_id(run_id):
            raise refs.not_found(run_id)
        try:
            return read_record(self.runs_dir / run_id / RUN_RECORD_FILENAME, run_id)[0]
        except (FileNotFoundError, NotADirectoryError):
            raise refs.not_found(run_id) from None
        except OSError as exc:
            raise StoreError(f"run {run_id}: the record cannot be read: {exc}") from exc

    def effective_status(self, record: RunRecord) -> str:
        return effective_status(record, self.run_dir(record.id))

    def part_records(self, record: RunRecord) -> list[RunRecord]:
        """The records of the parts of a run several supervisors recorded (none for the
        others); StoreError naming the first that cannot be read."""
        records, unreadable = self.read_parts(record)
        if unreadable:
            raise StoreError(unreadable[0])
        return records

    def read_parts(self, record: RunRecord) -> tuple[list[RunRecord], list[str]]:
        """The records of the parts that can be read; and one line for each other, naming it
        and why (one damaged part never hides the others)."""
        return read_parts(self.run_dir(record.id), record)

    def with_part_statuses(self, record: RunRecord) -> RunRecord:
        """`record` with each part's effective status (a part whose supervisor is gone reads
        as crashed, as a run does; one whose record is missing or damaged, `unreadable`)."""
        statuses = part_statuses(record, self.run_dir(record.id))
        damaged = damaged_parts(self.run_dir(record.id), record)
        parts = tuple(
            replace(p, status=f"unreadable ({damaged[p.name]})" if p.name in damaged else s)
            for p, s in zip(record.parts, statuses, strict=True)
        )
        return replace(record, parts=parts)

    def leftover_processes(self, run_id: str) -> list[int]:
        """Live processes of run `run_id` (REPRO_RUN_ID in their environment): what a crashed
        supervisor left behind."""
        return processes.run_processes(run_id)

    def run_ids(self) -> list[str]:
        """IDs of all run directories, oldest first by ID (including runs still being created)."""
        try:
            names = os.listdir(self.runs_dir)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list {self.runs_dir}: {exc}") from exc
        return sorted(name for name in names if is_run_id(name))

    # --- objects (see ObjectStore) ----------------------------------------------------------
    def put_bytes(self, data: bytes) -> str:
        return self.objects.put_bytes(data)

    def put_file(self, path: Path) -> tuple[str, int]:
        return self.objects.put_file(path)

    def get_bytes(self, digest: str) -> bytes:
        return self.objects.get_bytes(digest)

    def object_path(self, digest: str) -> Path:
        return self.objects.object_path(digest)

    def has_object(self, digest: str) -> bool:
        return self.objects.has_object(digest)

    def bundled_data(self, digest: str, entries: Sequence[ManifestEntry]) -> Path | None:
        """Dataset `digest` (manifest `entries`) rebuilt from its files' objects under
        `data/<digest>/`, as a run imported with its data has them; None when some are missing."""
        from repro_run.store.materialise import has_files, materialise, materialised_path

        if not materialised_path(self.root, digest).is_dir() and not has_files(
            self.objects, entries
        ):
            return None
        return materialise(self.root, self.objects, digest, entries)

    # --- the key of secret parameters' digests -------------------------------------------
    def digest_key(self) -> bytes:
        """This store's key for the digests of secret parameters (`core.redaction.digest_mask`),
        made on first use. Never exported: a digest names a value only within its store."""
        path = self.root / DIGEST_KEY_FILENAME
        try:
            key = write_once(path, os.urandom(DIGEST_KEY_BYTES))
        except OSError as exc:
            raise StoreError(f"cannot read or create {path}: {exc.strerror or exc}") from exc
        if not 0 < len(key) <= DIGEST_KEY_BYTES:  # BLAKE2b takes keys of 1 to 64 bytes
            raise StoreError(f"{path} is not a key ({len(key)} bytes): remove it; it is remade")
        return key

    # --- staging (see staging.py) -----------------------------------------------------------
    def staging(self, prefix: str) -> contextlib.AbstractContextManager[Path]:
        """A fresh directory under the store, locked by this process until the block ends."""
        from repro_run.store.staging import staging_dir  # import and rerun only

        return staging_dir(self.root, prefix)

    # --- listing -------------------------------------------------------------------------
    def list_runs(
        self, status: str | None = None, limit: int | None = None, group: str | None = None
    ) -> list[RunSummary]:
        """Runs newest first, with their effective status; `status` filters on it, `group` on
        the `--repeat` group."""
        try:
            running = self._reconcile()
            by_liveness = status in _LIVENESS_STATUSES
            rows = self.index.query(
                status=RUNNING if by_liveness else status,
                limit=None if by_liveness else limit,
                group=group,
            )
        except ReadOnlyStoreError:
            rows = [
                row
                for row in self._unindexed()
                if status in (None, row.status) and group in (None, row.group)
            ]
            return rows[:limit]
        result: list[RunSummary] = []
        for row in rows:
            current = running.get(row.id, row) if row.status == RUNNING else row
            if status is None or current.status == status:
                result.append(current)
            if limit is not None and len(result) >= limit:
                break
        return result

    def reruns_of(self, run_id: str) -> list[RunSummary]:
        """Runs whose record says `rerun_of: run_id`, newest first."""
        try:
            self._reconcile()
            return self.index.query(rerun_of=run_id)
        except ReadOnlyStoreError:
            return [row for row in self._unindexed() if row.rerun_of == run_id]

    def _unindexed(self) -> list[RunSummary]:
        """What the index answers, from the records themselves: for a store that is only ours
        to read (the index is a cache, never needed to read runs). Newest first."""
        rows = []
        for record, _ in self.readable_records(self.run_ids()):
            rows.append(self._effective_summary(record))
        # The index's order: the ID's second, then the record's timestamp, then the ID.
        return sorted(
            rows, key=lambda row: (row.id[:TIME_CHARS], row.created, row.id), reverse=True
        )

    def rebuild_index(self) -> int:
        """Rebuild index.sqlite from runs/*/run.json; returns the number of runs indexed."""
        self.index.ensure_schema()
        items = list(self._read_indexable(self.run_ids()))
        self.index.replace_all(items)
        return len(items)

    def _reconcile(self) -> dict[str, RunSummary]:
        """Index what runs/ has and the index lacks, drop what is gone, and refresh the rows
        indexed as running (`repro run` does not index): those rows, by ID, with their
        effective status."""
        # IDs from the index first, then the directory: a run created in between is then only
        # missing from `indexed` (added), never wrongly seen as removed.
        indexed = self.index.ids()
        on_disk = set(self.run_ids())
        added = list(self._read_indexable(sorted(on_disk - indexed)))
        if added:
            self.index.upsert(added)
        removed = [run_id for run_id in indexed - on_disk if not (self.runs_dir / run_id).exists()]
        if removed:
            self.index.delete(removed)
        return {row.id: self._refresh_running(row) for row in self.index.query(status=RUNNING)}

    def readable_records(self, run_ids: Iterable[str]) -> Iterator[tuple[RunRecord, int]]:
        """(record, run.json mtime_ns) of each of `run_ids` that can be read.

        A run still starting (no run.json yet) is left out. So is one whose record cannot be
        read (damaged, hostile, out of range, newer schema), with a warning naming it: one bad
        record never breaks a command about the others; `repro fsck` reports it.
        """
        for run_id in run_ids:
            try:
                yield read_record(self.runs_dir / run_id / RUN_RECORD_FILENAME, run_id)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except (OSError, StoreError) as exc:
                self._skip(run_id, exc)

    def _skip(self, run_id: str, exc: Exception) -> None:
        if run_id in self._skipped:
            return
        self._skipped.add(run_id)
        if self._warn is not None:
            reason = str(exc) if isinstance(exc, StoreError) else f"run {run_id}: {exc}"
            self._warn(f"{reason}; skipped (repro fsck reports it)")

    def _read_indexable(self, run_ids: list[str]) -> list[tuple[RunSummary, int]]:
        return [(_summarize(record), mtime) for record, mtime in self.readable_records(run_ids)]

    def _refresh_running(self, row: RunSummary) -> RunSummary:
        """A `running` row: re-read its record (it may have finished) and check liveness."""
        try:
            record, mtime_ns = read_record(self.runs_dir / row.id / RUN_RECORD_FILENAME, row.id)
        except (OSError, StoreError):
            return row
        if record.status != RUNNING:
            summary = _summarize(record)
            self.index.upsert([(summary, mtime_ns)])  # the writer crashed before indexing it
            return summary
        return self._effective_summary(record)

    def _effective_summary(self, record: RunRecord) -> RunSummary:
        """`record`'s line with its effective status, and each part's (a part whose supervisor
        is gone reads as crashed)."""
        summary = _summarize(record)
        if record.status != RUNNING:
            return summary  # nor is any of its parts: the run is running while one is
        statuses = part_statuses(record, self.run_dir(record.id))
        parts = dict(zip((part.name for part in record.parts), statuses, strict=True))
        return replace(summary, status=self.effective_status(record), parts=parts)

    # --- resolution ----------------------------------------------------------------------
    def resolve(self, ref: str) -> str:
        """The run ID for `ref`: an ID, a unique prefix, `latest`/`@` or `@~N`.

        Reads runs/ (the source of truth), not the index; runs without run.json are invisible.
        A record is parsed only to order or list candidates: one match needs no more than its
        file's presence (a 1,000-rank record takes ~15 ms to parse: bench/ranks.py).
        """
        run_ids = self.run_ids()
        offset = refs.relative_offset(ref)
        if offset is not None:
            newest = self._newest_first(run_ids, offset + 1)
            if offset >= len(newest):
                raise refs.out_of_range(ref, len(newest))
            return newest[offset]
        found = [
            run_id
            for run_id in refs.match_prefix(refs.normalize_ref(ref), run_ids)
            if self._has_record(run_id)
        ]
        if len(found) == 1:
            return found[0]
        peeks = {run_id: peek for run_id in found if (peek := self._peek(run_id)) is not None}
        if not peeks:
            raise refs.not_found(ref)
        if len(peeks) == 1:
            return next(iter(peeks))
        ordered = self._newest_first(list(peeks), refs.CANDIDATES_SHOWN, peeks)
        candidates = [(run_id, _command_of(peeks[run_id])) for run_id in ordered]
        raise refs.ambiguous(ref, candidates, len(peeks))

    def _newest_first(
        self, run_ids: list[str], count: int, peeks: dict[str, dict[str, Any]] | None = None
    ) -> list[str]:
        """The `count` newest visible runs. IDs order by second; `created` orders within one."""
        known = peeks or {}
        result: list[str] = []
        ordered = sorted(run_ids, reverse=True)
        for _, group in itertools.groupby(ordered, key=lambda run_id: run_id[:TIME_CHARS]):
            members = list(group)
            if len(members) == 1:  # nothing to order within its second
                result += [r for r in members if r in known or self._has_record(r)]
            else:
                result += self._by_creation(members, known)
            if len(result) >= count:
                break
        return result[:count]

    def _by_creation(self, run_ids: list[str], known: dict[str, dict[str, Any]]) -> list[str]:
        """The visible runs of one second, newest first by their records' `created`."""
        visible = []
        for run_id in run_ids:
            peek = known[run_id] if run_id in known else self._peek(run_id)
            if peek is not None:
                created = peek.get("created")
                visible.append((created if isinstance(created, str) else "", run_id))
        return [run_id for _, run_id in sorted(visible, reverse=True)]

    def _has_record(self, run_id: str) -> bool:
        return os.path.exists(self.runs_dir / run_id / RUN_RECORD_FILENAME)

    def _peek(self, run_id: str) -> dict[str, Any] | None:
        return peek_record(self.runs_dir / run_id / RUN_RECORD_FILENAME)


def _command_of(peek: dict[str, Any]) -> str:
    command = peek.get("command")
    argv = command.get("argv") if isinstance(command, dict) else None
    if isinstance(argv, list) and all(isinstance(arg, str) for arg in argv):
        return shlex.join(argv)
    return "(record unreadable)"


def _summarize(record: RunRecord) -> RunSummary:
    from repro_run.store.index import summarize  # sqlite3: not on `repro run`'s launch path

    return summarize(record)
