"""Where the store lives and its on-disk layout: directories, .gitignore, store.json."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from repro_run.core.constants import (
    ENV_HOME,
    GITIGNORE_FILENAME,
    OBJECTS_DIRNAME,
    RUNS_DIRNAME,
    STORE_DIRNAME,
    STORE_META_FILENAME,
    TMP_DIRNAME,
)
from repro_run.core.errors import SchemaVersionError, StoreError
from repro_run.store.durable import atomic_write_bytes

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

STORE_VERSION = 1
_GITIGNORE = b"*\n"  # the store never dirties the work tree it lives in


def repro_home(environ: Mapping[str, str] | None = None) -> Path | None:
    """The store `REPRO_HOME` names, wherever the repository is; None when it is not set."""
    home = (os.environ if environ is None else environ).get(ENV_HOME)
    return Path(home).expanduser().absolute() if home else None


def store_dir_of(root: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The store of the work tree at `root`: `REPRO_HOME` if set, else `<root>/.repro`."""
    return repro_home(environ) or root / STORE_DIRNAME


def ensure_layout(root: Path) -> None:
    """Create the store's directories and marker files if missing; safe to run concurrently."""
    try:
        for directory in (root, root / RUNS_DIRNAME, root / OBJECTS_DIRNAME):
            directory.mkdir(parents=True, exist_ok=True)
        (root / OBJECTS_DIRNAME / TMP_DIRNAME).mkdir(exist_ok=True)
        if not (root / GITIGNORE_FILENAME).exists():
            atomic_write_bytes(root / GITIGNORE_FILENAME, _GITIGNORE)
        _check_store_version(root / STORE_META_FILENAME)
    except OSError as exc:
        if is_read_only(root) and (root / RUNS_DIRNAME).is_dir():
            return  # a store we may only read: reading needs nothing created
        raise StoreError(
            f"cannot create the run store at {root}: {exc.strerror or exc}; "
            f"set {ENV_HOME} to a writable directory"
        ) from exc


def is_read_only(path: Path) -> bool:
    """Whether `path` (its directory, while it does not exist) cannot be written: a read-only
    file system or no permission. access(2) says EROFS to root too, whom modes do not stop."""
    return not os.access(path if path.exists() else path.parent, os.W_OK)


def _check_store_version(path: Path) -> None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        # Concurrent first opens all write the same bytes atomically: any of them may win.
        atomic_write_bytes(path, json.dumps({"store_version": STORE_VERSION}).encode() + b"\n")
        return
    try:
        document: Any = json.loads(data)
        version = document["store_version"]
        if not isinstance(version, int):
            raise TypeError("store_version is not an integer")
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(
            f"{path} is corrupted ({exc!r}); it holds only the store version: "
            "delete it and repro will write it again"
        ) from exc
    if version > STORE_VERSION:
        raise SchemaVersionError(
            f"the run store at {path.parent} was written by a newer repro "
            f"(store version {version} > {STORE_VERSION}): upgrade repro"
        )
