"""`repro push [REF...] [--all]`: runs to the team remote, in an order that makes an interrupted
push invisible and a repeated one free.

Per run: its index entry is read first (one request: a run already there ends it, a different
run under its ID is refused); the secret scan `repro export` runs; then the claim of the ID:
`runs/<id>/run.json` alone, create-only, which must be created by this push or hold its very
bytes; then the objects the remote lacks (found by listing `objects/` when that costs fewer
requests than one HEAD per object, as DVC decides), each read back verified from the local
store and its upload verified; then the run's other files, create-only; then an empty
`pushed/<UTC time>-<id>` (what a warm `list --remote` lists); then `index/<id>.json`,
create-only: the commit point. Everything before it is content-addressed or
the same bytes again, so a killed push is completed by the next one, and two machines pushing
at once never overwrite each other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from repro_run.app.progress import NullReporter, ProgressDisplay, Reporter
from repro_run.app.transfer.remote_runs import (
    IndexEntry,
    RemoteFile,
    encode_entry,
    fetch_entry,
    open_configured,
)
from repro_run.app.workspace import Workspace
from repro_run.core.constants import RUN_FILES, RUN_RECORD_FILENAME
from repro_run.core.errors import (
    RemoteClashError,
    RemoteDamagedError,
    RunNotFinishedError,
    StoreError,
    UsageError,
)
from repro_run.core.record import Record, replace
from repro_run.models import FINAL_STATUSES, RunRecord
from repro_run.remote import Remote
from repro_run.remote.keys import (
    OBJECTS,
    index_key,
    object_digest,
    object_key,
    pushed_key,
    run_file_key,
)
from repro_run.store import Store
from repro_run.store.crashpoint import durable_step
from repro_run.store.index import summarize
from repro_run.store.run_json import encode_record

_PAGE = 1000  # keys per listing request (S3's maximum)
_IN_MEMORY = 8 * 1024 * 1024  # objects up to this size are read, checked and sent from memory
_HEX_SPACE = 16**8


class PushedRun(Record):
    run_id: str
    already: bool  # the remote had this very run: nothing was sent
    objects: int  # objects sent (the others the remote had)
    size: int  # bytes sent


class PushResult(Record):
    remote: str
    runs: tuple[PushedRun, ...]
    findings: tuple[str, ...]  # secret findings let through by --allow-secrets
    unscanned: int  # binary output files the scan could not read


def push(
    workspace: Workspace,
    refs: Sequence[str],
    *,
    all_runs: bool = False,
    jobs: int = 16,
    allow_secrets: bool = False,
    url: str | None = None,
    reporter: Reporter | None = None,
) -> PushResult:
    store = workspace.store()
    if all_runs == bool(refs):
        raise UsageError("name the runs to push (IDs, prefixes, @), or pass --all")
    if all_runs:
        run_ids = [s.id for s in store.list_runs() if s.status in FINAL_STATUSES]
    else:
        run_ids = list(dict.fromkeys(store.resolve(ref) for ref in refs))
    remote = open_configured(workspace, url)
    pushed, findings, unscanned = [], [], 0
    for run_id in sorted(run_ids):
        outcome = _push_run(store, remote, run_id, jobs, allow_secrets, reporter or NullReporter())
        pushed.append(outcome[0])
        findings += outcome[1]
        unscanned += outcome[2]
    return PushResult(remote.url, tuple(pushed), tuple(findings), unscanned)


def _push_run(
    store: Store, remote: Remote, run_id: str, jobs: int, allow: bool, reporter: Reporter
) -> tuple[PushedRun, list[str], int]:
    record = store.load_record(run_id)
    if record.status not in FINAL_STATUSES:
        raise RunNotFinishedError(f"run {run_id} is {record.status}: push it once it ends")
    files = _run_files(store, record)
    with_outputs = record.imported is None or record.imported.output_files
    entry = IndexEntry(
        run_id, tuple(f for f, _ in files), with_outputs, summarize(replace(record, imported=None))
    )
    if _already(remote, entry, fetch_entry(remote, run_id)):
        return PushedRun(run_id, True, 0, 0), [], 0
    # Imported here, past the no-op: a repeated push costs one request and little more.
    from repro_run.app.maintenance import record_references
    from repro_run.app.transfer.secrets import (
        output_files,
        refuse_secrets,
        run_texts,
        scan_texts,
    )

    outputs = output_files(store, [record]) if with_outputs else []
    findings, unscanned = scan_texts([record], store, run_texts(store, [record], outputs))
    if not allow:
        refuse_secrets(run_id, findings, "pushed")
    digests = sorted(set(record_references(record)) | {digest for _, digest in outputs})
    missing = _missing(remote, digests, jobs)
    sizes = {d: _size(store, d) for d in missing}
    progress = reporter.progress(f"push {run_id}")
    progress.estimate(len(missing) + len(files), sum(sizes.values()))
    claim = [item for item in files if item[0].name == RUN_RECORD_FILENAME]
    try:
        # The record alone first, create-only: the claim of the ID. Nothing else is sent until
        # it is ours (created now, or the same bytes from a killed push of this run), so a
        # different run under this ID leaves no file behind and two clashing pushes never mix.
        _send_run_files(remote, entry, claim, 1, progress)
        _send_objects(store, remote, missing, jobs, progress)
        _send_run_files(remote, entry, [i for i in files if i not in claim], jobs, progress)
    finally:
        progress.close()
    # Before the entry: a warm `list --remote` finds the run by this key, and shows it only once
    # its entry exists (a push killed between the two is found when a later one commits it).
    remote.put(pushed_key(time.time(), run_id), b"", create=True)
    durable_step("push pushed key")
    created = remote.put(index_key(run_id), encode_entry(entry), create=True)
    if not created and _already(remote, entry, fetch_entry(remote, run_id)):
        return PushedRun(run_id, True, 0, 0), findings, unscanned  # a concurrent push of it
    durable_step("push index entry")
    return PushedRun(run_id, False, len(missing), sum(sizes.values())), findings, unscanned


def _size(store: Store, digest: str) -> int:
    try:
        return store.object_path(digest).stat().st_size
    except OSError as exc:
        raise StoreError(
            f"object {digest} cannot be read from the store ({exc.strerror}): nothing of it was "
            "pushed; run repro fsck"
        ) from None


def _run_files(store: Store, record: RunRecord) -> list[tuple[RemoteFile, bytes | Path]]:
    """The run's files as the remote gets them: the record without what this store holds of
    the run (`imported`), the others as they are."""
    from blake3 import blake3

    found: list[tuple[RemoteFile, bytes | Path]] = []
    for name in RUN_FILES:
        path = store.run_dir(record.id) / name
        if name == RUN_RECORD_FILENAME:
            data = encode_record(replace(record, imported=None))
            found.append((RemoteFile(name, blake3(data).hexdigest(), len(data)), data))
        elif path.is_file():
            digest = blake3(max_threads=blake3.AUTO).update_mmap(path).hexdigest()
            found.append((RemoteFile(name, digest, path.stat().st_size), path))
    return found


def _already(remote: Remote, entry: IndexEntry, there: IndexEntry | None) -> bool:
    """Whether the remote holds this very run; RemoteClashError when it holds another."""
    if there is None:
        return False
    if there.file(RUN_RECORD_FILENAME) != entry.file(RUN_RECORD_FILENAME):
        raise RemoteClashError(
            f"a different run {entry.run_id} is already on {remote.url}: nothing was pushed "
            "(it is never overwritten)"
        )
    return True


def _missing(remote: Remote, digests: list[str], jobs: int) -> list[str]:
    """The digests the remote lacks: one listing page first; the whole listing when that
    costs fewer requests than a HEAD per object (its size estimated from how far into the
    hash space the first page reached), else HEADs in parallel."""
    if not digests:
        return []
    pages = remote.listing(OBJECTS)
    first = next(pages, [])
    listed = {object_digest(item.key) for item in first}
    if len(first) >= _PAGE:
        reached = int(object_digest(first[-1].key)[:8] or "0", 16) + 1
        if _HEX_SPACE / reached < len(digests):
            listed.update(object_digest(item.key) for page in pages for item in page)
        else:

            async def absent(digest: str) -> bool:
                return await remote.head_async(object_key(digest)) is None

            return [
                d
                for d, gone in zip(digests, remote.each(jobs, digests, absent), strict=True)
                if gone
            ]
    return [d for d in digests if d not in listed]


def _send_objects(
    store: Store, remote: Remote, digests: list[str], jobs: int, progress: ProgressDisplay
) -> None:
    from repro_run.store import fsck

    async def send(digest: str) -> None:
        path = store.object_path(digest)
        size = _size(store, digest)
        if size <= _IN_MEMORY:
            data: bytes | Path = store.get_bytes(digest)  # a corrupt object is never sent
        elif fsck.content_matches(path, digest):
            data = path
        else:
            data = store.get_bytes(digest)  # raises: the object does not match its name
        await remote.put_async(object_key(digest), data)
        durable_step("push object")
        progress.advance(1, size)

    remote.each(jobs, digests, send)


def _send_run_files(
    remote: Remote,
    entry: IndexEntry,
    files: list[tuple[RemoteFile, bytes | Path]],
    jobs: int,
    progress: ProgressDisplay,
) -> None:
    """Create-only: the same bytes already there (a push killed after them) are fine; others
    are a different run under this ID, never overwritten."""

    async def send(item: tuple[RemoteFile, bytes | Path]) -> None:
        listed, data = item
        key = run_file_key(entry.run_id, listed.name)
        if not await remote.put_async(key, data, create=True):
            from blake3 import blake3

            try:
                there = await remote.get_async(key, listed.size)
            except RemoteDamagedError:
                there = None  # larger than this run's file: another run's
            if there is None or blake3(there).hexdigest() != listed.blake3:
                raise RemoteClashError(
                    f"{remote.url}/{key} holds another run's file: nothing was overwritten; "
                    f"run {entry.run_id} cannot be pushed there"
                )
        durable_step("push run file")
        progress.advance(1, 0)

    remote.each(jobs, files, send)
