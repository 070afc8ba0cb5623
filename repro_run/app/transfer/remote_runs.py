"""What a team remote holds: which remote a command uses, the per-run index entries (hostile
input, checked like a bundle's manifest), a run found by its ID or a prefix, `repro list
--remote` (one listing request per 1,000 runs; entries cached by their ETag) and `repro show
--remote` (the record fetched and checked, nothing pulled)."""

from __future__ import annotations

import hashlib
import json
import os

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
from repro_run.remote.keys import INDEX, index_key, index_run_id, run_file_key
from repro_run.settings import load_project_settings
from repro_run.store import resolve as refs
from repro_run.store.durable import atomic_write_bytes
from repro_run.store.ids import TIME_CHARS, is_run_id
from repro_run.store.objects import is_digest

ENTRY_FORMAT = 1
_ENTRY_MAX_BYTES = 1024 * 1024  # what repro writes is a few hundred bytes plus the summary
_FETCH_JOBS = 32
_CANDIDATES_SHOWN = 5


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
    listed = sorted(_listed_entries(remote), key=lambda item: item.key, reverse=True)
    cache = _EntryCache(remote.url)
    shown: list[RunSummary] = []
    batch = limit if status is None and limit is not None else len(listed)
    while listed and (limit is None or len(shown) < limit):
        chunk, listed = listed[:batch], listed[batch:]
        entries = cache.entries(remote, chunk)
        shown += [e.summary for e in entries if status is None or e.summary.status == status]
    cache.save()
    return shown[:limit]


class _EntryCache:
    """Index entries by key and ETag in the user cache dir: an entry is never rewritten
    (create-only), so an unchanged ETag means unchanged bytes."""

    def __init__(self, url: str) -> None:
        name = hashlib.sha256(url.encode()).hexdigest()[:24]
        self.path = user_cache_dir() / "remote-index" / f"{name}.json"
        self.known: dict[str, list[str]] = {}
        self.changed = False
        try:
            loaded = json.loads(self.path.read_bytes())
            if isinstance(loaded, dict):
                self.known = {k: v for k, v in loaded.items() if _is_cached(v)}
        except (OSError, ValueError):
            pass  # no cache yet, or a damaged one: it is only a cache

    def entries(self, remote: Remote, items: list[Listed]) -> list[IndexEntry]:
        missing = [i for i in items if self.known.get(i.key, ["", ""])[0] != i.etag or not i.etag]

        async def fetch(item: Listed) -> tuple[str, str, bytes | None]:
            return item.key, item.etag, await remote.get_async(item.key, _ENTRY_MAX_BYTES)

        for key, etag, raw in remote.each(_FETCH_JOBS, missing, fetch):
            if raw is not None:  # gone since the listing: left out
                self.known[key] = [etag, raw.decode("ascii", "replace")]
                self.changed = True
        return [self._decoded(remote, i.key) for i in items if i.key in self.known]

    def _decoded(self, remote: Remote, key: str) -> IndexEntry:
        run_id = _entry_run_id(key)
        return decode_entry(self.known[key][1].encode(), run_id, f"{remote.url}/{key}")

    def save(self) -> None:
        if not self.changed:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(self.known).encode())
        except OSError:
            pass  # a read-only cache dir: listing works, only slower next time


def _is_cached(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


def _listed_entries(remote: Remote) -> list[Listed]:
    """The index entries the remote lists; any other key under `index/` is no run's."""
    return [item for page in remote.listing(INDEX) for item in page if _entry_run_id(item.key)]


def _entry_run_id(key: str) -> str:
    """The run ID an index entry's key names; "" for a key that names none."""
    run_id = index_run_id(key) or ""
    return run_id if is_run_id(run_id) else ""
