"""Read a bundle without trusting it, front to back, into a staging directory.

The archive is streamed once. Its first member, the manifest, is checked before anything else
is read: every listed name is on the allow-list, the listed sizes add up to the declared total,
which must fit the size limit, the free disk space and the compression ratio (a bomb is refused
before it is inflated). Then each member is refused as soon as its header is seen if it is not
a regular file (symlink, hard link, device, FIFO, directory), appears twice, is not listed, or
has another size than listed; otherwise it is copied in bounded chunks to `into/<name>`
(`O_EXCL|O_NOFOLLOW`, in directories this module made), counted against the limits as it
inflates, and hashed: a member whose hash differs from the manifest's (or, for an object, from
its name) is refused. Nothing is written outside `into`; the caller publishes it only once every
member is in.

Each 512-byte tar header is checked as tarfile parses it (`_BoundedTarInfo`), before tarfile
acts on it: tarfile reads a GNU long name's or a PAX header's payload into memory whole, so one
larger than repro could have written is refused from its declared size, unread.
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3

from repro_run.bundle.archive import BUNDLE_VERSION, COPY_BUFFER
from repro_run.bundle.names import MANIFEST, check_member_name
from repro_run.core.errors import BundleError, StoreError
from repro_run.core.record import Record

_MANIFEST_MAX_BYTES = 16 * 1024 * 1024
_RATIO_FLOOR_BYTES = 1024 * 1024  # tiny bundles compress well for honest reasons
_DIGEST_CHARS = frozenset("0123456789abcdef")
_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.DIRTYPE: "a directory",
}
# RecursionError: tarfile reads a chain of long-name or PAX headers recursively.
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, RecursionError)
# repro writes neither long names (its member names are short) nor PAX headers; another tar
# tool's PAX records for a short name stay far below this.
_EXTENSION_MAX_BYTES = 16 * 1024
_EXTENSIONS = {
    tarfile.GNUTYPE_LONGNAME: "GNU long-name",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link",
    tarfile.XHDTYPE: "PAX extended",
    tarfile.XGLTYPE: "PAX global",
    tarfile.SOLARIS_XHDTYPE: "Solaris extended",
}


class _BoundedTarInfo(tarfile.TarInfo):
    """A tar header, refused as soon as its 512 bytes are parsed if what it announces cannot be
    read in bounded memory."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _BoundedTarInfo:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _EXTENSIONS and info.size > _EXTENSION_MAX_BYTES:
            raise BundleError(
                f"the bundle holds a {_EXTENSIONS[info.type]} header of {info.size} bytes "
                f"(at most {_EXTENSION_MAX_BYTES}): refused"
            )
        if info.type == tarfile.GNUTYPE_SPARSE:  # its map of holes is read whole, too
            raise BundleError("the bundle holds a sparse member: refused")
        return info


class Limits(Record):
    max_bytes: int  # uncompressed, all members
    max_ratio: float  # uncompressed / compressed
    free_bytes: int  # on the file system `into` lies on


class Listed(Record):
    size: int
    blake3: str


@contextlib.contextmanager
def open_bundle(path: Path, limits: Limits) -> Iterator[BundleReader]:
    """The bundle at `path`, its manifest read and checked; closed when the block ends."""
    with contextlib.ExitStack() as stack:
        try:
            raw = stack.enter_context(path.open("rb"))
            tar = stack.enter_context(
                tarfile.open(fileobj=raw, mode="r|gz", tarinfo=_BoundedTarInfo)
            )
        except FileNotFoundError:
            raise BundleError(f"no bundle at {path}") from None
        except _READ_ERRORS as exc:
            raise BundleError(f"{path} is not a readable repro bundle: {exc}") from None
        reader = BundleReader(path, limits, tar, max(os.fstat(raw.fileno()).st_size, 1))
        reader.read_manifest()
        yield reader


