"""The per-machine stat cache: each dataset root's last scan, so unchanged files are not read.

One directory per (host, dataset root) under `<user cache>/fingerprints/`, holding the scan's
per-directory records (`walk.DirRecord`) in shards, so that a change in one directory rewrites
one shard, not the whole cache. Each shard carries a header naming the host, the root (path,
device, inode) and the shard file's own path, and a BLAKE3 checksum of its payload: a shard
copied to another path or machine, written for a root that was replaced, or damaged, is
ignored, and its directories are hashed again. Entries are keyed by inode, size, mtime,
ctime, mode and device (`hashing.KEY`), and hashes of racy entries are never stored (`walk`).
A cache that cannot be read is ignored; one that cannot be written is reported, never fatal.
"""

from __future__ import annotations

import json
import marshal
import os
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import blake3

from repro_run.core import host
from repro_run.core.constants import STAT_CACHE_DIRNAME, STAT_CACHE_MAX_ROOTS
from repro_run.core.record import Record
from repro_run.fingerprint.dir_records import DirRecord

_FORMAT = "repro-stat-cache"
_VERSION = 1
_FILES_PER_SHARD = 16384
_MAX_SHARDS = 256
_SHARD_PREFIX = "shard-"


class RootIdentity(Record):
    path: str  # the resolved root
    dev: int
    ino: int


class LoadedCache(Record):
    records: dict[str, DirRecord]
    shards: int  # how many shards the loaded scan was split into (0: nothing loaded)
    files: int  # the loaded scan's totals: the progress estimate before this scan ends
    size: int


EMPTY = LoadedCache({}, 0, 0, 0)


class StatCache:
    """The cache of one dataset root on this machine."""

    def __init__(self, cache_dir: Path, root: RootIdentity) -> None:
        self.root = root
        self._host = host.hostname()
        name = blake3.blake3(f"{self._host}\0{root.path}".encode("utf-8", "surrogateescape"))
        self.directory = cache_dir / STAT_CACHE_DIRNAME / name.hexdigest()[:32]

    def load(self) -> LoadedCache:
        """The last scan's records; shards that fail any check are left out."""
        try:
            shard_files = sorted(
                p for p in self.directory.iterdir() if p.name.startswith(_SHARD_PREFIX)
            )
        except OSError:
            return EMPTY
        records: dict[str, DirRecord] = {}
        shards = files = size = 0
        for path in shard_files:
            loaded = self._read_shard(path)
            if loaded is None:
                continue
            header, shard_records = loaded
            if shards and header["shards"] != shards:
                continue  # a shard of another split, left by a concurrent writer
            shards, files, size = header["shards"], header["files"], header["bytes"]
            records.update(shard_records)
        return LoadedCache(records, shards, files, size)

    def save(self, records: Mapping[str, DirRecord], previous: LoadedCache) -> str | None:
        """Write the shards that changed; returns why the cache could not be written, or None."""
        files = sum(r.files for r in records.values())
        size = sum(r.size for r in records.values())
        shards = min(_MAX_SHARDS, 1 << max(0, (files // _FILES_PER_SHARD).bit_length()))
        split: list[dict[str, DirRecord]] = [{} for _ in range(shards)]
        for rel, record in records.items():
            split[_shard_of(rel, shards)][rel] = record
        stale = set(range(shards)) if shards != previous.shards else set()
        for rel, record in records.items():
            if previous.records.get(rel) is not record:
                stale.add(_shard_of(rel, shards))
        for rel in previous.records.keys() - records.keys():
            stale.add(_shard_of(rel, shards))
        try:
            if not stale:
                os.utime(self.directory)  # recently used: kept when old caches are pruned
                return None
            self.directory.mkdir(parents=True, exist_ok=True)
            for index in sorted(stale):
                self._write_shard(index, shards, split[index], files, size)
            self._remove_other_splits(shards)
            _prune(self.directory.parent, keep=self.directory)
        except OSError as exc:
            return f"the stat cache cannot be written ({self.directory}: {exc.strerror})"
        return None

    # --- shard files ---------------------------------------------------------------------
    def _shard_path(self, index: int, shards: int) -> Path:
        return self.directory / f"{_SHARD_PREFIX}{index:03d}-of-{shards:03d}"

    def _identity(self, path: Path) -> dict[str, Any]:
        """What a shard must name to be trusted: this format, host, root and file."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "host": self._host,
            "root": self.root.path,
            "dev": self.root.dev,
            "ino": self.root.ino,
            "file": str(path),
        }

    def _write_shard(
        self, index: int, shards: int, records: dict[str, DirRecord], files: int, size: int
    ) -> None:
        path = self._shard_path(index, shards)
        payload = marshal.dumps({rel: tuple(record) for rel, record in records.items()})
        fields = {"shard": index, "shards": shards, "files": files, "bytes": size}
        header = json.dumps({**self._identity(path), **fields}, ensure_ascii=True)
        checksum = blake3.blake3(payload).hexdigest()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(f"{header}\n{checksum}\n".encode())
                f.write(payload)
            os.replace(tmp, path)  # readers see the old shard or the new one, never a mix
        except OSError:
            tmp.unlink(missing_ok=True)
            raise

    def _read_shard(self, path: Path) -> tuple[dict[str, Any], dict[str, DirRecord]] | None:
        try:
            data = path.read_bytes()
            header_line, checksum, payload = data.split(b"\n", 2)
            header = json.loads(header_line)
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict) or any(
            header.get(k) != v for k, v in self._identity(path).items()
        ):
            return None  # another host, root, version or location: never trusted
        if not all(isinstance(header.get(k), int) for k in ("shard", "shards", "files", "bytes")):
            return None
        if blake3.blake3(payload).hexdigest().encode() != checksum:
            return None
        try:
            raw = marshal.loads(payload)
            records = {rel: DirRecord(*fields) for rel, fields in raw.items()}
        except (ValueError, EOFError, TypeError, AttributeError):
            return None
        return header, records

    def _remove_other_splits(self, shards: int) -> None:
        suffix = f"-of-{shards:03d}"
        for path in self.directory.iterdir():
            if path.name.startswith(_SHARD_PREFIX) and not path.name.endswith(suffix):
                path.unlink(missing_ok=True)


def _shard_of(rel: str, shards: int) -> int:
    return zlib.crc32(rel.encode("utf-8", "surrogateescape")) % shards


def _prune(parent: Path, keep: Path) -> None:
    """Keep the caches of the most recently fingerprinted roots only."""
    roots = [p for p in parent.iterdir() if p.is_dir() and p != keep]
    if len(roots) < STAT_CACHE_MAX_ROOTS:
        return
    roots.sort(key=lambda p: p.stat().st_mtime_ns)
    for old in roots[: len(roots) - STAT_CACHE_MAX_ROOTS + 1]:
        for child in old.iterdir():
            child.unlink(missing_ok=True)
        old.rmdir()
