"""Where things live on a remote, under its prefix: the same object layout as `.repro/objects`,
each run's files, and one index entry per run (the commit point of a push)."""

from __future__ import annotations

OBJECTS = "objects/"
RUNS = "runs/"
INDEX = "index/"
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
