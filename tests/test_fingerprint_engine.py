"""The fingerprint engine: same digest in-process and in workers, the cache, bad input."""

from __future__ import annotations

import concurrent.futures
import faulthandler
import os
import signal
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest
from helpers.fingerprint import reference_digest

from repro_run.core.errors import DataChangedError, DataNotFoundError, DataUnreadableError
from repro_run.fingerprint import dir_records, engine, hashing, walk, workers
from repro_run.fingerprint.engine import fingerprint

LATER = 10**12  # ns: a scan this long after the files were written trusts every entry


def _later() -> int:
    return time.time_ns() + LATER


def _tree(root: Path, dirs: int = 12, files: int = 9) -> Path:
    for d in range(dirs):
        sub = root / f"d{d:02d}" / ("deep" if d % 3 == 0 else "")
        sub.mkdir(parents=True, exist_ok=True)
        for f in range(files):
            (sub / f"f{f}.bin").write_bytes(f"{d}-{f}".encode() * (f + 1))
    (root / "top.txt").write_text("top\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    os.symlink("top.txt", root / "link")
    return root


def test_engine_matches_the_plain_manifest_in_process_and_in_workers(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    inline = fingerprint(root, workers=1)
    forked = fingerprint(root, workers=2, parallel_after_s=0)
    assert inline.digest == forked.digest == reference_digest(root)
    assert inline.manifest == forked.manifest
    assert (inline.files, inline.hashed_files) == (12 * 9 + 3, 12 * 9 + 2)  # a link is not read


def test_large_files_are_hashed_by_blake3_threads_to_the_same_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "d", dirs=2, files=4)
    expected = fingerprint(root).digest
    monkeypatch.setattr(engine, "LARGE_FILE_BYTES", 8)  # every file but the tiniest is "large"
    seen: list[tuple[int, int]] = []

    class Recorder:
        def estimate(self, files: int, size: int) -> None:
            pass

        def advance(self, files: int, size: int) -> None:
            seen.append((files, size))

    result = fingerprint(root, progress=Recorder())
    assert result.digest == expected
    assert sum(f for f, _ in seen) == result.files
    assert sum(s for _, s in seen) == result.bytes


def test_large_files_hashed_by_workers_give_the_same_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "d", dirs=2, files=4)
    expected = fingerprint(root, workers=1).digest
    monkeypatch.setattr(engine, "LARGE_FILE_BYTES", 8)
    monkeypatch.setattr(engine, "POOL_LARGE_BYTES", 0)  # even a few bytes go to the workers
    result = fingerprint(root, workers=2)
    assert result.digest == expected
    assert result.hashed_files == result.files - 1


def test_a_worker_killed_while_mapping_a_file_leaves_the_engine_to_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file truncated under a worker's mapping kills it with SIGBUS; simulated here."""
    root = _tree(tmp_path / "d", dirs=2, files=4)
    expected = fingerprint(root, workers=1).digest
    _large_files_in_workers(monkeypatch)
    # inherited by the forked workers
    monkeypatch.setattr(workers, "hash_large_file", lambda *args, **kwargs: _sigbus())
    assert fingerprint(root, workers=2).digest == expected


def _large_files_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "LARGE_FILE_BYTES", 8)
    monkeypatch.setattr(engine, "POOL_LARGE_BYTES", 0)


def _sigbus() -> NoReturn:
    faulthandler.disable()  # pytest's handler would print the worker's stacks
    os.kill(os.getpid(), signal.SIGBUS)
    raise AssertionError("unreachable")


