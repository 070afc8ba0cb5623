"""The fingerprint engine's forked workers: batches of directories, and large files.

Linux only (fork): workers inherit the settings and the loaded stat cache without pickling.
BLAKE3's thread pool does not survive a fork (a child would wait forever on threads it does
not have), so the engine's own process never starts it where it may fork: large files are
hashed multi-threaded inside workers only, memory-mapped. A file truncated while mapped kills
its worker with SIGBUS; the pool is then broken, and the engine hashes what is left itself,
by reading (`BrokenProcessPool`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING

from repro_run.fingerprint.dir_records import DirRecord, WalkSettings
from repro_run.fingerprint.hashing import hash_large_file
from repro_run.fingerprint.walk import DirId, DirResult, scan_directory

if TYPE_CHECKING:  # multiprocessing is imported when a pool starts: `repro run` stays quick
    from multiprocessing.sharedctypes import Synchronized

_COUNTER_WAIT_S = 0.5
FORKS = sys.platform.startswith("linux")  # macOS: fork is unsafe with system frameworks loaded
TASK_BUDGET = 2048  # entries a task lists before handing back its unvisited directories
_MAX_WORKERS = 8

Item = tuple[str, str, frozenset[DirId]]  # (rel, path, ancestors including itself)
TaskResult = tuple[list[DirResult], list[Item]]
LargeResult = tuple[str, bytes] | OSError


def default_workers() -> int:
    """Worker processes for a large walk: the usable CPUs, where fork is available."""
    if not FORKS:
        return 1
    return max(1, min(_MAX_WORKERS, len(os.sched_getaffinity(0))))


def run_task(
    items: list[Item], budget: int, settings: WalkSettings, cached: Mapping[str, DirRecord]
) -> TaskResult:
    """Walk depth-first from `items` until `budget` entries are listed; return what is left."""
    stack = list(items)
    results: list[DirResult] = []
    listed = 0
    while stack and listed < budget:
        rel, path, ancestors = stack.pop()
        result = scan_directory(rel, path, cached.get(rel), settings, ancestors)
        results.append(result)
        listed += result.listed + 1
        stack.extend(
            (sub, sub_path, ancestors | {sub_id}) for sub, sub_path, sub_id in result.subdirs
        )
    return results, stack


class WorkerPool:
    def __init__(
        self, settings: WalkSettings, cached: Mapping[str, DirRecord], workers: int
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork")
        # Bytes hashed inside workers, for progress; created before the fork that shares it.
        self._hashed: Synchronized[int] = context.Value("q", 0)
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_install,
            initargs=(settings, cached, self._hashed),  # inherited through fork, not pickled
        )

    def walk(self, items: list[Item]) -> Future[TaskResult]:
        return self._pool.submit(_walk_task, items)

    def hash_large(self, path: str, threads: bool) -> Future[LargeResult]:
        """Hash one large file in a worker; `threads`: BLAKE3 also splits it across its own
        threads (for when there are fewer files than workers: cores would idle)."""
        return self._pool.submit(_large_task, path, threads)

    def take_hashed_bytes(self) -> int:
        """Bytes the workers hashed since the last call (progress only). 0 when the counter's
        lock stays taken: a worker killed while adding to it (the pool ends the others when
        one dies) would hold it for ever."""
        lock = self._hashed.get_lock()
        if not lock.acquire(timeout=_COUNTER_WAIT_S):
            return 0
        try:
            done, self._hashed.value = self._hashed.value, 0
        finally:
            lock.release()
        return done

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_state: tuple[WalkSettings, Mapping[str, DirRecord], Synchronized[int]] | None = None


def _install(
    settings: WalkSettings, cached: Mapping[str, DirRecord], hashed: Synchronized[int]
) -> None:
    global _state
    _state = (settings, cached, hashed)


def _walk_task(items: list[Item]) -> TaskResult:
    assert _state is not None
    settings, cached, _ = _state
    return run_task(items, TASK_BUDGET, settings, cached)


def _large_task(path: str, threads: bool) -> LargeResult:
    assert _state is not None
    settings, _, hashed = _state

    def advance(n: int) -> None:
        with hashed.get_lock():
            hashed.value += n

    try:
        return hash_large_file(path, settings.stat_filter, advance, mapped=True, threads=threads)
    except OSError as exc:
        return exc  # the engine decides: an error naming the file, or an unreadable note
