"""What a team remote holds: which remote a command uses, the per-run index entries (hostile
input, checked like a bundle's manifest), a run found by its ID or a prefix, `repro list
--remote` (one listing request per 1,000 runs; entries cached by their ETag) and `repro show
--remote` (the record fetched and checked, nothing pulled)."""

from __future__ import annotations

import hashlib
import json
import os
import time

from repro_run.app.workspace import Workspace
from repro_run.core.constants import (
    ENV_REMOTE,
    RECORD_MAX_BYTES,
    RUN_FILES,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import (
    AmbiguousRunIdError,
    RemoteConfigError,
    RemoteDamagedError,
    RunNotFoundError,
)
from repro_run.core.paths import user_cache_dir
from repro_run.core.record import Record
from repro_run.models import DecodeError, RunRecord, RunSummary, from_json_dict, to_json_dict
from repro_run.remote import Listed, Remote, open_remote
from repro_run.remote.keys import (
    INDEX,
    PUSHED,
    index_key,
    index_run_id,
    pushed_offset,
    pushed_run_id,
    run_file_key,
)
from repro_run.settings import load_project_settings
from repro_run.store import resolve as refs
from repro_run.store.durable import atomic_write_bytes
from repro_run.store.ids import TIME_CHARS, is_run_id
from repro_run.store.objects import is_digest

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TypeGuard

ENTRY_FORMAT = 1
_ENTRY_MAX_BYTES = 1024 * 1024  # what repro writes is a few hundred bytes plus the summary
_FETCH_JOBS = 32
_CANDIDATES_SHOWN = 5
_CACHE_FORMAT = 2
_CLOCK_SKEW = 300.0  # seconds a pusher's clock may be behind this machine's


class RemoteFile(Record):
    """One of a run's files on the remote, by the hash and size push gave it."""

    name: str
    blake3: str
    size: int


class IndexEntry(Record):
    """`index/<id>.json`: the commit point of a push, and what `list --remote` shows."""

    run_id: str
    files: tuple[RemoteFile, ...]
    with_outputs: bool  # the output files' objects were pushed too
    summary: RunSummary

    def file(self, name: str) -> RemoteFile | None:
        return next((f for f in self.files if f.name == name), None)


def open_configured(workspace: Workspace, url: str | None) -> Remote:
    """The remote named by `--remote URL`, else REPRO_REMOTE, else `[tool.repro] remote`."""
    configured = load_project_settings(workspace.root).remote if workspace.root else None
    chosen = url or os.environ.get(ENV_REMOTE) or configured
    if not chosen:
        raise RemoteConfigError(
            f"no remote: pass --remote URL, set {ENV_REMOTE}, or add remote = "
            '"s3://bucket/prefix" to [tool.repro] in pyproject.toml'
        )
    return open_remote(chosen)


def encode_entry(entry: IndexEntry) -> bytes:
    document = {"format": ENTRY_FORMAT, **to_json_dict(entry)}
    return json.dumps(document, sort_keys=True, ensure_ascii=True).encode("ascii") + b"\n"


def decode_entry(raw: bytes, run_id: str, where: str) -> IndexEntry:
    """An index entry checked as hostile input: RemoteDamagedError naming `where` otherwise."""
    try:
        document = json.loads(raw)
        if not isinstance(document, dict) or document.pop("format", None) != ENTRY_FORMAT:
            raise DecodeError("not an index entry of this repro's format")
        entry = from_json_dict(IndexEntry, document)
    except (ValueError, DecodeError) as exc:
        raise RemoteDamagedError(f"{where} is not a run's index entry ({exc}): refused") from None
    names = [f.name for f in entry.files]
    if (
        entry.run_id != run_id
        or entry.summary.id != run_id
        or len(set(names)) != len(names)
        or not set(names) <= set(RUN_FILES)
        or RUN_RECORD_FILENAME not in names
        or not all(is_digest(f.blake3) and f.size >= 0 for f in entry.files)
    ):
        raise RemoteDamagedError(f"{where} does not describe run {run_id} as push writes it")
    return entry


def fetch_entry(remote: Remote, run_id: str) -> IndexEntry | None:
    """Run `run_id`'s index entry, None when the remote has no such run (one request)."""
    raw = remote.get(index_key(run_id), _ENTRY_MAX_BYTES)
    return None if raw is None else decode_entry(raw, run_id, f"{remote.url}/{index_key(run_id)}")


def resolve(remote: Remote, ref: str) -> IndexEntry:
    """The run that `ref` names on the remote, read as a local reference is (`store/resolve.py`):
    an ID or a unique prefix, any case, look-alike characters as the digits; `latest`, `@`,
    `@~N` by ID time."""
    wanted = refs.normalize_ref(ref)
    offset = refs.relative_offset(ref)
    if offset is None and is_run_id(wanted) and (entry := fetch_entry(remote, wanted)) is not None:
        return entry
    # object_store lists by path segment, not by any string prefix: the index is listed whole.
    run_ids = [_entry_run_id(item.key) for item in _listed_entries(remote)]
    if offset is not None:
        found = _nth_newest(remote, run_ids, offset)
    else:
        found = refs.match_prefix(wanted, run_ids) if wanted.isalnum() else []
    if not found:
        raise RunNotFoundError(f"no run matches {ref!r} on {remote.url}: repro list --remote")
    if len(found) > 1:
        shown = ", ".join(found[:_CANDIDATES_SHOWN])
        raise AmbiguousRunIdError(f"{ref!r} matches {len(found)} runs on {remote.url}: {shown}")
    entry = fetch_entry(remote, found[0])
    if entry is None:
        raise RunNotFoundError(f"run {found[0]} left {remote.url} meanwhile")
    return entry


def _nth_newest(remote: Remote, run_ids: list[str], offset: int) -> list[str]:
    """[the run `offset` runs before the newest] by ID time; within its second by `created`,
    read from the entries of that second alone."""
    ordered = sorted(run_ids, reverse=True)
    if offset >= len(ordered):
        return []
    second = ordered[offset][:TIME_CHARS]
    same = [r for r in ordered if r[:TIME_CHARS] == second]
    index = offset - ordered.index(same[0])
    if len(same) > 1:
        entries = [e for r in same if (e := fetch_entry(remote, r)) is not None]
        same = [e.run_id for e in sorted(entries, key=_created, reverse=True)]
    return same[index : index + 1]


def _created(entry: IndexEntry) -> tuple[str, str]:
    return entry.summary.created, entry.run_id


def fetch_run_file(remote: Remote, entry: IndexEntry, name: str) -> bytes | None:
    """One of the run's files, its hash and size checked; None when the run has none."""
    listed = entry.file(name)
    if listed is None:
        return None
    key = run_file_key(entry.run_id, name)
    raw = remote.get(key, RECORD_MAX_BYTES if name == RUN_RECORD_FILENAME else listed.size)
    if raw is None:
        raise RemoteDamagedError(f"{remote.url}/{key} is missing: push run {entry.run_id} again")
    from blake3 import blake3

    if len(raw) != listed.size or blake3(raw).hexdigest() != listed.blake3:
        raise RemoteDamagedError(
            f"{remote.url}/{key} does not match the hash its push recorded (tampered with or "
            "truncated): refused, nothing kept"
        )
    return raw


def fetch_record(remote: Remote, entry: IndexEntry) -> RunRecord:
    """The run's record, checked exactly as `repro import` checks a bundle's."""
    from repro_run.app.transfer.commit import checked_record  # not on a no-op push's path

    raw = fetch_run_file(remote, entry, RUN_RECORD_FILENAME)
    assert raw is not None  # decode_entry requires it
    return checked_record(raw, entry.run_id, "the remote's", RemoteDamagedError)


def show_remote(workspace: Workspace, url: str | None, ref: str) -> RunRecord:
    remote = open_configured(workspace, url)
    return fetch_record(remote, resolve(remote, ref))


def list_remote(
    workspace: Workspace, url: str | None, status: str | None = None, limit: int | None = None
) -> list[RunSummary]:
    """The remote's runs, newest first: `limit` of them (with `status`) when given."""
    remote = open_configured(workspace, url)
    cache = _IndexCache(remote.url)
    listed = cache.refresh(remote)
    shown: list[RunSummary] = []
    batch = limit if status is None and limit is not None else len(listed)
    while listed and (limit is None or len(shown) < limit):
        chunk, listed = listed[:batch], listed[batch:]
        entries = cache.entries(remote, chunk)
        shown += [e.summary for e in entries if status is None or e.summary.status == status]
    cache.save()
    return shown[:limit]


class _IndexCache:
    """The remote's index as this user last listed it, in the user cache dir: each entry's key,
    ETag ("" when found through `pushed/`) and text once fetched; when it was listed; the runs
    seen pushed whose entry did not exist yet. Entries are create-only, so a kept one is true.
    The first listing reads the whole index; later ones only the pushes since the last."""

    def __init__(self, url: str) -> None:
        name = hashlib.sha256(url.encode()).hexdigest()[:24]
        self.path = user_cache_dir() / "remote-index" / f"{name}.json"
        self.known: dict[str, list[str]] = {}
        self.listed_at: float | None = None
        self.pending: set[str] = set()
        try:
            loaded = json.loads(self.path.read_bytes())
            if _is_cache(loaded):
                self.known, self.listed_at = loaded["known"], loaded["listed_at"]
                self.pending = set(loaded["pending"])
        except (OSError, ValueError):
            pass  # no cache yet, or a damaged one: it is only a cache

    def refresh(self, remote: Remote) -> list[str]:
        """The index entries' keys, newest run first."""
        started = time.time()
        if self.listed_at is None:
            self.known = {i.key: self._kept(i) for i in _listed_entries(remote)}
        else:
            # From a little before the last listing: another pusher's clock may be behind ours.
            after = pushed_offset(self.listed_at - _CLOCK_SKEW)
            pushed = {pushed_run_id(i.key) for page in remote.listing(PUSHED, after) for i in page}
            runs = {r for r in pushed | self.pending if is_run_id(r)}
            new = sorted(key for r in runs if (key := index_key(r)) not in self.known)
            self.known.update({key: ["", ""] for key in new})
            self._fetch(remote, new)
            # Pushed but not committed yet (a push under way, or killed before its entry).
            self.pending = {_entry_run_id(key) for key in new if key not in self.known}
        self.listed_at = started
        return sorted(self.known, reverse=True)

    def _kept(self, item: Listed) -> list[str]:
        cached = self.known.get(item.key)
        return cached if cached and item.etag and cached[0] == item.etag else [item.etag, ""]

    def entries(self, remote: Remote, keys: list[str]) -> list[IndexEntry]:
        self._fetch(remote, [key for key in keys if not self.known.get(key, ["", ""])[1]])
        return [self._decoded(remote, key) for key in keys if key in self.known]

    def _fetch(self, remote: Remote, keys: list[str]) -> None:
        async def fetch(key: str) -> tuple[str, bytes | None]:
            return key, await remote.get_async(key, _ENTRY_MAX_BYTES)

        for key, raw in remote.each(_FETCH_JOBS, keys, fetch):
            if raw is None:
                del self.known[key]  # gone since the listing, or not committed yet: left out
            else:
                self.known[key][1] = raw.decode("ascii", "replace")

    def _decoded(self, remote: Remote, key: str) -> IndexEntry:
        run_id = _entry_run_id(key)
        return decode_entry(self.known[key][1].encode(), run_id, f"{remote.url}/{key}")

    def save(self) -> None:
        document = {
            "format": _CACHE_FORMAT,
            "known": self.known,
            "listed_at": self.listed_at,
            "pending": sorted(self.pending),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(document).encode())
        except OSError:
            pass  # a read-only cache dir: listing works, only slower next time


def _is_cache(loaded: object) -> TypeGuard[dict[str, Any]]:
    if not isinstance(loaded, dict) or loaded.get("format") != _CACHE_FORMAT:
        return False
    known, pending = loaded.get("known"), loaded.get("pending")
    return (
        isinstance(known, dict)
        and all(_is_cached(v) for v in known.values())
        and isinstance(loaded.get("listed_at"), float)
        and isinstance(pending, list)
        and all(isinstance(r, str) for r in pending)
    )


def _is_cached(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


def _listed_entries(remote: Remote) -> list[Listed]:
    """The index entries the remote lists; any other key under `index/` is no run's."""
    return [item for page in remote.listing(INDEX) for item in page if _entry_run_id(item.key)]


def _entry_run_id(key: str) -> str:
    """The run ID an index entry's key names; "" for a key that names none."""
    run_id = index_run_id(key) or ""
    return run_id if is_run_id(run_id) else ""
