"""A dataset imported with its run (`repro export --with-data`), rebuilt from the objects.

`.repro/data/<digest>/` holds the tree a data manifest describes: each file copied from its
object (hash checked on the way, read-only like the object), each symlink recreated with its
recorded target, executables marked. It is built in a staging directory (`staging.py`) and
published by one rename, so a reader sees the whole tree or none; a crash leaves only a
staging directory that `repro fsck` removes. The manifest comes from a bundle, so its paths are
not trusted: each must be relative, without `.`, `..` or empty parts, and never below a symlink
this tree holds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from blake3 import blake3

from repro_run.core.constants import DATA_DIRNAME, DATA_STAGING_PREFIX
from repro_run.core.errors import StoreError, UnsafeRecordError
from repro_run.models import ManifestEntry, local_name
from repro_run.store.durable import fsync_dir
from repro_run.store.objects import ObjectStore, is_digest
from repro_run.store.staging import staging_dir

_CHUNK = 1 << 20
_FILE_MODE, _EXECUTABLE_MODE = 0o444, 0o555


def materialised_path(store_root: Path, digest: str) -> Path:
    """`.repro/data/<digest>`; a digest that is not one (a record from a crafted bundle) would
    name a path elsewhere, and is refused."""
    if not is_digest(digest):
        raise UnsafeRecordError(f"{digest!r} is not a dataset digest: the bundled data is not used")
    return store_root / DATA_DIRNAME / digest


def has_files(objects: ObjectStore, entries: Sequence[ManifestEntry]) -> bool:
    """Whether the store holds every file of the manifest (it does after a --with-data import)."""
    return all(
        e.link is not None or (e.hash is not None and objects.has_object(e.hash)) for e in entries
    )


def materialise(
    store_root: Path, objects: ObjectStore, digest: str, entries: Sequence[ManifestEntry]
) -> Path:
    """`.repro/data/<digest>/`, built from the objects unless it is there already."""
    final = materialised_path(store_root, digest)
    if final.is_dir():
        return final
    for entry in entries:
        _check_path(entry.path, digest)
    with staging_dir(store_root, DATA_STAGING_PREFIX) as staging:
        tree = staging / "tree"
        try:
            _build(tree, objects, digest, entries)
            final.parent.mkdir(exist_ok=True)
            try:
                os.rename(tree, final)
            except OSError:
                if not final.is_dir():  # else another rerun published the same tree first
                    raise
            fsync_dir(final.parent)
        except OSError as exc:
            raise StoreError(f"cannot materialise data {digest} in {final}: {exc}") from exc
    return final


def _build(tree: Path, objects: ObjectStore, digest: str, entries: Sequence[ManifestEntry]) -> None:
    tree.mkdir()
    links: set[str] = set()
    for entry in entries:
        _make_parents(tree, entry.path, links, digest)
        target = tree / local_name(entry.path)
        if entry.link is not None:
            os.symlink(local_name(entry.link), target)
            links.add(entry.path)
        else:
            assert entry.hash is not None  # `has_files` said so
            _copy(objects, entry.hash, target, entry.executable)


def _check_path(path: str, digest: str) -> None:
    parts = path.split("/")
    if "\0" in path or any(part in ("", ".", "..") for part in parts):
        raise UnsafeRecordError(
            f"data manifest {digest} holds the path {path!r}, which would leave its directory: "
            "the bundled data is not used"
        )


def _make_parents(tree: Path, path: str, links: set[str], digest: str) -> None:
    parts = path.split("/")[:-1]
    for depth in range(len(parts)):
        prefix = "/".join(parts[: depth + 1])
        if prefix in links:
            raise UnsafeRecordError(
                f"data manifest {digest} holds {path!r} below its symlink {prefix!r}: the "
                "bundled data is not used"
            )
        (tree / local_name(prefix)).mkdir(exist_ok=True)


def _copy(objects: ObjectStore, digest: str, target: Path, executable: bool) -> None:
    """Copy object `digest` to the new file `target`, checking its hash on the way."""
    hasher = blake3()
    with open(objects.object_path(digest), "rb") as source:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with open(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                hasher.update(chunk)
                out.write(chunk)
            out.flush()
            os.fchmod(fd, _EXECUTABLE_MODE if executable else _FILE_MODE)
            os.fsync(fd)
    if hasher.hexdigest() != digest:
        raise StoreError(
            f"object {digest} is corrupted: its content does not match its name (run repro fsck)"
        )