def test_files_submitted_after_a_worker_died_are_read_by_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool breaks while the engine is still submitting (a loaded machine): the files not
    yet submitted are read in-process, not lost to an exception."""
    root = _tree(tmp_path / "d", dirs=2, files=4)
    expected = fingerprint(root, workers=1).digest
    _large_files_in_workers(monkeypatch)
    monkeypatch.setattr(workers, "hash_large_file", lambda *args, **kwargs: _sigbus())
    real_submit = workers.WorkerPool.hash_large

    def late_submit(pool: workers.WorkerPool, *args: Any) -> Any:
        time.sleep(0.2)  # the first worker dies meanwhile
        return real_submit(pool, *args)

    monkeypatch.setattr(workers.WorkerPool, "hash_large", late_submit)
    assert fingerprint(root, workers=2).digest == expected


def test_hashes_that_arrived_before_a_worker_died_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other workers finished their files, then one died before the engine looked: their
    hashes are recorded (a hashless manifest entry would change the digest), the dead
    worker's file is read again."""
    root = _tree(tmp_path / "d", dirs=2, files=4)
    expected = fingerprint(root, workers=1).digest
    _large_files_in_workers(monkeypatch)
    real_hash = hashing.hash_large_file

    def die_on_one(path: str, *args: Any, **kwargs: Any) -> Any:
        if path.endswith(os.path.join("d01", "f3.bin")):
            time.sleep(0.3)
            _sigbus()
        return real_hash(path, *args, **kwargs)

    monkeypatch.setattr(workers, "hash_large_file", die_on_one)
    real_wait = concurrent.futures.wait

    def late_wait(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)  # the engine's thread descheduled for a moment
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(engine, "wait", late_wait)
    assert fingerprint(root, workers=2).digest == expected


