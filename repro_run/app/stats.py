"""`repro stats GROUP|IDs`: per final metric, the spread over a group of runs (or listed runs)."""

from __future__ import annotations

from repro_run.app.query import group_or_runs
from repro_run.app.workspace import Workspace
from repro_run.core.errors import UsageError
from repro_run.core.record import Record
from repro_run.metrics.variance import metric_stats
from repro_run.models import MetricStats


class StatsResult(Record):
    group: str | None  # the group asked for, or None for listed runs
    runs: tuple[str, ...]  # the runs summarised, oldest first
    seeds: tuple[int, ...]  # their seeds, in the same order
    metrics: tuple[MetricStats, ...]


def stats(workspace: Workspace, refs: tuple[str, ...]) -> StatsResult:
    """A group ID (`grp-…`) alone, or run references like `repro show` takes."""
    if not refs:
        raise UsageError("repro stats needs a group ID or run IDs")
    group, records = group_or_runs(workspace.store(), refs)
    finals = [r.metrics.final if r.metrics is not None else {} for r in records]
    return StatsResult(
        group,
        tuple(r.id for r in records),
        tuple(r.determinism.seed for r in records),
        tuple(metric_stats(finals)),
    )
