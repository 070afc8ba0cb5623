"""What went into a run: code (git state), command, config files, data and output trees."""

from __future__ import annotations

import codecs
import os
import sys

from repro_run.core.record import Record, field
from repro_run.models.params import Param

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


# --- code --------------------------------------------------------------------------------
class Remote(Record):
    name: str
    url: str  # credentials stripped


class DirtyPath(Record):
    path: str  # POSIX, relative to the repository root
    state: str  # "modified" | "staged" | "deleted" | "untracked" | "submodule" | "renamed" | ...


class TreeStatus(Record):
    """What the dirty check found: the result of one `git status` call."""

    root: str  # absolute path of the work tree
    commit: str
    branch: str | None  # None on a detached HEAD
    dirty: tuple[DirtyPath, ...]

    @property
    def is_dirty(self) -> bool:
        return bool(self.dirty)


class CodeState(Record):
    commit: str
    branch: str | None
    describe: str | None
    remotes: tuple[Remote, ...]
    dirty: bool
    dirty_paths: tuple[DirtyPath, ...] = ()
    patch_object: str | None = None  # BLAKE3 of the binary patch (also runs/<id>/patch.diff)
    is_shallow: bool = False
    missing: dict[str, str] = field(default_factory=dict)


# --- command and config ----------------------------------------------------------------
class CommandInfo(Record):
    argv: tuple[str, ...]  # as the user typed it after repro's options; secrets masked
    exec_argv: tuple[str, ...]  # what was executed (interpreter prepended for *.py); masked
    cwd: str  # POSIX, relative to the repository root ("." at the root)
    executable: str  # resolved absolute path of exec_argv[0]
    interpreter: str | None  # the Python that runs the command, when there is one
    # `.py` commands: VIRTUAL_ENV, CONDA_PREFIX, PATH, repro (its own) or rerun (the recorded)
    interpreter_source: str | None = None
    # The hyperparameters among argv (models/params.py), secret values masked with a keyed
    # digest; None: recorded by a repro that did not read them (argv then compares whole).
    params: tuple[Param, ...] | None = None


class ConfigFile(Record):
    path: str  # as given on the command line
    format: str  # "yaml" | "json" | "toml"
    object: str  # BLAKE3 of the file's bytes; the bytes are in the object store
    params: dict[str, Any]  # flattened to dotted keys


# --- data and outputs --------------------------------------------------------------------
class ManifestEntry(Record):
    path: str  # POSIX, relative to the tree root; its bytes as UTF-8 (canonical_name)
    size: int
    hash: str | None  # BLAKE3 hex of the content; None for a symlink
    executable: bool = False
    link: str | None = None  # symlink target text (canonical_name), never followed


_FS_IS_UTF8 = codecs.lookup(sys.getfilesystemencoding()).name == "utf-8"


def canonical_name(name: str) -> str:
    """A name as the file system encoding decoded it (`os.scandir`, `os.readlink`), as the
    manifest holds it. The identity where names decode as UTF-8, as nearly everywhere; in a C
    or Latin-1 locale `café` would otherwise be held as other characters."""
    return name if _FS_IS_UTF8 else os.fsencode(name).decode("utf-8", "surrogateescape")


def local_name(name: str) -> str:
    """A manifest path or link target as this machine's file system names it."""
    return name if _FS_IS_UTF8 else os.fsdecode(name.encode("utf-8", "surrogateescape"))


class TreeRef(Record):
    """A fingerprinted directory or file: a dataset, or an archived output."""

    path: str  # as given (relative to the repository root when inside it)
    digest: str  # BLAKE3 of the canonical manifest
    files: int
    bytes: int
    manifest_object: str  # the manifest, stored as an object
    skipped: tuple[str, ...] = ()  # entries not recorded, with the reason ("fifo: a/b")
    origin: str = ""  # datasets: how repro found it ("--data", "argument --data-dir", ...)


class FingerprintReport(Record):
    """`repro fingerprint PATH`: a dataset's digest and counts (and, for --json, its manifest)."""

    path: str  # as given
    root: str  # resolved: a symlinked root is followed
    digest: str
    files: int
    bytes: int
    seconds: float
    hashed_files: int  # read this time
    hashed_bytes: int
    cached_files: int  # vouched for by the stat cache: unchanged since they were hashed
    skipped: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    entries: tuple[ManifestEntry, ...] = ()
