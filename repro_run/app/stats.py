"""`repro stats GROUP|IDs`: per final metric, the spread over a group of runs (or listed runs)."""

from __future__ import annotations

from pathlib import Path

from repro_run.app.query import Warn, open_store
from repro_run.errors import RunNotFoundError, UsageError
from repro_run.metrics.variance import metric_stats
from repro_run.models import MetricStats, RunRecord
from repro_run.record import Record
from repro_run.store import Store


class StatsResult(Record):
    group: str | None  # the group asked for, or None for listed runs
    runs: tuple[str, ...]  # the runs summarised, oldest first
    seeds: tuple[int, ...]  # their seeds, in the same order
    metrics: tuple[MetricStats, ...]


def stats(cwd: Path, refs: tuple[str, ...], warn: Warn | None = None) -> StatsResult:
    """A group ID (`grp-…`) alone, or run references like `repro show` takes."""
    if not refs:
        raise UsageError("repro stats needs a group ID or run IDs")
    store = open_store(cwd, warn)
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
    members = [r for r, _ in store.readable_records(store.run_ids()) if r.group == group]
    if not members and group.startswith("grp-"):
        raise RunNotFoundError(f"no run belongs to group {group}")
    return sorted(members, key=lambda r: (r.created, r.id))  # IDs sort to the second only
