"""The fingerprint engine: a dataset path in; its canonical manifest, digest and counts out.

`fingerprint(path)` resolves the root (a symlinked root is followed), loads the root's stat
cache, walks the tree one directory at a time (`walk.scan_directory`) and hashes what the
cache cannot vouch for, then assembles the manifest from per-directory runs of lines in
canonical order and saves the cache. Small trees are walked in this process; when the walk
takes longer than a moment, the rest is shared among forked worker processes (Linux, see
`workers.py`), one batch of directories at a time: Python's per-file cost, not the disk, is
the bottleneck for many small files, and threads would serialise on the GIL. Large files
are hashed by the workers too, memory-mapped, by BLAKE3's own threads. Progress is reported
through `FingerprintProgress`; the engine never prints.
"""

from __future__ import annotations

import os
import stat
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Protocol

from repro_run.core.constants import LARGE_FILE_BYTES, RACY_MARGIN_NS
from repro_run.core.errors import DataChangedError, DataNotFoundError, DataUnreadableError
from repro_run.core.record import Record
from repro_run.fingerprint.dir_records import DirRecord, Draft, WalkSettings, assemble, finish
from repro_run.fingerprint.hashing import KEY, FileChanged, StatFilter, hash_large_file
from repro_run.fingerprint.manifest import manifest_digest
from repro_run.fingerprint.statcache import EMPTY, RootIdentity, StatCache
from repro_run.fingerprint.walk import DirResult, kind_of, scan_single_file, unreadable_note
from repro_run.fingerprint.workers import (
    FORKS,
    TASK_BUDGET,
    Item,
    LargeResult,
    TaskResult,
    WorkerPool,
    default_workers,
    run_task,
)

PARALLEL_AFTER_S = 0.05  # walk in-process this long before starting workers
POOL_LARGE_BYTES = 64 * 1024 * 1024  # less than this in large files: hashed here, unforked


class FingerprintProgress(Protocol):
    def estimate(self, files: int, size: int) -> None:
        """The expected totals (the last scan's, until this one has listed everything)."""

    def advance(self, files: int, size: int) -> None:
        """Files and bytes accounted for since the last call (hashed or vouched for)."""


class NoProgress:
    def estimate(self, files: int, size: int) -> None:
        pass

    def advance(self, files: int, size: int) -> None:
        pass


class Fingerprint(Record):
    root: str  # the resolved root
    digest: str  # BLAKE3 of `manifest`
    manifest: bytes  # the canonical manifest (`manifest.decode_manifest` reads it)
    files: int  # entries: regular files and symlinks (unreadable files included)
    bytes: int
    skipped: tuple[str, ...]  # "fifo: a/b": entries never opened
    unreadable: tuple[str, ...]  # "a/b (Permission denied)": recorded without a hash
    hashed_files: int  # files read this time
    hashed_bytes: int
    cached_files: int  # files and links vouched for by the stat cache, not read
    seconds: float
    cache_problem: str | None = None  # why the stat cache could not be written


