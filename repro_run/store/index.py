"""index.sqlite: one row per run for `repro list`. A cache: rebuildable from runs/*/run.json.

SQLite in its default rollback-journal mode (no WAL: WAL needs shared memory, which network
file systems do not provide). Writes are short `BEGIN IMMEDIATE` transactions; a busy timeout
plus a retry loop absorbs contention. A missing, corrupted or foreign-version index is rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shlex
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from repro_run.core.errors import ReadOnlyStoreError, StoreError
from repro_run.models import RunRecord, RunSummary
from repro_run.store.layout import is_read_only

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")

INDEX_VERSION = 4  # 2: rerun_of, verdict, metrics; 3: flags, run_group; 4: parts
BUSY_TIMEOUT_MS = 15_000
RETRY_WINDOW_S = 60.0

_RUNS_TABLE = """CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    duration REAL,
    command BLOB NOT NULL,
    commit_sha TEXT NOT NULL,
    seed TEXT NOT NULL,
    exit_code INTEGER,
    dirty INTEGER NOT NULL,
    record_mtime_ns INTEGER NOT NULL,
    rerun_of TEXT,
    verdict TEXT,
    metrics TEXT,
    flags TEXT NOT NULL,
    run_group TEXT,
    parts TEXT
)"""
_COLUMNS = (
    "id, created, status, duration, command, commit_sha, seed, exit_code, dirty, "
    "rerun_of, verdict, metrics, flags, run_group, parts"
)
# Only a newer version of run.json may replace a row: a reader that re-indexes a record it read
# earlier must not undo the writer's own, later upsert.
_UPSERT = f"""INSERT INTO runs ({_COLUMNS}, record_mtime_ns) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(id) DO UPDATE SET created=excluded.created, status=excluded.status,
    duration=excluded.duration, command=excluded.command, commit_sha=excluded.commit_sha,
    seed=excluded.seed, exit_code=excluded.exit_code, dirty=excluded.dirty,
    rerun_of=excluded.rerun_of, verdict=excluded.verdict, metrics=excluded.metrics,
    flags=excluded.flags, run_group=excluded.run_group, parts=excluded.parts,
    record_mtime_ns=excluded.record_mtime_ns
