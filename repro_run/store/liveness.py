"""Is a `running` run still running? Its supervisor's identity, flock and heartbeat say so.

On this host: the supervisor's pid with its start time (so a reused pid is not mistaken for it),
on this boot, holding the run's flock. On another host sharing the store: only the heartbeat,
the mtime of runs/<id>/lock, which the supervisor touches every `heartbeat_interval` seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from repro_run.core import host
from repro_run.core.constants import (
    DEFAULT_HEARTBEAT_INTERVAL_S,
    ENV_HEARTBEAT_INTERVAL,
    HEARTBEAT_STALE_FACTOR,
    RUN_LOCK_FILENAME,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import StoreError
from repro_run.models import CRASHED, PRESUMED_DEAD, RUNNING, UNKNOWN_REMOTE, RunRecord, Supervisor
from repro_run.store import processes

_ACQUIRE_ATTEMPTS = 50  # a reader's take-and-release probe holds the lock for microseconds
# Lock files this process holds. Probing one of them would open and close a second descriptor,
# and where flock is emulated with fcntl locks (NFS) that close drops the supervisor's lock.
_HELD: set[str] = set()


class RunLock:
    """The supervisor's exclusive lock on runs/<id>/lock, held for the run's lifetime."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._heartbeat = _Heartbeat(path, heartbeat_interval())
        self._heartbeat.start()

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        path = run_dir / RUN_LOCK_FILENAME
        # O_CLOEXEC: the child must not inherit the lock, or a dead supervisor would look alive.
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the lock of run {run_dir.name}: {exc}") from exc
        for _ in range(_ACQUIRE_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            with contextlib.suppress(OSError):  # a full disk: fsck then waits out a grace
                # A lock file with content was taken: once free, its owner is gone.
                os.write(fd, b"%d\n" % os.getpid())
            _HELD.add(str(path.absolute()))
            return cls(path, fd)
        os.close(fd)
        raise StoreError(f"run {run_dir.name} is locked by another process ({path})")

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        self._heartbeat.stop()
        _HELD.discard(str(self.path.absolute()))
        fd, self._fd = self._fd, None
        os.close(fd)  # closing the only descriptor releases the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def is_locked(run_dir: Path) -> bool:
    """Whether some live process holds the run's lock; probed by take-and-release."""
    path = run_dir / RUN_LOCK_FILENAME
    if str(path.absolute()) in _HELD:
        return True
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:  # EACCES, EROFS: a store we may only read
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def effective_status(record: RunRecord, run_dir: Path, now: float | None = None) -> str:
    """The status to show: a `running` record whose supervisor is gone reads as `crashed`."""
    if record.status != RUNNING:
        return record.status
    if record.parts:  # several supervisors: the run's status from all of theirs
        from repro_run.store.parts import combined_status

        return combined_status(part_statuses(record, run_dir, now))
    return _supervised_status(record.supervisor, run_dir, now)


def part_statuses(record: RunRecord, run_dir: Path, now: float | None = None) -> list[str]:
    """The effective status of each of a run's parts, judged by its own lock and supervisor."""
    from repro_run.store.parts import files_dir

    return [
        _supervised_status(p.supervisor, files_dir(run_dir, p.name), now)
        if p.status == RUNNING
        else p.status
        for p in record.parts
    ]


def _supervised_status(supervisor: Supervisor, run_dir: Path, now: float | None) -> str:
    """RUNNING, or what a gone supervisor's run reads as, judged by its lock in `run_dir`."""
    if supervisor.hostname != host.hostname():
        return _remote_status(run_dir, supervisor.heartbeat_interval, now)
    boot_id = host.boot_id()
    if supervisor.boot_id and boot_id and supervisor.boot_id != boot_id:
        return CRASHED  # the machine rebooted since: no process of that boot survives
    if not processes.is_same_process(supervisor.pid, supervisor.start_time, supervisor.start_ticks):
        return CRASHED  # gone, or its pid now names another process
    return RUNNING if is_locked(run_dir) else CRASHED


def _remote_status(run_dir: Path, interval: float, now: float | None) -> str:
    """Another host's flock and pids mean nothing here: only the heartbeat's age does."""
    beat = None
    for name in (RUN_LOCK_FILENAME, RUN_RECORD_FILENAME):  # no lock file: the record's own age
        with contextlib.suppress(OSError):
            beat = (run_dir / name).stat().st_mtime
            break
    if beat is None:
        return PRESUMED_DEAD
    age = (time.time() if now is None else now) - beat
    return PRESUMED_DEAD if age > HEARTBEAT_STALE_FACTOR * interval else UNKNOWN_REMOTE


def heartbeat_interval() -> float:
    try:
        value = float(os.environ.get(ENV_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_INTERVAL_S))
    except ValueError:
        return DEFAULT_HEARTBEAT_INTERVAL_S
    # `inf` would be recorded, and a record's numbers are finite (models.codec)
    return value if 0 < value < float("inf") else DEFAULT_HEARTBEAT_INTERVAL_S


def this_supervisor(hostname: str, boot_id: str | None) -> Supervisor:
    """The identity of the current process as a run's supervisor."""
    pid = os.getpid()
    started = processes.start_time(pid)
    return Supervisor(
        pid=pid,
        start_time=started if started is not None else time.time(),
        hostname=hostname,
        boot_id=boot_id,
        heartbeat_interval=heartbeat_interval(),
        start_ticks=processes.start_ticks(pid),
    )


class _Heartbeat(threading.Thread):
    """Touches the lock file every interval while the run lives (a daemon: never delays exit)."""

    def __init__(self, path: Path, interval: float) -> None:
        super().__init__(name="repro-heartbeat", daemon=True)
        self._path = path
        self._interval = interval
        self._done = threading.Event()

    def stop(self) -> None:
        self._done.set()

    def run(self) -> None:
        while not self._done.wait(self._interval):
            with contextlib.suppress(OSError):  # a full or read-only disk: liveness degrades
                os.utime(self._path)
