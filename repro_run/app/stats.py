"""`repro stats GROUP|IDs`: per final metric, the spread over a group of runs (or listed runs)."""

from __future__ import annotations

from pathlib import Path

from repro_run.app.query import open_store
from repro_run.constants import RUN_RECORD_FILENAME
from repro_run.errors import ReproError, RunNotFoundError, UsageError
from repro_run.metrics.variance import metric_stats
from repro_run.models import MetricStats, RunRecord
from repro_run.record import Record
from repro_run.store import Store
from repro_run.store.records import read_record


class StatsResult(Record):
    group: str | None  # the group asked for, or None for listed runs
    runs: tuple[str, ...]  # the runs summarised, oldest first
    seeds: tuple[int, ...]  # their seeds, in the same order
    metrics: tuple[MetricStats, ...]


def stats(cwd: Path, refs: tuple[str, ...]) -> StatsResult:
    """A group ID (`grp-…`) alone, or run references like `repro show` takes."""
    if not refs:
        raise UsageError("repro stats needs a group ID or run IDs")
    store = open_store(cwd)
    group = refs[0] if len(refs) == 1 else None
    records = _group_members(store, group) if group is not None else []
    if not records:
        group = None
        records = [store.load_record(store.resolve(ref)) for ref in refs]
    finals = [r.metrics.final if r.metrics is not None else {} for r in records]
    return StatsResult(
        group,
        tuple(r.id for r in records),
        tuple(r.determinism.seed for r in records),
        tuple(metric_stats(finals)),
    )


def _group_members(store: Store, group: str) -> list[RunRecord]:
    members = []
    for run_id in store.run_ids():
        try:
            record = read_record(store.run_dir(run_id) / RUN_RECORD_FILENAME, run_id)[0]
        except (OSError, ReproError):
            continue  # starting, or unreadable: `repro fsck` reports those
        if record.group == group:
            members.append(record)
    if not members and group.startswith("grp-"):
        raise RunNotFoundError(f"no run belongs to group {group}")
    return sorted(members, key=lambda r: (r.created, r.id))  # IDs sort to the second only
