"""`repro report GROUP|ID...`: gather what the HTML report shows (rendering: `report_html`).

The runs' records and effective statuses, their reruns and verdicts, the environment diff of
each run against the first (`repro diff`'s ranked comparison), the metric curves from the
stored objects, and the spread of the final metrics (`repro stats`'s statistics) over the runs
that are not reruns: a rerun replays its run's seed and inputs, so pooling it with the others
would count one sample twice and understate the spread.
"""

from __future__ import annotations

from repro_run.app.diff import compare_records
from repro_run.app.query import group_or_runs
from repro_run.app.run.metrics import load_series
from repro_run.app.workspace import Workspace
from repro_run.core.errors import UsageError
from repro_run.core.record import Record
from repro_run.metrics.series import Series
from repro_run.metrics.variance import metric_stats
from repro_run.models import MetricStats, RunRecord, RunSummary
from repro_run.models.comparison import RunComparison


class ReportData(Record):
    records: tuple[RunRecord, ...]
    statuses: tuple[str, ...]  # effective status of each run
    reruns: tuple[tuple[RunSummary, ...], ...]  # each run's reruns, with their verdicts
    comparisons: tuple[RunComparison, ...]  # each later run against the first
    curves: tuple[Series, ...]  # each run's metric curves
    stats: tuple[MetricStats, ...]  # the final metrics over the runs that are not reruns
    not_pooled: tuple[RunRecord, ...]  # the reruns left out of `stats`


def build_report(workspace: Workspace, refs: tuple[str, ...]) -> ReportData:
    if not refs:
        raise UsageError("repro report needs a group ID or at least one run ID")
    store = workspace.store()
    records: list[RunRecord] = []
    for record in group_or_runs(store, refs)[1]:
        if all(r.id != record.id for r in records):
            records.append(record)
    pooled = [r for r in records if r.rerun_of is None]
    first = records[0]
    return ReportData(
        records=tuple(records),
        statuses=tuple(store.effective_status(r) for r in records),
        reruns=tuple(tuple(store.reruns_of(r.id)) for r in records),
        # Outside a repository (REPRO_HOME) commits are compared by name.
        comparisons=tuple(compare_records(store, first, r, workspace.root) for r in records[1:]),
        curves=tuple(load_series(store, r.metrics) for r in records),
        stats=tuple(metric_stats([r.metrics.final if r.metrics else {} for r in pooled])),
        not_pooled=tuple(r for r in records if r.rerun_of is not None),
    )