def test_an_unchanged_tree_is_not_read_again(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    cache = tmp_path / "cache"
    first = fingerprint(root, cache_dir=cache, now_ns=_later())
    again = fingerprint(root, cache_dir=cache, now_ns=_later())
    assert again.digest == first.digest and again.hashed_files == 0
    assert again.manifest == first.manifest


def test_one_modified_file_is_the_only_one_read(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d")
    cache = tmp_path / "cache"
    fingerprint(root, cache_dir=cache, now_ns=_later())
    (root / "d04" / "f2.bin").write_bytes(b"changed")
    (root / "d05" / "new.bin").write_bytes(b"new")
    result = fingerprint(root, cache_dir=cache, now_ns=_later())
    assert result.hashed_files == 2
    assert result.digest == reference_digest(root)


def test_a_single_file_dataset_is_cached_too(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    cache = tmp_path / "cache"
    first = fingerprint(data, cache_dir=cache, now_ns=_later())
    again = fingerprint(data, cache_dir=cache, now_ns=_later())
    assert first.digest == again.digest == reference_digest(data)
    assert (first.hashed_files, again.hashed_files) == (1, 0)


def test_an_unwritable_cache_is_reported_not_fatal(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d", dirs=1, files=2)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = fingerprint(root, cache_dir=blocker)
    assert result.digest == reference_digest(root)
    assert (
        result.cache_problem is not None and "stat cache cannot be written" in result.cache_problem
    )


def test_a_damaged_cache_shard_is_ignored(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d", dirs=2, files=3)
    cache = tmp_path / "cache"
    fingerprint(root, cache_dir=cache, now_ns=_later())
    (shard,) = (cache / "fingerprints").glob("*/shard-*")
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0xFF
    shard.write_bytes(bytes(data))
    result = fingerprint(root, cache_dir=cache, now_ns=_later())
    assert result.hashed_files == result.files - 1  # all read again (but the link)
    assert result.digest == reference_digest(root)


# --- bad input -------------------------------------------------------------------------
def test_a_missing_path_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"path not found: .*nope"):
        fingerprint(tmp_path / "nope")


def test_a_symlink_loop_as_root_ends_with_an_error(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(DataUnreadableError, match="cannot be read"):
        fingerprint(tmp_path / "a")


def test_a_fifo_as_root_is_refused_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(DataUnreadableError, match="is a fifo"):
        fingerprint(tmp_path / "pipe")


def test_a_fifo_inside_is_skipped_and_never_read(tmp_path: Path) -> None:
    root = _tree(tmp_path / "d", dirs=1, files=1)
    os.mkfifo(root / "pipe")
    result = fingerprint(root)  # would hang on open() without O_NONBLOCK / the kind check
    assert result.skipped == ("fifo: pipe",)


def _deny(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Root ignores chmod 000, so the open fails at the OS boundary instead (EACCES)."""
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int) -> int:
        if os.path.basename(path) == name:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", fake_open)


def test_an_unreadable_file_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "d", dirs=1, files=3)
    _deny(monkeypatch, "f1.bin")
    with pytest.raises(
        DataUnreadableError, match=r"file cannot be read: .*f1\.bin.*--skip-unreadable"
    ):
        fingerprint(root)


def test_skip_unreadable_records_the_file_without_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "d", dirs=1, files=3)
    _deny(monkeypatch, "f1.bin")
    result = fingerprint(root, skip_unreadable=True, cache_dir=tmp_path / "c", now_ns=_later())
    assert result.unreadable == ("d00/deep/f1.bin (Permission denied)",)
    assert b'["d00/deep/f1.bin",6,null,false,null]' in result.manifest
    monkeypatch.undo()  # readable again: it is hashed, never taken from the cache as unreadable
    assert fingerprint(root, cache_dir=tmp_path / "c").digest == reference_digest(root)


def test_an_unreadable_directory_is_an_error_or_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path / "d", dirs=2, files=1)
    real_scandir = os.scandir

    def fake_scandir(path: str) -> object:
        if path.endswith("d01"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", fake_scandir)
    with pytest.raises(DataUnreadableError, match=r"directory cannot be read: .*d01"):
        fingerprint(root)
    result = fingerprint(root, skip_unreadable=True)
    assert result.unreadable == ("d01/ (directory: Permission denied)",)


def test_a_directory_loop_from_a_bind_mount_ends(tmp_path: Path) -> None:
    """A bind mount can make a directory its own descendant; listing it twice is refused."""
    root = tmp_path / "d"
    (root / "again").mkdir(parents=True)
    st = os.stat(root / "again")
    settings = dir_records.WalkSettings(0, 0, 1 << 30)
    result = walk.scan_directory("", str(root), None, settings, frozenset({(st.st_dev, st.st_ino)}))
    assert result.subdirs == []
    assert result.record is not None and result.record.skipped == ["directory loop: again"]


# --- files that change while they are hashed (scenario 68) -------------------------------
def test_a_file_changed_while_hashed_is_hashed_again_and_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "d"
    root.mkdir()
    target = root / "growing.log"
    target.write_bytes(b"first")
    real_read_all = hashing._read_all
    calls: list[int] = []

    def read_then_append(fd: int, size: int) -> bytes:
        data = real_read_all(fd, size)
        if not calls:
            with open(target, "ab") as f:  # another process appends mid-hash
                f.write(b" and more")
        calls.append(size)
        return data

    monkeypatch.setattr(hashing, "_read_all", read_then_append)
    result = fingerprint(root, cache_dir=tmp_path / "c")
    assert calls == [5, 14]  # read, saw the change through fstat, read again
    monkeypatch.undo()
    assert result.digest == reference_digest(root)
    # Its mtime is in the racy window of that scan, so its hash was not kept for reuse.
    assert fingerprint(root, cache_dir=tmp_path / "c", now_ns=_later()).hashed_files == 1


def test_a_file_that_keeps_changing_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "d"
    root.mkdir()
    target = root / "busy.log"
    target.write_bytes(b"x")
    real_read_all = hashing._read_all

    def read_then_append(fd: int, size: int) -> bytes:
        data = real_read_all(fd, size)
        with open(target, "ab") as f:  # a writer that never pauses
            f.write(b"y")
        return data

    monkeypatch.setattr(hashing, "_read_all", read_then_append)
    with pytest.raises(DataChangedError, match=r"kept changing while it was hashed: .*busy\.log"):
        fingerprint(root)
