"""Write a bundle byte-for-byte reproducibly; read one back without trusting it.

Writing: members sorted by name, mtime 0, uid/gid 0, mode 0644, gzip header without a name or
time, so the same run always gives the same bytes. Reading never extracts anything to disk: it
streams the archive once, refuses a bad name, a non-regular member (symlink, hard link, device,
FIFO, directory), a duplicate, or a size over the limits (declared total, running total,
compression ratio, free disk space) as soon as it sees it, and returns the members in memory
with every size and hash checked against the manifest, and every object against its name.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zlib
from pathlib import Path
from typing import Any

import blake3

from repro_run.bundle.names import MANIFEST, check_member_name
from repro_run.errors import BundleError
from repro_run.record import Record

BUNDLE_VERSION = 1
_MANIFEST_MAX_BYTES = 16 * 1024 * 1024
_RATIO_FLOOR_BYTES = 1024 * 1024  # tiny bundles compress well for honest reasons
_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.DIRTYPE: "a directory",
}


class BundleContents(Record):
    meta: dict[str, Any]  # the manifest's fields besides the member list
    members: dict[str, bytes]  # name -> content, every one verified


def _digest(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def write_bundle(path: Path, members: dict[str, bytes], meta: dict[str, Any]) -> int:
    """Write `members` (plus the manifest) to `path` atomically; returns the bundle's size."""
    listing = {name: {"size": len(data), "blake3": _digest(data)} for name, data in members.items()}
    manifest = {
        "bundle_version": BUNDLE_VERSION,
        **meta,
        "total_size": sum(len(data) for data in members.values()),
        "members": dict(sorted(listing.items())),
    }
    ordered = [(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode() + b"\n")]
    ordered += sorted(members.items())
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(filename="", fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for name, data in ordered:
            info = tarfile.TarInfo(check_member_name(name))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(data)


def read_bundle(path: Path, *, max_bytes: int, max_ratio: float, free_bytes: int) -> BundleContents:
    """The verified members of the bundle at `path`; BundleError on anything unsafe."""
    try:
        compressed = max(path.stat().st_size, 1)
        with path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            manifest, members = _read_members(tar, compressed, max_bytes, max_ratio, free_bytes)
    except FileNotFoundError:
        raise BundleError(f"no bundle at {path}") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BundleError(f"{path} is not a readable repro bundle: {exc}") from None
    listing = manifest.get("members")
    if not isinstance(listing, dict) or set(listing) != set(members):
        raise BundleError("the bundle's manifest does not list exactly the members it holds")
    for name, data in members.items():
        entry = listing[name]
        if not isinstance(entry, dict) or entry.get("size") != len(data):
            raise BundleError(f"bundle member {name}: its size differs from the manifest")
        digest = _digest(data)
        expected = name.removeprefix("objects/") if name.startswith("objects/") else None
        if entry.get("blake3") != digest or (expected is not None and expected != digest):
            raise BundleError(f"bundle member {name}: hash mismatch (the bundle is damaged)")
    meta = {k: v for k, v in manifest.items() if k != "members"}
    return BundleContents(meta, members)


def _read_members(
    tar: tarfile.TarFile, compressed: int, max_bytes: int, max_ratio: float, free_bytes: int
) -> tuple[dict[str, Any], dict[str, bytes]]:
    manifest: dict[str, Any] | None = None
    members: dict[str, bytes] = {}
    total = 0
    for info in tar:
        name = check_member_name(info.name)
        if not info.isreg():
            kind = _KINDS.get(info.type, f"a special member (type {info.type!r})")
            raise BundleError(f"bundle member {name} is {kind}: refused")
        if name in members or (name == MANIFEST and manifest is not None):
            raise BundleError(f"bundle member {name} appears twice: refused")
        if manifest is None and name != MANIFEST:
            raise BundleError(f"the bundle does not start with its manifest ({MANIFEST})")
        total += info.size
        if total > max_bytes:
            raise BundleError(f"the bundle holds more than the limit of {max_bytes} bytes")
        if total > _RATIO_FLOOR_BYTES and total / compressed > max_ratio:
            raise BundleError(
                f"the bundle expands more than {max_ratio:g} times its size: refused "
                "(a decompression bomb?)"
            )
        if name == MANIFEST:
            manifest = _manifest(_read(tar, info, _MANIFEST_MAX_BYTES), max_bytes, free_bytes)
            continue
        members[name] = _read(tar, info, info.size)
    if manifest is None:
        raise BundleError(f"the bundle has no manifest ({MANIFEST})")
    return manifest, members


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: int) -> bytes:
    if info.size > limit:
        raise BundleError(f"bundle member {info.name} is too large ({info.size} bytes)")
    handle = tar.extractfile(info)
    data = handle.read(info.size) if handle is not None else b""
    if len(data) != info.size:
        raise BundleError(f"bundle member {info.name} is truncated")
    return data


def _manifest(data: bytes, max_bytes: int, free_bytes: int) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BundleError(f"the bundle's {MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("bundle_version") != BUNDLE_VERSION:
        raise BundleError(f"unsupported bundle version (this repro reads {BUNDLE_VERSION})")
    declared = manifest.get("total_size")
    if not isinstance(declared, int) or declared < 0:
        raise BundleError(f"the bundle's {MANIFEST} declares no total size")
    if declared > max_bytes:
        raise BundleError(f"the bundle declares {declared} bytes, over the limit of {max_bytes}")
    if declared > free_bytes:
        raise BundleError(f"the bundle needs {declared} bytes but only {free_bytes} are free")
    return manifest