def fingerprint(
    path: Path,
    *,
    cache_dir: Path | None = None,
    progress: FingerprintProgress | None = None,
    skip_unreadable: bool = False,
    workers: int | None = None,
    parallel_after_s: float = PARALLEL_AFTER_S,
    now_ns: int | None = None,
    stat_filter: StatFilter | None = None,
) -> Fingerprint:
    """Fingerprint a file or directory. `cache_dir` None: no stat cache is read or written.

    `now_ns` and `stat_filter` let tests stand in for the clock and a coarse filesystem.
    """
    started = time.perf_counter()
    settings = WalkSettings(
        now_ns=time.time_ns() if now_ns is None else now_ns,
        racy_margin_ns=RACY_MARGIN_NS,
        large_file=LARGE_FILE_BYTES,
        skip_unreadable=skip_unreadable,
        stat_filter=stat_filter,
    )
    root, root_stat = _resolve(path)
    cache = (
        StatCache(cache_dir, RootIdentity(str(root), root_stat.st_dev, root_stat.st_ino))
        if cache_dir is not None
        else None
    )
    loaded = cache.load() if cache is not None else EMPTY
    workers = default_workers() if workers is None else workers
    walk = _Walk(settings, loaded.records, progress or NoProgress())
    if loaded.files:
        walk.progress.estimate(loaded.files, loaded.size)
    try:
        if stat.S_ISDIR(root_stat.st_mode):
            root_id = (root_stat.st_dev, root_stat.st_ino)
            walk.tree(("", str(root), frozenset({root_id})), workers, parallel_after_s)
            walk.progress.estimate(*walk.listed_totals())  # all listed: large files remain
        else:
            walk.absorb(scan_single_file(str(root), loaded.records.get(""), settings))
        records = walk.finish_large_files(workers)
    finally:
        walk.close()
    manifest = assemble(records)
    problem = cache.save(records, loaded) if cache is not None else None
    ordered = [records[rel] for rel in sorted(records)]
    return Fingerprint(
        root=str(root),
        digest=manifest_digest(manifest),
        manifest=manifest,
        files=sum(r.files for r in ordered),
        bytes=sum(r.size for r in ordered),
        skipped=tuple(s for r in ordered for s in r.skipped),
        unreadable=tuple(u for r in ordered for u in r.unreadable),
        hashed_files=walk.hashed_files,
        hashed_bytes=walk.hashed_bytes,
        cached_files=walk.cached_files,
        seconds=time.perf_counter() - started,
        cache_problem=problem,
    )


def _resolve(path: Path) -> tuple[Path, os.stat_result]:
    try:
        root = path.resolve(strict=True)
        st = os.stat(root)
    except FileNotFoundError:
        raise DataNotFoundError(f"path not found: {path} (check the path)") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop before Python 3.13
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "symlink loop"
        raise DataUnreadableError(f"path cannot be read: {path}: {reason}") from None
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise DataUnreadableError(
            f"not a file or directory: {path} is a {kind_of(st.st_mode)} (give a dataset path)"
        )
    return root, st


