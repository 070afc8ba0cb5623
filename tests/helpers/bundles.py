"""Crafted bundles for tests: hand-made tar members, a real bundle edited with its manifest
recomputed, and extension-header bombs; the memory bound `repro import` must keep."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import blake3


def craft_bundle(path: Path, entries: list[tuple[tarfile.TarInfo, bytes]], manifest: bytes) -> Path:
    """A bundle with hand-made members after a manifest (which may lie)."""
    head = tarfile.TarInfo("bundle.json")
    head.size = len(manifest)
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(head, io.BytesIO(manifest))
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    """A regular tar member `name` holding `data`."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def rebuild_bundle(bundle: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    """The bundle with its members changed by `change`, the manifest's sizes and hashes
    recomputed: a crafted bundle that passes the member checks."""
    with tarfile.open(bundle) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]
    change(members)
    manifest = json.loads(members.pop("bundle.json"))
    manifest["members"] = {
        n: {"size": len(d), "blake3": blake3.blake3(d).hexdigest()} for n, d in members.items()
    }
    manifest["total_size"] = sum(len(d) for d in members.values())
    craft_bundle(
        bundle, [file_member(n, d) for n, d in members.items()], json.dumps(manifest).encode()
    )


PEAK_RSS_LIMIT = 200 * 1024 * 1024  # what `repro import` of any bundle may peak at (issue 14)
_BLOCK = 512


def extension_bomb(path: Path, kind: bytes, size: int) -> Path:
    """A bundle whose second header is a GNU long name or PAX header announcing `size` bytes
    (zeros, which compress a thousandfold), then its run record: tarfile reads such a payload
    into memory whole."""
    record = b"{}"
    listing = {"size": len(record), "blake3": blake3.blake3(record).hexdigest()}
    manifest = json.dumps(
        {
            "bundle_version": 1,
            "run": "2raaaaaaaa",
            "total_size": len(record),
            "members": {"run/run.json": listing},
        }
    ).encode()

    def member(name: str, data: bytes, kind: bytes = tarfile.REGTYPE) -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.type = len(data), kind
        return info.tobuf(tarfile.GNU_FORMAT) + data + bytes(-len(data) % _BLOCK)

    header = tarfile.TarInfo("././@LongLink")
    header.size, header.type = size, kind
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(member("bundle.json", manifest) + header.tobuf(tarfile.GNU_FORMAT))
        zeros = bytes(1 << 20)
        for start in range(0, size, len(zeros)):
            out.write(zeros[: min(len(zeros), size - start)])
        out.write(bytes(-size % _BLOCK) + member("run/run.json", record) + bytes(2 * _BLOCK))
    return path
