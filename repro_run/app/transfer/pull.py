"""`repro pull REF...`: a run from the team remote into this store, all or nothing.

The index entry and the record are checked as hostile input (the record exactly as `repro
import` checks a bundle's); the commit must already be in this repository (the remote holds no
code: `git fetch` brings it). Everything is streamed into a locked staging directory of the
store (`.repro/pull-XXXX/`, which `repro fsck` removes when its puller died), each object and
run file hashed on the way and refused, naming it, unless its BLAKE3 is its name (or what the
entry recorded); only then are the objects adopted and the run's files renamed into
`runs/<id>`, as an import commits. `repro rerun` of a run only on the remote pulls it first.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from repro_run.app.maintenance import record_references
from repro_run.app.progress import NullReporter, ProgressDisplay, Reporter
from repro_run.app.transfer.commit import adopt_objects, is_present, place_run
from repro_run.app.transfer.remote_runs import (
    IndexEntry,
    fetch_record,
    open_configured,
    resolve,
)
from repro_run.app.workspace import Workspace
from repro_run.capture.code_pack import has_commit
from repro_run.core.constants import (
    DEFAULT_IMPORT_MAX_BYTES,
    ENV_IMPORT_MAX_BYTES,
    ENV_REMOTE,
    PULL_STAGING_PREFIX,
    RUN_RECORD_FILENAME,
)
from repro_run.core.errors import (
    CommitNotFoundError,
    RemoteDamagedError,
    ReproError,
    RunNotFoundError,
    UsageError,
)
from repro_run.core.record import Record, replace
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import Imported, RunRecord
from repro_run.remote import Remote, remote_error
from repro_run.remote.keys import object_key, run_file_key
from repro_run.settings import load_project_settings
from repro_run.store import Store

_JOBS = 16


class PulledRun(Record):
    run_id: str
    already: bool  # this very run was in the store: nothing changed
    objects: int  # objects fetched (the others the store had)
    output_files: bool  # the output files came too


def pull(
    workspace: Workspace,
    refs: Sequence[str],
    *,
    with_outputs: bool = False,
    url: str | None = None,
    reporter: Reporter | None = None,
) -> list[PulledRun]:
    remote = open_configured(workspace, url)
    entries = {entry.run_id: entry for entry in (resolve(remote, ref) for ref in refs)}
    return [
        pull_run(workspace, remote, entries[run_id], with_outputs, reporter or NullReporter())
        for run_id in sorted(entries)
    ]


def pull_if_remote_only(
    workspace: Workspace, ref: str, url: str | None, reporter: Reporter
) -> PulledRun | None:
    """For `repro rerun`: a run this store lacks is pulled first from the configured remote
    (with its output files when they were pushed), said through `reporter`."""
    try:
        workspace.store().resolve(ref)
        return None
    except RunNotFoundError:
        configured = load_project_settings(workspace.root).remote if workspace.root else None
        if not (url or os.environ.get(ENV_REMOTE) or configured):
            raise
    remote = open_configured(workspace, url)
    entry = resolve(remote, ref)
    reporter.info(f"run {entry.run_id} is not in this store: pulling it from {remote.url}")
    return pull_run(workspace, remote, entry, entry.with_outputs, reporter)


def pull_run(
    workspace: Workspace, remote: Remote, entry: IndexEntry, with_outputs: bool, reporter: Reporter
) -> PulledRun:
    store = workspace.store()
    record = fetch_record(remote, entry)
    if with_outputs and not entry.with_outputs:
        raise UsageError(
            f"run {entry.run_id} was pushed without its output files: pull it without "
            "--with-outputs"
        )
    if is_present(store, record, "pulled"):
        return PulledRun(record.id, True, 0, False)
    commit = record.code.commit
    if not has_commit(workspace.work_tree(), commit):
        raise CommitNotFoundError(
            f"run {record.id} was made at commit {commit}, which this repository lacks: "
            "git fetch it (from the repository the run was pushed from), then pull again"
        )
    progress = reporter.progress(f"pull {record.id}")
    try:
        with store.staging(PULL_STAGING_PREFIX) as staging:
            fetcher = _Fetcher(remote, store, staging, progress)
            fetcher.run_files(entry)
            fetcher.objects(record_references(record))
            if with_outputs:
                fetcher.objects(_output_objects(store, staging, record))
            count = adopt_objects(store, staging / "objects")
            carried = replace(record, imported=Imported(output_files=with_outputs))
            placed = place_run(store, carried, staging / "run", "pulled")
    finally:
        progress.close()
    return PulledRun(record.id, not placed, count, with_outputs)


def _output_objects(store: Store, staging: Path, record: RunRecord) -> dict[str, str]:
    """The output files' objects, from their manifests (fetched and verified by now)."""
    wanted: dict[str, str] = {}
    for tree in record.outputs:
        staged = staging / "objects" / tree.manifest_object
        data = staged.read_bytes() if staged.exists() else store.get_bytes(tree.manifest_object)
        try:
            entries = decode_manifest(data)
        except ValueError as exc:
            raise RemoteDamagedError(
                f"the manifest of outputs {tree.path} of run {record.id} cannot be read: {exc}"
            ) from None
        for item in entries:
            if item.hash is not None:
                wanted[item.hash] = f"output {tree.path}/{item.path}"
    return wanted


