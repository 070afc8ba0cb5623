"""Where things live on a remote, under its prefix: the same object layout as `.repro/objects`,
each run's files, one index entry per run (the commit point of a push), and one empty key per
push named by its UTC time (what a warm `list --remote` lists: only the pushes since its last)."""

from __future__ import annotations

from datetime import UTC, datetime

OBJECTS = "objects/"
RUNS = "runs/"
INDEX = "index/"
PUSHED = "pushed/"
_ENTRY_SUFFIX = ".json"


def object_key(digest: str) -> str:
    return f"{OBJECTS}{digest[:2]}/{digest[2:]}"


def object_digest(key: str) -> str:
    """The digest an `objects/ab/cdef…` key names (as listed; not checked)."""
    return key[len(OBJECTS) :].replace("/", "", 1)


def run_file_key(run_id: str, name: str) -> str:
    return f"{RUNS}{run_id}/{name}"


def index_key(run_id: str) -> str:
    return f"{INDEX}{run_id}{_ENTRY_SUFFIX}"


def index_run_id(key: str) -> str | None:
    """The run ID an `index/<id>.json` key names; None for any other key."""
    if not key.startswith(INDEX) or not key.endswith(_ENTRY_SUFFIX):
        return None
    return key[len(INDEX) : -len(_ENTRY_SUFFIX)]


def pushed_offset(when: float) -> str:
    """The name of a push at `when` (Unix seconds) without its run ID: names sort by time."""
    return f"{PUSHED}{datetime.fromtimestamp(when, UTC).strftime('%Y%m%dT%H%M%S.%fZ')}"


def pushed_key(when: float, run_id: str) -> str:
    return f"{pushed_offset(when)}-{run_id}"


def pushed_run_id(key: str) -> str:
    """The run ID a `pushed/<time>-<id>` key names (as listed; not checked)."""
    return key.rpartition("-")[2]