WHERE excluded.record_mtime_ns >= runs.record_mtime_ns"""
# Newest first: the ID's time part (whole seconds), then the record's own timestamp.
_ORDER = "ORDER BY substr(id, 1, 6) DESC, created DESC, id DESC"


def summarize(record: RunRecord) -> RunSummary:
    return RunSummary(
        id=record.id,
        created=record.created,
        status=record.status,
        duration=record.duration,
        command=shlex.join(record.command.argv),
        commit=record.code.commit,
        seed=record.determinism.seed,
        exit_code=record.process.exit_code if record.process else None,
        dirty=record.code.dirty,
        rerun_of=record.rerun_of,
        verdict=record.verdict.outcome if record.verdict else None,
        metrics=dict(record.metrics.final) if record.metrics else {},
        flags=record.flags,
        group=record.group,
        parts={part.name: part.status for part in record.parts},
    )


def _row(summary: RunSummary, mtime_ns: int) -> tuple[object, ...]:
    # Argv from non-UTF-8 file names holds lone surrogates, which sqlite3 refuses as TEXT;
    # surrogatepass bytes keep them exactly. Seeds may exceed SQLite's 64-bit integers.
    command = summary.command.encode("utf-8", "surrogatepass")
    return (
        summary.id,
        summary.created,
        summary.status,
        summary.duration,
        command,
        summary.commit,
        str(summary.seed),
        summary.exit_code,
        int(summary.dirty),
        summary.rerun_of,
        summary.verdict,
        json.dumps(summary.metrics) if summary.metrics else None,
        json.dumps(summary.flags),
        summary.group,
        json.dumps(summary.parts) if summary.parts else None,
        mtime_ns,
    )


def _summary(row: tuple[object, ...]) -> RunSummary:
    run_id, created, status, duration, command, commit, seed, exit_code, dirty = row[:9]
    rerun_of, verdict, metrics, flags, group, parts = row[9:]
    return RunSummary(
        id=str(run_id),
        created=str(created),
        status=str(status),
        duration=float(duration) if isinstance(duration, (int, float)) else None,
        command=command.decode("utf-8", "surrogatepass")
        if isinstance(command, bytes)
        else str(command),
        commit=str(commit),
        seed=int(str(seed)),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        dirty=bool(dirty),
        rerun_of=str(rerun_of) if rerun_of is not None else None,
        verdict=str(verdict) if verdict is not None else None,
        metrics=json.loads(str(metrics)) if metrics else {},
        flags=tuple(json.loads(str(flags))),
        group=str(group) if group is not None else None,
        parts=json.loads(str(parts)) if parts else {},
    )


class RunIndex:
    """The SQLite index at `path`; every operation opens its own short-lived connection."""

    def __init__(self, path: Path, lock_path: Path) -> None:
        self.path = path
        self.lock_path = lock_path  # serialises replacing a corrupted index file
        self._schema_checked = False

    def ensure_schema(self) -> None:
        """Create the schema, or recreate it when its version is not ours; idempotent."""
        self._retry(self._ensure_schema)
        self._schema_checked = True

    def upsert(self, items: Iterable[tuple[RunSummary, int]]) -> None:
        """Insert or refresh rows from (summary, run.json mtime_ns) pairs in one transaction."""
        if not self._schema_checked:  # a store opened without its index (`repro run`)
            self.ensure_schema()
        rows = [_row(summary, mtime_ns) for summary, mtime_ns in items]
        self._retry(lambda conn: _write(conn, lambda: conn.executemany(_UPSERT, rows)))

    def delete(self, run_ids: Collection[str]) -> None:
        params = [(run_id,) for run_id in run_ids]
        self._retry(
            lambda conn: _write(
                conn, lambda: conn.executemany("DELETE FROM runs WHERE id=?", params)
            )
        )

    def replace_all(self, items: Iterable[tuple[RunSummary, int]]) -> None:
        rows = [_row(summary, mtime_ns) for summary, mtime_ns in items]

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM runs")
            conn.executemany(_UPSERT, rows)

        self._retry(lambda conn: _write(conn, lambda: replace(conn)))

    def ids(self) -> set[str]:
        return self._retry(lambda conn: {row[0] for row in conn.execute("SELECT id FROM runs")})

    def query(
        self,
        status: str | None = None,
        limit: int | None = None,
        rerun_of: str | None = None,
        group: str | None = None,
    ) -> list[RunSummary]:
        """Rows newest first, by stored status (not yet checked for liveness)."""
        sql = f"SELECT {_COLUMNS} FROM runs"
        params: list[object] = []
        filters = (("status", status), ("rerun_of", rerun_of), ("run_group", group))
        where = [(c, v) for c, v in filters if v is not None]
        if where:
            sql += " WHERE " + " AND ".join(f"{column} = ?" for column, _ in where)
            params += [value for _, value in where]
        sql += f" {_ORDER}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._retry(lambda conn: [_summary(row) for row in conn.execute(sql, params)])

    # --- connections, retries, recovery ------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a writer takes the write
        # lock up front instead of failing to upgrade a read lock (which busy_timeout can't fix).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # The index is a cache rebuilt from the fsynced run.json files (and rebuilt when
            # found corrupt), so its commits need not wait for the disk: that is run.json's job.
            conn.execute("PRAGMA synchronous=OFF")
            yield conn
        finally:
            conn.close()

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        _leave_wal(conn)
        if _stored_version(conn) == INDEX_VERSION:
            return  # the common case takes no write lock, so a read-only store still lists
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            if _stored_version(conn) != INDEX_VERSION:
                # Missing or foreign version: the index is a cache, so start it afresh; the
                # store fills it again from runs/*/run.json.
                conn.execute("DROP TABLE IF EXISTS runs")
                conn.execute(_RUNS_TABLE)
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('index_version', ?)",
                    (str(INDEX_VERSION),),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise

    def _retry(self, op: Callable[[sqlite3.Connection], T], *, repair: bool = True) -> T:
        deadline = time.monotonic() + RETRY_WINDOW_S
        delay = 0.005
        while True:
            try:
                with self._connect() as conn:
                    return op(conn)
            except sqlite3.OperationalError as exc:
                message = str(exc)
                if _is_busy(message) and time.monotonic() < deadline:
                    import random  # only when busy

                    time.sleep(delay * random.uniform(0.5, 1.5))  # jitter: no lockstep retries
                    delay = min(delay * 2, 0.25)
                    continue
                if "no such table" in message and repair:
                    repair = False  # index.sqlite was deleted under us: recreate the schema
                    self._retry(self._ensure_schema, repair=False)
                    continue
                raise self._error(exc) from exc
            except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
                if not repair:
                    raise self._error(exc) from exc
                repair = False
                self._replace_corrupted()

    def _replace_corrupted(self) -> None:
        """Delete a corrupted index and start afresh: once, however many processes saw it."""
        try:
            with open(self.lock_path, "a+b") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                if self._is_corrupted():
                    # The journal first: left beside a new file, SQLite would replay it there.
                    for stale in (Path(f"{self.path}-journal"), self.path):
                        with contextlib.suppress(FileNotFoundError):
                            stale.unlink()
        except OSError as exc:
            raise self._error(exc) from exc
        self._retry(self._ensure_schema, repair=False)

    def _is_corrupted(self) -> bool:
        try:
            with self._connect() as conn:
                row = conn.execute("PRAGMA quick_check").fetchone()
        except sqlite3.OperationalError:
            return False  # busy or unreadable: not evidence of corruption
        except sqlite3.DatabaseError:
            return True
        return not row or row[0] != "ok"

    def _error(self, exc: Exception) -> StoreError:
        if is_read_only(self.path) or is_read_only(self.path.parent):
            # Not damage: the store is only ours to read (a shared archive, a snapshot), and
            # readers list from the records themselves (Store.list_runs).
            return ReadOnlyStoreError(f"the run store {self.path.parent} is read-only ({exc})")
        from repro_run.store.netfs import network_filesystem  # only now: it loads ctypes

        network = network_filesystem(self.path)
        where = (
            f" (the store is on a network file system, {network}, whose locks SQLite may not "
            "get: set REPRO_HOME to a local directory)"
            if network
            else ""
        )
        return StoreError(
            f"the run index {self.path} cannot be used: {exc}{where}; it is a cache: delete "
            "it and repro rebuilds it from runs/*/run.json"
        )


def _write(conn: sqlite3.Connection, body: Callable[[], object]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        body()
        conn.execute("COMMIT")
    except BaseException:
        conn.rollback()
        raise


def _leave_wal(conn: sqlite3.Connection) -> None:
    """An index some other tool put in WAL mode goes back to a rollback journal: WAL's shared
    memory does not work on network file systems (https://www.sqlite.org/wal.html)."""
    row = conn.execute("PRAGMA journal_mode").fetchone()
    if row and str(row[0]).lower() == "wal":
        conn.execute("PRAGMA journal_mode=DELETE")


def _stored_version(conn: sqlite3.Connection) -> int | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'index_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    try:
        return int(row[0]) if row else None
    except (TypeError, ValueError):
        return None


def _is_busy(message: str) -> bool:
    return "locked" in message or "busy" in message
