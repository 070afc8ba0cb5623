"""`repro list` and `repro show`: reading the store (runs, groups, package lists)."""

from __future__ import annotations

import json

from repro_run.app.workspace import Workspace
from repro_run.core.constants import GROUP_PREFIX
from repro_run.core.errors import PackagesUnavailableError, RunNotFoundError, StoreError
from repro_run.models import (
    CRASHED,
    CondaList,
    DecodeError,
    PackageList,
    RunRecord,
    RunSummary,
    Unavailable,
    from_json_dict,
)
from repro_run.store import Store
from repro_run.store.ids import LEGACY_ID_LENGTH
from repro_run.store.resolve import abbreviations

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import TypeVar

    L = TypeVar("L", PackageList, CondaList)


def list_runs(
    workspace: Workspace,
    status: str | None = None,
    limit: int | None = None,
    group: str | None = None,
) -> list[RunSummary]:
    return workspace.store().list_runs(status=status, limit=limit, group=group)


def short_ids(workspace: Workspace) -> dict[str, str]:
    """What `list` shows of each run's ID: the shortest prefix that names it alone in this
    store, of at least the first format's 10 characters (today's have 18: store/ids.py)."""
    return abbreviations(workspace.store().run_ids(), LEGACY_ID_LENGTH)


def reruns_of(workspace: Workspace, run_id: str) -> list[RunSummary]:
    """The reruns of `run_id`, newest first, with their verdicts."""
    return workspace.store().reruns_of(run_id)


def show(workspace: Workspace, ref: str) -> tuple[RunRecord, str]:
    """The record of run `ref` and its effective status (a dead supervisor reads as crashed)."""
    store = workspace.store()
    run_id = store.resolve(ref)
    record = store.with_part_statuses(store.load_record(run_id))
    status = store.effective_status(record)
    if status == CRASHED and (pids := store.leftover_processes(run_id)):
        status += f" (its processes are still alive: pid {', '.join(map(str, pids))})"
    return record, status


def packages(workspace: Workspace, ref: str) -> PackageList:
    """The package list of run `ref`: what `repro show --packages` prints."""
    store = workspace.store()
    record = store.load_record(store.resolve(ref))
    if isinstance(record.packages, Unavailable):
        raise PackagesUnavailableError(
            f"run {record.id} has no package list: {record.packages.reason}"
        )
    listed = load_package_list(store, record)
    if isinstance(listed, Unavailable):
        raise StoreError(f"{listed.reason}; repro fsck checks the store")
    return listed


def conda_packages(workspace: Workspace, ref: str) -> CondaList:
    """The conda packages run `ref` recorded: what `repro show --packages --format conda` writes."""
    store = workspace.store()
    record = store.load_record(store.resolve(ref))
    listed = load_conda_list(store, record)
    if listed is None:
        raise PackagesUnavailableError(
            f"run {record.id} recorded no conda packages: CONDA_PREFIX was not set where it "
            "ran (or repro < 18 recorded it); --format freeze lists its Python packages"
        )
    if isinstance(listed, Unavailable):
        raise PackagesUnavailableError(
            f"run {record.id} has no conda package list: {listed.reason}"
        )
    return listed


def load_conda_list(store: Store, record: RunRecord) -> CondaList | Unavailable | None:
    """The conda list a record points to; None where the run was not in a conda environment."""
    ref = record.conda
    if ref is None or isinstance(ref, Unavailable):
        return ref
    return _load_list(store, CondaList, ref.object, f"the conda package list of run {record.id}")


def _load_list(store: Store, cls: type[L], digest: str, what: str) -> L | Unavailable:
    try:
        return from_json_dict(cls, json.loads(store.get_bytes(digest)))
    except (StoreError, ValueError, DecodeError) as exc:
        return Unavailable(f"{what} cannot be read: {exc}")


def group_or_runs(store: Store, refs: tuple[str, ...]) -> tuple[str | None, list[RunRecord]]:
    """What `repro stats` and `repro report` take: a group ID (`grp-…`) alone, which stands for
    its runs (oldest first), or run references like `repro show` takes. Returns the group (None
    for listed runs) and the records."""
    group = refs[0] if len(refs) == 1 else None
    if group is not None:
        members = [r for r, _ in store.readable_records(store.run_ids()) if r.group == group]
        if members:
            return group, sorted(members, key=lambda r: (r.created, r.id))  # IDs: to the second
        if group.startswith(GROUP_PREFIX):
            raise RunNotFoundError(f"no run belongs to group {group}")
    return None, [store.load_record(store.resolve(ref)) for ref in refs]


def load_package_list(store: Store, record: RunRecord) -> PackageList | Unavailable:
    """The package list a record points to, or why there is none (not captured, unreadable)."""
    ref = record.packages
    if isinstance(ref, Unavailable):
        return ref
    return _load_list(store, PackageList, ref.object, f"the package list of run {record.id}")