class _Walk:
    """The walk's state in the engine's process: records so far, drafts, counts."""

    def __init__(
        self,
        settings: WalkSettings,
        cached: Mapping[str, DirRecord],
        progress: FingerprintProgress,
    ) -> None:
        self.settings = settings
        self.cached = cached
        self.progress = progress
        self.records: dict[str, DirRecord] = {}
        self.drafts: list[Draft] = []
        self.hashed_files = 0
        self.cached_files = 0
        self.pool: WorkerPool | None = None
        self.hashed_bytes = 0

    def absorb(self, result: DirResult) -> None:
        self.hashed_files += result.hashed_files
        self.cached_files += result.reused
        self.hashed_bytes += result.hashed_bytes
        if result.draft is not None:
            self.drafts.append(result.draft)
            pending = set(result.draft.pending)  # reported as they are hashed
            files = size = 0
            for i, (_, n, _m, _c, mode, _d) in enumerate(KEY.iter_unpack(result.draft.keys)):
                if i not in pending:
                    files += 1
                    size += 0 if stat.S_ISLNK(mode) else n  # a link's size: its target's length
            self.progress.advance(files, size)
            return
        record = result.record if result.record is not None else self.cached[result.rel]
        self.records[result.rel] = record
        self.progress.advance(record.files, record.size)

    def listed_totals(self) -> tuple[int, int]:
        files = sum(r.files for r in self.records.values())
        size = sum(r.size for r in self.records.values())
        for draft in self.drafts:
            for _, n, _m, _c, mode, _d in KEY.iter_unpack(draft.keys):
                files += 1
                size += 0 if stat.S_ISLNK(mode) else n
        return files, size

    def tree(self, root: Item, workers: int, parallel_after_s: float) -> None:
        queue: deque[Item] = deque([root])
        deadline = time.perf_counter() + parallel_after_s
        while queue and (workers <= 1 or time.perf_counter() < deadline):
            results, unvisited = run_task([queue.pop()], TASK_BUDGET, self.settings, self.cached)
            for result in results:
                self.absorb(result)
            queue.extend(unvisited)
        if not queue:
            return
        pool = self._pool(workers)
        running: set[Future[TaskResult]] = set()
        while queue or running:
            while queue and len(running) < 2 * workers:
                share = max(1, min(64, len(queue) // (2 * workers)))
                running.add(pool.walk([queue.pop() for _ in range(min(share, len(queue)))]))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                results, unvisited = future.result()
                for result in results:
                    self.absorb(result)
                queue.extend(unvisited)

    def _pool(self, workers: int) -> WorkerPool:
        if self.pool is None:
            self.pool = WorkerPool(self.settings, self.cached, workers)
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def finish_large_files(self, workers: int) -> dict[str, DirRecord]:
        """Hash the large files the walk left and complete their directories' records.

        With workers, each worker maps a file and BLAKE3's threads hash it (no copy; several
        files at once); alone, this process reads and hashes them.
        """
        jobs = [(draft, i) for draft in self.drafts for i in draft.pending]
        size = sum(KEY.unpack_from(d.keys, i * KEY.size)[1] for d, i in jobs)
        left = jobs
        if workers > 1 and size >= POOL_LARGE_BYTES:
            left = self._large_in_workers(jobs, self._pool(workers))
        for draft, i in left:
            path = os.path.join(draft.path, draft.names[i])
            try:
                outcome: LargeResult = hash_large_file(
                    path,
                    self.settings.stat_filter,
                    lambda n: self.progress.advance(0, n),
                    threads=not FORKS,  # BLAKE3's threads must not exist in a process that forks
                )
            except FileChanged:
                raise _changed_while_hashed(path) from None
            except OSError as exc:
                outcome = exc
            self._complete(draft, i, outcome)
        for draft in self.drafts:
            self.records[draft.rel] = finish(draft, self.settings)
        self.drafts = []
        return self.records

    def _large_in_workers(
        self, jobs: list[tuple[Draft, int]], pool: WorkerPool
    ) -> list[tuple[Draft, int]]:
        """Hash `jobs` in the workers; returns those left when a worker died (SIGBUS).

        Largest first, one file per worker at a time, each on one core: BLAKE3's own threads
        only when there are fewer files than workers (several threads per file on busy cores
        cost more in coordination than they gain).
        """
        from concurrent.futures.process import BrokenProcessPool

        jobs = sorted(jobs, key=lambda job: -KEY.unpack_from(job[0].keys, job[1] * KEY.size)[1])
        threads = len(jobs) < pool.workers
        futures: dict[Future[LargeResult], tuple[Draft, int]] = {}
        submitted = 0
        try:
            for d, i in jobs:  # a worker may die before the last is submitted
                futures[pool.hash_large(os.path.join(d.path, d.names[i]), threads)] = (d, i)
                submitted += 1
            running = set(futures)
            while running:
                done, running = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
                self.progress.advance(0, pool.take_hashed_bytes())
                for future in done:
                    self._take(futures[future], future)
                    del futures[future]  # taken (a BrokenProcessPool above leaves it to re-read)
        except BrokenProcessPool:
            self.close()  # a file shrank under a worker's mapping: read what is left instead
            left = jobs[submitted:]
            for future, job in futures.items():  # not yet taken: results kept, failures re-read
                if not future.done() or future.cancelled() or future.exception() is not None:
                    left.append(job)
                else:
                    self._take(job, future)
            return left
        return []

    def _take(self, job: tuple[Draft, int], future: Future[LargeResult]) -> None:
        draft, i = job
        try:
            self._complete(draft, i, future.result())
        except FileChanged:
            raise _changed_while_hashed(draft.path + "/" + draft.names[i]) from None

    def _complete(self, draft: Draft, i: int, outcome: LargeResult) -> None:
        if isinstance(outcome, OSError):
            path = os.path.join(draft.path, draft.names[i])
            draft.unreadable.append(
                unreadable_note(draft.rel + draft.names[i], path, outcome, self.settings)
            )
            return
        digest, key = outcome
        draft.digests[i] = digest
        draft.keys[i * KEY.size : (i + 1) * KEY.size] = key
        self.hashed_files += 1
        self.hashed_bytes += KEY.unpack(key)[1]
        self.progress.advance(1, 0)


def _changed_while_hashed(path: str) -> DataChangedError:
    return DataChangedError(
        f"file changed while it was fingerprinted: {path} (stop what writes to it, then run again)"
    )
