"""Content-addressed objects, and the durable write order of objects and records."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3
from helpers.store import make_record

from repro_run.core.errors import StoreError
from repro_run.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / ".repro")


# --- objects -------------------------------------------------------------------------------
def test_put_bytes_names_object_by_blake3_read_only(store: Store) -> None:
    digest = store.put_bytes(b"hello")
    assert digest == blake3(b"hello").hexdigest()
    path = store.object_path(digest)
    assert path == store.root / "objects" / digest[:2] / digest[2:]
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.get_bytes(digest) == b"hello" and store.has_object(digest)


def test_same_content_is_stored_once(store: Store, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)  # several read chunks
    source = tmp_path / "blob.bin"
    source.write_bytes(data)
    digest = store.put_bytes(data)
    inode = store.object_path(digest).stat().st_ino
    assert store.put_file(source) == (digest, len(data))
    assert store.put_bytes(data) == digest
    assert store.object_path(digest).stat().st_ino == inode
    assert [p for p in (store.root / "objects").rglob("*") if p.is_file()] == [
        store.object_path(digest)
    ]


def test_corrupted_object_is_never_returned(store: Store) -> None:
    digest = store.put_bytes(b"payload")
    path = store.object_path(digest)
    path.chmod(0o644)
    path.write_bytes(b"paylaod")
    with pytest.raises(StoreError, match="corrupted"):
        store.get_bytes(digest)


def test_missing_object_and_bad_digest(store: Store) -> None:
    with pytest.raises(StoreError, match="missing"):
        store.get_bytes("0" * 64)
    with pytest.raises(ValueError):
        store.object_path("../../etc/passwd")


def test_put_file_of_missing_source_is_oserror_and_leaves_no_temp(
    store: Store, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file(tmp_path / "nope")
    assert list((store.root / "objects" / "tmp").iterdir()) == []


def test_disk_full_while_writing_object_is_store_error_without_temp(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StoreError, match="No space left"):
        store.put_bytes(b"x" * 100)
    monkeypatch.undo()
    assert list((store.root / "objects" / "tmp").iterdir()) == []


# --- durable ordering (reliability scenario 25) -----------------------------------------------
@pytest.fixture
def io_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any, Any]]]:
    """Records fsync (inode, is_dir), replace and rename calls in order."""
    log: list[tuple[str, Any, Any]] = []
    real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        log.append(("fsync", info.st_ino, stat.S_ISDIR(info.st_mode)))
        real_fsync(fd)

    def replace_(src: Any, dst: Any) -> None:
        log.append(("replace", str(src), str(dst)))
        real_replace(src, dst)

    def rename(src: Any, dst: Any) -> None:
        log.append(("rename", str(src), str(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace_)
    monkeypatch.setattr(os, "rename", rename)
    yield log


def test_object_write_order_fsync_rename_fsync_dir(
    store: Store, io_log: list[tuple[str, Any, Any]]
) -> None:
    digest = store.put_bytes(b"ordered")
    path = store.object_path(digest)
    synced_object = io_log.index(("fsync", path.stat().st_ino, False))
    renamed = next(i for i, e in enumerate(io_log) if e[0] == "replace" and e[2] == str(path))
    synced_dir = io_log.index(("fsync", path.parent.stat().st_ino, True))
    assert synced_object < renamed < synced_dir


def test_record_write_order_then_index_commit(
    store: Store, io_log: list[tuple[str, Any, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, run_dir = store.new_run()
    real_upsert = store.index.upsert

    def upsert(items: Any) -> None:
        io_log.append(("index", "", ""))
        real_upsert(items)

    monkeypatch.setattr(store.index, "upsert", upsert)
    store.write_record(make_record(run_id))
    path = run_dir / "run.json"
    synced_file = io_log.index(("fsync", path.stat().st_ino, False))
    renamed = next(i for i, e in enumerate(io_log) if e[0] == "replace" and e[2] == str(path))
    synced_dir = io_log.index(("fsync", run_dir.stat().st_ino, True))
    assert synced_file < renamed < synced_dir < io_log.index(("index", "", ""))
