"""`repro list` and `repro show`: reading the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from repro_run.capture import git
from repro_run.models import CRASHED, RunRecord, RunSummary
from repro_run.store import Store, find_store_dir

Warn = Callable[[str], None]  # told of each record a listing skips (it names the run)


def open_store(cwd: Path, warn: Warn | None = None) -> Store:
    store_dir = find_store_dir(cwd)
    if store_dir is None:
        git.find_work_tree(cwd)  # raises the "not a git repository" error with its advice
        raise AssertionError("unreachable")
    return Store.open(store_dir, warn=warn)


def list_runs(
    cwd: Path, status: str | None = None, limit: int | None = None, warn: Warn | None = None
) -> list[RunSummary]:
    return open_store(cwd, warn).list_runs(status=status, limit=limit)


def reruns_of(cwd: Path, run_id: str, warn: Warn | None = None) -> list[RunSummary]:
    """The reruns of `run_id`, newest first, with their verdicts."""
    return open_store(cwd, warn).reruns_of(run_id)


def show(cwd: Path, ref: str) -> tuple[RunRecord, str]:
    """The record of run `ref` and its effective status (a dead supervisor reads as crashed)."""
    store = open_store(cwd)
    run_id = store.resolve(ref)
    record = store.load_record(run_id)
    status = store.effective_status(record)
    if status == CRASHED and (pids := store.leftover_processes(run_id)):
        status += f" (its processes are still alive: pid {', '.join(map(str, pids))})"
    return record, status
