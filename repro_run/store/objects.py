"""Content-addressed, immutable blobs named by the BLAKE3 hex digest of their bytes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from repro_run.core.errors import StoreError
from repro_run.store.crashpoint import durable_step
from repro_run.store.durable import fsync_dir, write_all

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from blake3 import blake3

_CHUNK = 1 << 20  # bounded memory for files of any size
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_OBJECT_MODE = 0o444


def is_digest(text: str) -> bool:
    """A BLAKE3 hex digest: the only names the store gives objects and datasets."""
    return _HEX_RE.fullmatch(text) is not None


class ObjectStore:
    """`objects/ab/cdef…` plus `objects/tmp/` for writes in progress."""

    def __init__(self, root: Path, tmp_dir: Path) -> None:
        self.root = root
        self.tmp_dir = tmp_dir

    def object_path(self, digest: str) -> Path:
        return Path(self._file(digest))

    def _file(self, digest: str) -> str:
        # A string: a verdict reads thousands of small objects, and pathlib's joins cost
        # about as much as reading one.
        if not is_digest(digest):
            raise ValueError(f"not a BLAKE3 hex digest: {digest!r}")
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def has_object(self, digest: str) -> bool:
        return self.object_path(digest).is_file()

    def get_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        """The object's bytes; a missing object or (with `verify`) a hash mismatch is a StoreError."""
        path = self._file(digest)
        try:
            with open(path, "rb", buffering=0) as file:  # unbuffered: one read, no copy
                data = file.readall()
        except FileNotFoundError:
            raise StoreError(f"object {digest} is missing from the store ({path})") from None
        except OSError as exc:
            raise StoreError(f"object {digest} cannot be read: {exc}") from exc
        # A corrupted object must never be used silently (reliability scenario 33).
        if verify and _hasher(data).hexdigest() != digest:
            raise StoreError(f"object {digest} is corrupted: its content does not match its name")
        return data

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; returns its BLAKE3 hex digest. Storing the same bytes again is a no-op."""
        digest = _hasher(data).hexdigest()
        if self._kept(digest, len(data)):
            return digest  # already stored: no temporary copy, no fsync (every warm run)
        return self._put(iter((data,)))[0]

    def put_file(self, path: Path) -> tuple[str, int]:
        """Stream `path` into the store (read once, hashed while copied); returns (digest, size).

        Errors reading `path` propagate as OSError (the caller's input); errors writing the
        store are StoreError.
        """
        with open(path, "rb") as source:
            try:
                return self._put(_read_chunks(source.fileno()))
            except _SourceReadError as exc:
                raise exc.error from None

    def adopt(self, path: Path, digest: str) -> None:
        """Make `path`, a file the caller wrote and hashed (`digest`) in a staging directory of
        this store, object `digest`: fsync -> rename -> fsync(dir), as `_put` does."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.fchmod(fd, _OBJECT_MODE)
                os.fsync(fd)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            durable_step("fsync object")
            self._move_into_place(path, digest, size)
        except OSError as exc:
            raise _write_error(exc) from exc

    def _put(self, chunks: Iterator[bytes]) -> tuple[str, int]:
        """Copy into a temp file while hashing, then: fsync(object) -> rename -> fsync(dir)."""
        try:
            import tempfile  # ~3 ms (random, shutil): not needed for an object already stored

            fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="obj-")
        except OSError as exc:
            raise _write_error(exc) from exc
        tmp = Path(name)
        try:
            try:
                # Held until the rename: `repro fsck` removes only temp files nobody holds.
                fcntl.flock(fd, fcntl.LOCK_EX)
                digest, size = _copy_hashing(chunks, fd)
                os.fchmod(fd, _OBJECT_MODE)
                os.fsync(fd)
                durable_step("fsync object")
                self._move_into_place(tmp, digest, size)
            finally:
                os.close(fd)
        except OSError as exc:
            _discard(tmp)
            raise _write_error(exc) from exc
        except BaseException:
            _discard(tmp)
            raise
        return digest, size

    def _kept(self, digest: str, size: int) -> bool:
        """Content-addressed: the object is already there, whole. Its mtime is refreshed so
        `repro gc`'s grace period covers a run about to reference it."""
        final = self.object_path(digest)
        try:
            existing_size: int | None = final.stat().st_size
        except FileNotFoundError:
            existing_size = None
        return existing_size == size and _refresh(final)

    def _move_into_place(self, tmp: Path, digest: str, size: int) -> None:
        final = self.object_path(digest)
        shard = final.parent
        if not shard.is_dir():
            shard.mkdir(exist_ok=True)
            fsync_dir(self.root)  # the new shard's own entry must be durable too
        if self._kept(digest, size):
            _discard(tmp)
        else:
            # Absent, or short after a crash on a filesystem that lost unsynced data: replace.
            # Two writers racing here replace each other with identical bytes, which is harmless.
            os.replace(tmp, final)
            durable_step("rename object")
        fsync_dir(shard)


def _hasher(data: bytes = b"") -> blake3:
    """A BLAKE3 hasher. The extension is loaded on first use (~0.7 ms): `repro run` hashes
    nothing before its command starts unless it has data, a config or a patch to store."""
    from blake3 import blake3

    return blake3(data)


def _copy_hashing(chunks: Iterator[bytes], fd: int) -> tuple[str, int]:
    hasher = _hasher()
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        size += len(chunk)
        write_all(fd, chunk)
    return hasher.hexdigest(), size


class _SourceReadError(Exception):
    """Carries a read error of the source file past the store's write-error handling."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _read_chunks(fd: int) -> Iterator[bytes]:
    while True:
        try:
            chunk = os.read(fd, _CHUNK)
        except OSError as exc:
            raise _SourceReadError(exc) from exc
        if not chunk:
            return
        yield chunk


def _write_error(exc: OSError) -> StoreError:
    return StoreError(f"cannot write an object to the store: {exc}")


def _refresh(path: Path) -> bool:
    """Touch an existing object; False when `repro gc` took it away in the meantime."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except OSError:
        pass  # a read-only store: the object is there all the same
    return True


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
