"""Is a `running` run still running? An exclusive flock held by its supervisor says so."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from repro_run import host
from repro_run.constants import RUN_LOCK_FILENAME
from repro_run.errors import StoreError
from repro_run.models import CRASHED, RUNNING, UNKNOWN_REMOTE, RunRecord

_ACQUIRE_ATTEMPTS = 50  # a reader's take-and-release probe holds the lock for microseconds
# Lock files this process holds. Probing one of them would open and close a second descriptor,
# and where flock is emulated with fcntl locks (NFS) that close drops the supervisor's lock.
_HELD: set[str] = set()


class RunLock:
    """The supervisor's exclusive lock on runs/<id>/lock, held for the run's lifetime."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

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
    except PermissionError:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # a store we may only read
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def effective_status(record: RunRecord, run_dir: Path) -> str:
    """The status to show: a `running` record whose supervisor is gone reads as `crashed`."""
    if record.status != RUNNING:
        return record.status
    supervisor = record.supervisor
    if supervisor.hostname != host.hostname():
        return UNKNOWN_REMOTE
    boot_id = host.boot_id()
    if supervisor.boot_id and boot_id and supervisor.boot_id != boot_id:
        return CRASHED  # the machine rebooted since: no process of that boot survives
    return RUNNING if is_locked(run_dir) else CRASHED
