"""Walk an output tree to archive it: symlinks recorded, special files skipped.

Datasets go through `engine.py` (stat cache, forked workers); outputs are copied into the
object store file by file, so their walk stays this simple two-step scan-then-store.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from repro_run.core.constants import STORE_DIRNAME
from repro_run.core.errors import DataError
from repro_run.core.record import Record
from repro_run.models import ManifestEntry, canonical_name

_SPECIAL_KINDS = {
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


# inode, size, mtime_ns, ctime_ns: a file with the same key was not written in between
# (within a timestamp tick: see `app/run/written.py`).
ChangeKey = tuple[int, int, int, int]


class TreeFile(Record):
    rel: str  # POSIX path relative to the scanned root (the file name for a single file)
    abspath: str
    size: int
    executable: bool
    link: str | None  # the symlink's target text; the link is never followed
    key: ChangeKey  # of the entry itself (a link's own, not its target's)


class TreeScan(Record):
    root: Path  # resolved: a symlinked root is followed
    files: tuple[TreeFile, ...]
    skipped: tuple[str, ...]  # "fifo: a/b" — entries never opened, with why


def scan_tree(path: Path) -> TreeScan:
    """List every entry under `path`; DataError when it is missing or unreadable."""
    try:
        root = path.resolve(strict=True)
        root_stat = root.stat()
    except FileNotFoundError:
        raise DataError(f"path not found: {path} (check the path, or remove it)") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on older Pythons
        raise DataError(f"path cannot be read: {path}: {exc}") from None
    files: list[TreeFile] = []
    skipped: list[str] = []
    if stat.S_ISDIR(root_stat.st_mode):
        _walk(root, "", files, skipped)
    elif stat.S_ISREG(root_stat.st_mode):
        files.append(_file(str(root), root.name, root_stat, None))
    else:
        raise DataError(f"not a file or directory: {path} ({_kind(root_stat.st_mode)})")
    return TreeScan(root, tuple(files), tuple(skipped))


def _walk(directory: Path, prefix: str, files: list[TreeFile], skipped: list[str]) -> None:
    stack = [(str(directory), prefix)]
    while stack:
        current, rel_dir = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            raise DataError(f"directory cannot be read: {current}: {exc.strerror}") from None
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                files.append(_file(entry.path, rel, st, os.readlink(entry.path)))
            elif stat.S_ISDIR(st.st_mode):
                if entry.name != STORE_DIRNAME:  # never walk into repro's own store
                    stack.append((entry.path, rel + "/"))
            elif stat.S_ISREG(st.st_mode):
                files.append(_file(entry.path, rel, st, None))
            else:
                skipped.append(f"{_kind(st.st_mode)}: {rel}")


def _file(abspath: str, rel: str, st: os.stat_result, link: str | None) -> TreeFile:
    executable = link is None and bool(st.st_mode & 0o111)
    size = 0 if link is not None else st.st_size
    return TreeFile(rel, abspath, size, executable, link, change_key(st))


def change_key(st: os.stat_result) -> ChangeKey:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _kind(mode: int) -> str:
    return _SPECIAL_KINDS.get(stat.S_IFMT(mode), "special file")


def build_manifest(
    scan: TreeScan, content: Callable[[TreeFile], tuple[str, int]]
) -> tuple[ManifestEntry, ...]:
    """Manifest entries for a scan; `content` -> (hash, size) runs concurrently over files.

    The size comes from `content`, not the scan, so an archived file that changed since the
    scan is described by the bytes that were actually hashed.
    """
    from concurrent.futures import ThreadPoolExecutor  # ~5 ms: not before a launch (snapshot)

    regular = [f for f in scan.files if f.link is None]
    workers = min(32, 4 * (os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip((f.rel for f in regular), pool.map(content, regular), strict=True))
    entries = []
    for f in scan.files:
        if f.link is not None:
            entries.append(
                ManifestEntry(canonical_name(f.rel), 0, None, False, canonical_name(f.link))
            )
        else:
            digest, size = results[f.rel]
            entries.append(ManifestEntry(canonical_name(f.rel), size, digest, f.executable, None))
    return tuple(entries)
