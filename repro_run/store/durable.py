"""Durable writes: temp file, fsync, atomic rename, fsync of the directory; no-replace renames."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from repro_run.store.crashpoint import durable_step

TEMP_MARKER = ".tmp-"  # in the name of every temp file an atomic write leaves after a crash


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (a rename, a new file) survive a power loss."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    durable_step(f"fsync {path.name}")


@contextlib.contextmanager
def flocked(path: Path, *, wait: bool, create: bool = False) -> Iterator[int | None]:
    """`path` opened (never through a symlink) and flocked exclusively for the block: its
    descriptor, or None when it is gone, a symlink, or (`wait=False`) held by another process.

    How the store takes a temp file from the writer that flocks it, or a lock file (`create`:
    made if missing, and opened for writing, as an exclusive lock on NFS needs).
    """
    mode = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
    try:
        fd = os.open(path, mode | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextlib.contextmanager
def _synced_temp(path: Path, data: bytes, mode: int) -> Iterator[tuple[Path, int]]:
    """A temp file beside `path` holding `data`, fsynced and flocked (`repro fsck` removes only
    temp files nobody holds) while the caller publishes it; removed if that fails."""
    tmp = path.with_name(f"{path.name}{TEMP_MARKER}{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            write_all(fd, data)
            os.fsync(fd)
            durable_step(f"fsync {tmp.name}")
            yield tmp, fd
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> int:
    """Replace `path` with `data` so readers see the old or the new file, never a partial one.

    Order: write temp -> fsync(temp) -> os.replace -> fsync(dir). Returns the file's mtime_ns,
    taken before the rename so it names this version even if another writer replaces it next.
    The temp file is flocked until renamed: `repro fsck` removes only temp files nobody holds.
    """
    with _synced_temp(path, data, mode) as (tmp, fd):
        mtime_ns = os.fstat(fd).st_mtime_ns
        os.replace(tmp, path)
        durable_step(f"rename to {path.name}")
    fsync_dir(path.parent)
    return mtime_ns


def write_once(path: Path, data: bytes, mode: int = 0o600) -> bytes:
    """`path`'s bytes, written as `data` first if the file does not exist. The first writer wins
    whole: a temp file, fsynced, then link(2), which never replaces an existing file; so every
    caller, racing or not, gets the same bytes, and none ever sees a partial file."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    with _synced_temp(path, data, mode) as (tmp, _):
        with contextlib.suppress(FileExistsError):  # another writer's bytes won
            os.link(tmp, path)
        os.unlink(tmp)
    fsync_dir(path.parent)
    return path.read_bytes()


def rename_noreplace(source: Path, target: Path) -> None:
    """Rename `source` to `target`, or FileExistsError if `target` exists: never a replace.

    rename(2) silently replaces an empty directory, such as a run directory `mkdir` has just
    made for a starting run, so a run arriving whole (an import) must not use it. Linux has
    renameat2(RENAME_NOREPLACE), macOS renamex_np(RENAME_EXCL); where neither works (an old
    libc, NFS), `target` is first claimed by `mkdir` (create-only), then replaced by the
    rename: only that empty directory of ours can be replaced.
    """
    if _rename_exclusive(source, target):
        return
    os.mkdir(target)
    try:
        os.rename(source, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(target)
        raise


def _rename_exclusive(source: Path, target: Path) -> bool:
    """The kernel's no-replace rename; False where this system or file system lacks it."""
    import ctypes  # only where a run arrives whole: not on `repro run`'s launch path
    import errno
    import sys

    libc = ctypes.CDLL(None, use_errno=True)
    old, new = os.fsencode(source), os.fsencode(target)
    if sys.platform == "linux" and hasattr(libc, "renameat2"):
        at_fdcwd, rename_noreplace_flag = -100, 1  # <linux/fcntl.h>, <linux/fs.h>
        result = libc.renameat2(at_fdcwd, old, at_fdcwd, new, ctypes.c_uint(rename_noreplace_flag))
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(old, new, ctypes.c_uint(0x4))  # RENAME_EXCL, <stdio.h>
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # this file system cannot refuse to replace: the caller claims first
    raise OSError(code, os.strerror(code), os.fspath(source), None, os.fspath(target))
