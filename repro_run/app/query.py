"""`repro list` and `repro show`: reading the store."""

from __future__ import annotations

from pathlib import Path

from repro_run.capture import git
from repro_run.models import CRASHED, RunRecord, RunSummary
from repro_run.store import Store, find_store_dir


def open_store(cwd: Path) -> Store:
    store_dir = find_store_dir(cwd)
    if store_dir is None:
        git.find_work_tree(cwd)  # raises the "not a git repository" error with its advice
        raise AssertionError("unreachable")
    return Store.open(store_dir)


def list_runs(cwd: Path, status: str | None = None, limit: int | None = None) -> list[RunSummary]:
    return open_store(cwd).list_runs(status=status, limit=limit)


def reruns_of(cwd: Path, run_id: str) -> list[RunSummary]:
    """The reruns of `run_id`, newest first, with their verdicts."""
    return open_store(cwd).reruns_of(run_id)


def show(cwd: Path, ref: str) -> tuple[RunRecord, str]:
    """The record of run `ref` and its effective status (a dead supervisor reads as crashed)."""
    store = open_store(cwd)
    run_id = store.resolve(ref)
    record = store.load_record(run_id)
    status = store.effective_status(record)
    if status == CRASHED and (pids := store.leftover_processes(run_id)):
        status += f" (its processes are still alive: pid {', '.join(map(str, pids))})"
    return record, status