class BundleReader:
    """What `open_bundle` gives: the manifest's `meta` and `listing`; `extract(into)` yields
    each member's name once it is written and verified, and checks at the end that every
    listed member came."""

    def __init__(self, path: Path, limits: Limits, tar: tarfile.TarFile, compressed: int) -> None:
        self.path = path
        self.limits = limits
        self.meta: dict[str, Any] = {}
        self.listing: dict[str, Listed] = {}
        self._tar = tar
        self._compressed = compressed  # the bundle file's size
        self._total = 0

    def extract(self, into: Path) -> Iterator[str]:
        """Write each member to `into/<name>`; yield its name once its hash is verified."""
        seen: set[str] = set()
        while (info := self._next()) is not None:
            name = self._check_header(info, seen)
            seen.add(name)
            self._copy(info, into, name)
            yield name
        missing = sorted(set(self.listing) - seen)
        if missing:
            raise BundleError(f"the bundle lacks member {missing[0]}, which its manifest lists")

    # --- reading ---------------------------------------------------------------------------
    def _next(self) -> tarfile.TarInfo | None:
        try:
            return self._tar.next()
        except _READ_ERRORS as exc:
            raise BundleError(f"{self.path} is not a readable repro bundle: {exc}") from None

    def _chunks(self, info: tarfile.TarInfo) -> Iterator[bytes]:
        """The member's bytes in bounded chunks, counted against the size and ratio limits."""
        try:
            handle = self._tar.extractfile(info)
            left = info.size
            while left and handle is not None:
                chunk = handle.read(min(left, COPY_BUFFER))
                if not chunk:
                    break
                left -= len(chunk)
                self._count(len(chunk))
                yield chunk
        except _READ_ERRORS as exc:
            raise BundleError(f"{self.path} is not a readable repro bundle: {exc}") from None
        if left:
            raise BundleError(f"bundle member {info.name} is truncated")

    def _count(self, size: int) -> None:
        self._total += size
        if self._total > self.limits.max_bytes:
            raise BundleError(
                f"the bundle holds more than the limit of {self.limits.max_bytes} bytes"
            )
        self._check_ratio(self._total)

    def _check_ratio(self, total: int) -> None:
        if total > _RATIO_FLOOR_BYTES and total / self._compressed > self.limits.max_ratio:
            raise BundleError(
                f"the bundle expands more than {self.limits.max_ratio:g} times its size: refused "
                "(a decompression bomb?)"
            )

    def read_manifest(self) -> None:
        """Read the first member, the manifest, and check it against the limits."""
        info = self._next()
        if info is None or info.name != MANIFEST or not info.isreg():
            raise BundleError(f"the bundle does not start with its manifest ({MANIFEST})")
        if info.size > _MANIFEST_MAX_BYTES:
            raise BundleError(f"bundle member {MANIFEST} is too large ({info.size} bytes)")
        try:
            manifest = json.loads(b"".join(self._chunks(info)))
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's
            raise BundleError(f"the bundle's {MANIFEST} is not JSON") from None
        if not isinstance(manifest, dict) or manifest.get("bundle_version") != BUNDLE_VERSION:
            raise BundleError(f"unsupported bundle version (this repro reads {BUNDLE_VERSION})")
        declared = manifest.get("total_size")
        if not isinstance(declared, int) or declared < 0:
            raise BundleError(f"the bundle's {MANIFEST} declares no total size")
        limits = self.limits
        if declared > limits.max_bytes:
            raise BundleError(
                f"the bundle declares {declared} bytes, over the limit of {limits.max_bytes}"
            )
        if declared > limits.free_bytes:
            raise BundleError(
                f"the bundle needs {declared} bytes but only {limits.free_bytes} are free"
            )
        self._check_ratio(declared)
        self.listing = _listing(manifest.get("members"))
        if sum(entry.size for entry in self.listing.values()) != declared:
            raise BundleError(
                f"the bundle's {MANIFEST} lists sizes that do not add up to its total"
            )
        self.meta = {k: v for k, v in manifest.items() if k != "members"}

    # --- checking and writing one member ---------------------------------------------------
    def _check_header(self, info: tarfile.TarInfo, seen: set[str]) -> str:
        name = check_member_name(info.name)
        if not info.isreg():
            kind = _KINDS.get(info.type, f"a special member (type {info.type!r})")
            raise BundleError(f"bundle member {name} is {kind}: refused")
        if name in seen or name == MANIFEST:
            raise BundleError(f"bundle member {name} appears twice: refused")
        listed = self.listing.get(name)
        if listed is None:
            raise BundleError(f"bundle member {name} is not in the bundle's manifest: refused")
        if listed.size != info.size:
            raise BundleError(f"bundle member {name}: its size differs from the manifest")
        return name

    def _copy(self, info: tarfile.TarInfo, into: Path, name: str) -> None:
        target = into / name
        hasher = blake3.blake3()
        try:
            # `objects`, `run`, `code`, `run/parts/<part>`: names are checked (no `..`, no link)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot write into the staging directory {into}: {exc}") from exc
        with open(fd, "wb") as out:
            try:
                for chunk in self._chunks(info):
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
            except OSError as exc:  # reading errors come out of _chunks as BundleError
                raise StoreError(f"cannot write into the staging directory {into}: {exc}") from exc
        if hasher.hexdigest() != self.listing[name].blake3:
            raise BundleError(f"bundle member {name}: hash mismatch (the bundle is damaged)")


def _listing(members: object) -> dict[str, Listed]:
    if not isinstance(members, dict):
        raise BundleError(f"the bundle's {MANIFEST} lists no members")
    listing = {}
    for name, entry in members.items():
        check_member_name(name)
        size = entry.get("size") if isinstance(entry, dict) else None
        digest = entry.get("blake3") if isinstance(entry, dict) else None
        if not isinstance(size, int) or size < 0 or not _is_digest(digest):
            raise BundleError(f"the bundle's {MANIFEST} lists {name} without a size and hash")
        assert isinstance(digest, str)
        if name.startswith("objects/") and name.removeprefix("objects/") != digest:
            raise BundleError(f"bundle member {name}: hash mismatch (the bundle is damaged)")
        listing[name] = Listed(size, digest)
    return listing


def _is_digest(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _DIGEST_CHARS