def _max_bytes() -> int:
    value = os.environ.get(ENV_IMPORT_MAX_BYTES, "")
    return int(value) if value.isdigit() else DEFAULT_IMPORT_MAX_BYTES


class _Fetcher:
    """Streams remote files into the staging directory, each hashed on the way; the pull's
    bytes are counted against the limit an import has (REPRO_IMPORT_MAX_BYTES)."""

    def __init__(self, remote: Remote, store: Store, staging: Path, progress: ProgressDisplay):
        self.remote, self.store, self.progress = remote, store, progress
        self.staging = staging
        self.left = _max_bytes()
        (staging / "run").mkdir()
        (staging / "objects").mkdir()

    def run_files(self, entry: IndexEntry) -> None:
        wanted = [f for f in entry.files if f.name != RUN_RECORD_FILENAME]  # written by place_run

        async def one(name: str) -> None:
            listed = entry.file(name)
            assert listed is not None
            key = run_file_key(entry.run_id, name)
            await self._fetch(key, self.staging / "run" / name, listed.blake3, name, listed.size)

        self.remote.each(_JOBS, [f.name for f in wanted], one)

    def objects(self, wanted: dict[str, str]) -> None:
        missing = sorted(d for d in wanted if not self.store.has_object(d))
        missing = [d for d in missing if not (self.staging / "objects" / d).exists()]

        async def one(digest: str) -> None:
            what = f"object {digest} ({wanted[digest]})"
            await self._fetch(object_key(digest), self.staging / "objects" / digest, digest, what)

        self.remote.each(_JOBS, missing, one)

    async def _fetch(
        self, key: str, dest: Path, digest: str, what: str, size: int | None = None
    ) -> None:
        from blake3 import blake3

        hasher, got = blake3(), 0
        chunks = await self.remote.stream(key)
        with open(dest, "wb") as out:
            try:
                async for chunk in chunks:
                    got += len(chunk)
                    self.left -= len(chunk)
                    if self.left < 0 or (size is not None and got > size):
                        break
                    hasher.update(chunk)
                    out.write(chunk)
            except ReproError:
                raise
            except Exception as exc:
                raise remote_error(f"cannot read {key} from {self.remote.url}", exc) from None
        if self.left < 0:
            raise RemoteDamagedError(
                f"run files and objects over {_max_bytes()} bytes: refused ({ENV_IMPORT_MAX_BYTES})"
            )
        if hasher.hexdigest() != digest or (size is not None and got != size):
            raise RemoteDamagedError(
                f"{what} on {self.remote.url} does not match its hash (tampered with or "
                "truncated): refused, nothing was pulled"
            )
        self.progress.advance(1, got)
