"""Reliability scenarios F63-F69: the stat cache never serves a stale hash.

git's t0010-racy-git is the model: a file rewritten within one timestamp tick of being
hashed keeps its size and mtime, so the cache must refuse to trust entries that young. The
fake stat providers here stand in for filesystems the test machine does not have (coarse
timestamps, same-tick ctime, another device); `now_ns` stands in for a later clock.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from pathlib import Path

from repro_run.core.constants import RACY_MARGIN_NS
from repro_run.fingerprint import dir_records, hashing
from repro_run.fingerprint.engine import Fingerprint, fingerprint
from repro_run.fingerprint.hashing import StatFilter

SECOND = 1_000_000_000
LATER = 10**12  # a scan long after every write: nothing is racy any more


@dataclasses.dataclass(frozen=True)
class FakeStat:
    st_mode: int
    st_ino: int
    st_dev: int
    st_size: int
    st_mtime_ns: int
    st_ctime_ns: int


def frozen_times(mtime_ns: int, *, dev_offset: int = 0) -> StatFilter:
    """A filesystem whose clock ticks too coarsely to tell writes apart: every mtime and ctime
    reads `mtime_ns`, as when a rewrite lands in the same tick as the previous write."""

    def adjust(st: os.stat_result) -> FakeStat:
        return FakeStat(
            st.st_mode, st.st_ino, st.st_dev + dev_offset, st.st_size, mtime_ns, mtime_ns
        )

    return adjust


def truncated_times(tick_ns: int) -> StatFilter:
    """HFS+ (1 s) or FAT (2 s): timestamps rounded down to the tick."""

    def adjust(st: os.stat_result) -> FakeStat:
        return FakeStat(
            st.st_mode,
            st.st_ino,
            st.st_dev,
            st.st_size,
            st.st_mtime_ns // tick_ns * tick_ns,
            st.st_ctime_ns // tick_ns * tick_ns,
        )

    return adjust


def _one_file(tmp_path: Path, content: bytes = b"AAAA") -> tuple[Path, Path]:
    root = tmp_path / "data"
    root.mkdir(parents=True)
    (root / "f").write_bytes(content)
    return root, tmp_path / "cache"


def _scan(root: Path, cache: Path, **kwargs: object) -> Fingerprint:
    return fingerprint(root, cache_dir=cache, workers=1, **kwargs)  # type: ignore[arg-type]


def _truth(root: Path) -> str:
    return fingerprint(root).digest  # no cache


def test_63_rewrite_in_the_same_tick_is_seen(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    tick = time.time_ns()
    same_tick = frozen_times(tick)
    _scan(root, cache, stat_filter=same_tick, now_ns=tick)  # hashed in the tick it was written
    (root / "f").write_bytes(b"BBBB")  # same size, same (frozen) mtime and ctime, same inode
    again = _scan(root, cache, stat_filter=same_tick, now_ns=tick)
    assert again.digest == _truth(root) and again.hashed_files == 1


def test_63_the_fake_has_teeth_an_old_entry_is_trusted(tmp_path: Path) -> None:
    """Without the racy rule the scan above would have been fooled: outside the window the
    same stat key is trusted and the file is not read (so the rule is what catches 63)."""
    root, cache = _one_file(tmp_path)
    tick = time.time_ns()
    _scan(root, cache, stat_filter=frozen_times(tick), now_ns=tick + LATER)
    (root / "f").write_bytes(b"BBBB")
    stale = _scan(root, cache, stat_filter=frozen_times(tick), now_ns=tick + LATER)
    assert stale.hashed_files == 0 and stale.digest != _truth(root)


def test_64_a_later_scan_of_other_files_does_not_bless_the_racy_entry(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    tick = time.time_ns()
    same_tick = frozen_times(tick)
    _scan(root, cache, stat_filter=same_tick, now_ns=tick)  # racy: its hash is not stored
    (root / "f").write_bytes(b"BBBB")
    (root / "other").write_bytes(b"newer file")
    later = _scan(root, cache, stat_filter=same_tick, now_ns=tick + LATER)
    assert later.digest == _truth(root)
    assert later.hashed_files == 2  # f was never trusted, so it is read again


def test_65_replaced_by_rename_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    old = os.stat(root / "f")
    _scan(root, cache, now_ns=time.time_ns() + LATER)
    replacement = tmp_path / "staged"
    replacement.write_bytes(b"BBBB")
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(replacement, root / "f")  # a new inode under the old name
    assert os.stat(root / "f").st_mtime_ns == old.st_mtime_ns
    result = _scan(root, cache, now_ns=time.time_ns() + LATER)
    assert result.digest == _truth(root) and result.hashed_files == 1


def test_65_deleted_and_recreated_with_cp_p(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    source = tmp_path / "source"
    source.write_bytes(b"BBBB")
    os.utime(source, ns=(0, os.stat(root / "f").st_mtime_ns))
    _scan(root, cache, now_ns=time.time_ns() + LATER)
    (root / "f").unlink()
    time.sleep(0.02)  # past the kernel's timestamp tick, so the new ctime differs
    subprocess.run(["cp", "-p", str(source), str(root / "f")], check=True)
    result = _scan(root, cache, now_ns=time.time_ns() + LATER)
    assert result.digest == _truth(root) and result.hashed_files == 1  # inode or ctime differ


def test_66_coarse_timestamps_widen_the_racy_window(tmp_path: Path) -> None:
    for tick in (SECOND, 2 * SECOND):
        root, cache = _one_file(tmp_path / str(tick))
        coarse = truncated_times(tick)
        written = coarse(os.stat(root / "f")).st_mtime_ns
        # Past the fixed margin, but inside the tick: a rewrite now keeps the coarse mtime.
        now = written + RACY_MARGIN_NS + tick // 2
        same_tick = frozen_times(written)
        _scan(root, cache, stat_filter=same_tick, now_ns=now)
        (root / "f").write_bytes(b"BBBB")
        result = _scan(root, cache, stat_filter=same_tick, now_ns=now)
        assert result.hashed_files == 1 and result.digest == _truth(root), tick


def test_66_fine_timestamps_keep_the_narrow_window(tmp_path: Path) -> None:
    """The control for the test above: the same clock, nanosecond stamps, entry trusted."""
    root, cache = _one_file(tmp_path)
    written = SECOND * 1_700_000_000 + 123_456_789  # not on a whole second
    now = written + RACY_MARGIN_NS + SECOND // 2
    _scan(root, cache, stat_filter=frozen_times(written), now_ns=now)
    assert _scan(root, cache, stat_filter=frozen_times(written), now_ns=now).hashed_files == 0


def test_66_granularity_is_read_from_the_timestamps() -> None:
    def keys(*mtimes: int) -> bytes:
        return b"".join(hashing.KEY.pack(1, 1, m, m, 0o100644, 1) for m in mtimes)

    assert dir_records._granularity(keys(4 * SECOND, 6 * SECOND)) == 2 * SECOND
    assert dir_records._granularity(keys(3 * SECOND, 6 * SECOND)) == SECOND
    assert dir_records._granularity(keys(3 * SECOND + 1)) == 0


def test_67_another_device_number_invalidates_every_entry(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    (root / "g").write_bytes(b"GGGG")
    tick = time.time_ns()
    _scan(root, cache, stat_filter=frozen_times(tick), now_ns=tick + LATER)
    moved = _scan(root, cache, stat_filter=frozen_times(tick, dev_offset=1), now_ns=tick + LATER)
    assert moved.hashed_files == 2


def test_67_a_cache_copied_to_another_path_is_ignored(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    later = time.time_ns() + LATER
    _scan(root, cache, now_ns=later)
    assert _scan(root, cache, now_ns=later).hashed_files == 0
    copy = tmp_path / "elsewhere"
    shutil.copytree(cache, copy)
    assert _scan(root, copy, now_ns=later).hashed_files == 1


def test_67_a_replaced_dataset_root_is_not_served_from_the_old_cache(tmp_path: Path) -> None:
    root, cache = _one_file(tmp_path)
    later = time.time_ns() + LATER
    _scan(root, cache, now_ns=later)
    shutil.rmtree(root)
    _one_file(tmp_path, b"CCCC")  # the same path, a new directory (new inode)
    result = _scan(root, cache, now_ns=later)
    assert result.hashed_files == 1 and result.digest == _truth(root)


def test_68_a_racy_entry_is_stored_without_its_hash(tmp_path: Path) -> None:
    """Also what keeps a file that changed while it was hashed out of the cache (its mtime is
    necessarily recent); tests/test_fingerprint_engine.py drives the change itself."""
    root, cache = _one_file(tmp_path)
    now = time.time_ns()
    _scan(root, cache, now_ns=now)
    assert _scan(root, cache, now_ns=now + LATER).hashed_files == 1
    assert _scan(root, cache, now_ns=now + LATER).hashed_files == 0
