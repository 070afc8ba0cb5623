"""`repro export --with-data`: the run's data files, read where the run read them.

Each recorded dataset is fingerprinted again where it lies (the stat cache makes an unchanged
dataset cheap); a digest other than the recorded one refuses the export and names the files
that changed, so a bundle never holds data the run did not use. Each file of the manifest
becomes an object member of the bundle (named by its BLAKE3, so a file repeated in the data is
stored once); the bundle writer hashes it again while it streams it, which catches a change
made after this check. Symlinks need no member: the manifest holds their targets.
"""

from __future__ import annotations

import os
from pathlib import Path

from repro_run.app.rerun.replay_data import describe_drift
from repro_run.bundle import Member, object_member
from repro_run.core.errors import DataDriftError, DataNotFoundError, DataUnreadableError
from repro_run.core.paths import user_cache_dir
from repro_run.core.record import Record
from repro_run.fingerprint.engine import fingerprint
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import RunRecord, local_name
from repro_run.store import Store


class DataFile(Record):
    member: Member
    name: str  # as findings and messages show it: the recorded data path, then the file's


def data_files(store: Store, record: RunRecord, root: Path) -> list[DataFile]:
    """Every regular file of every recorded dataset, checked unchanged since the run."""
    files: list[DataFile] = []
    for ref in record.data:
        source = Path(ref.path) if os.path.isabs(ref.path) else root / ref.path
        if not os.path.lexists(source):
            raise DataNotFoundError(
                f"data path {ref.path} of run {record.id} is missing ({source}): put the data "
                "back there, or export without --with-data"
            )
        fp = fingerprint(source, cache_dir=user_cache_dir())
        if fp.digest != ref.digest:
            raise DataDriftError(
                f"data changed since run {record.id}: {describe_drift(store, ref, fp.manifest)}; "
                "nothing was exported: restore the data the run used, or export without "
                "--with-data"
            )
        base = Path(fp.root)
        single = not base.is_dir()  # a dataset that is one file: the manifest names it alone
        for entry in decode_manifest(fp.manifest):
            if entry.link is not None:
                continue
            name = ref.path if single else f"{ref.path}/{entry.path}"
            if entry.hash is None:
                raise DataUnreadableError(
                    f"data file {name} of run {record.id} could not be read when the run "
                    "fingerprinted it (--skip-unreadable), so it cannot be exported: export "
                    "without --with-data"
                )
            path = base if single else base / local_name(entry.path)
            files.append(
                DataFile(Member(object_member(entry.hash), path, entry.size, entry.hash), name)
            )
    return files
