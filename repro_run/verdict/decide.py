"""The verdict: IDENTICAL, WITHIN TOLERANCE, DIVERGED or FAILED, from the evidence (pure).

Evidence, strongest first: declared outputs (file manifests) and logged metrics. When a run has
neither, its log is the evidence. Likely causes come in already ranked (what differs between
the two records; `repro diff` ranks them the same way).
"""

from __future__ import annotations

from collections.abc import Sequence

from repro_run.core.record import Record
from repro_run.models import (
    SUCCEEDED,
    VERDICT_DIVERGED,
    VERDICT_FAILED,
    VERDICT_IDENTICAL,
    VERDICT_WITHIN_TOLERANCE,
    Verdict,
)
from repro_run.verdict.logs import LogComparison
from repro_run.verdict.metrics import MetricComparison


class Evidence(Record):
    original_status: str
    original_exit: int | None
    rerun_status: str
    rerun_exit: int | None
    outputs_compared: int  # files
    outputs_differ: tuple[str, ...]  # marked "+ ", "- ", "~ "
    has_outputs: bool  # either run declared outputs
    metrics: MetricComparison | None  # None: neither run logged metrics
    log: LogComparison | None  # None: a log is missing
    outputs_paired: tuple[str, ...] = ()  # "outputs/<a>/ ↔ outputs/<b>/"
    # "plots/a.pdf: equal but for its creation date": equal once that is set aside
    outputs_equal_but: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()  # the patterns in force, with their source
    outputs_ignored: tuple[str, ...] = ()  # "logs/a.txt (--ignore logs/**)": not compared


def decide(evidence: Evidence, causes: Sequence[str], rtol: float, atol: float) -> Verdict:
    e = evidence
    judged_on = tuple(
        name
        for name, present in (("outputs", e.has_outputs), ("metrics", e.metrics is not None))
        if present
    ) or ("log",)
    outcome, reason = _outcome(e, judged_on)
    m = e.metrics
    return Verdict(
        outcome=outcome,
        reason=reason,
        judged_on=judged_on,
        rtol=rtol,
        atol=atol,
        metrics_compared=m.compared if m else 0,
        metrics_differ=m.differ if m else (),
        first_divergence=m.first if m else None,
        outputs_compared=e.outputs_compared,
        outputs_differ=e.outputs_differ,
        outputs_paired=e.outputs_paired,
        outputs_equal_but=e.outputs_equal_but,
        ignore=e.ignore,
        outputs_ignored=e.outputs_ignored,
        logs_equal=e.log.equal if e.log else None,
        log_difference=e.log.first if e.log else None,
        causes=tuple(causes) if outcome != VERDICT_IDENTICAL else (),  # why not bit for bit
        last_log_line=e.log.rerun_last_line if e.log and outcome == VERDICT_FAILED else None,
    )


def _outcome(e: Evidence, judged_on: tuple[str, ...]) -> tuple[str, str]:
    if e.original_status == SUCCEEDED and e.rerun_status != SUCCEEDED:
        return (
            VERDICT_FAILED,
            f"the rerun {e.rerun_status} (exit {e.rerun_exit}) where the original succeeded",
        )
    if (e.original_status, e.original_exit) != (e.rerun_status, e.rerun_exit):
        return VERDICT_DIVERGED, (
            f"the original {e.original_status} (exit {e.original_exit}); "
            f"the rerun {e.rerun_status} (exit {e.rerun_exit})"
        )
    outcome, reason = _by_log(e.log) if judged_on == ("log",) else _by_evidence(e)
    if e.original_status == SUCCEEDED:
        return outcome, reason
    # Both ended the same way, and not well: that much reproduced, whatever the evidence says.
    failure = f"the failure reproduced (exit {e.original_exit})"
    return (
        outcome,
        f"{failure}; {reason}" if outcome == VERDICT_IDENTICAL else f"{failure}, but {reason}",
    )


def _by_evidence(e: Evidence) -> tuple[str, str]:
    m = e.metrics
    if m is not None and not m.within_tolerance:
        first = m.first
        assert first is not None
        where = f"step {first.step}" if first.step is not None else "a point without a step"
        return VERDICT_DIVERGED, f"the {first.metric} curves part at {where}"
    # A changed output file is a real difference unless the metrics moved too, within the
    # tolerance: then the files (a checkpoint, a plot of the curve) moved with them. With
    # metrics bit for bit equal, nothing explains it: a changed file is not a tolerance.
    if e.outputs_differ and (m is None or m.bitwise_equal):
        return VERDICT_DIVERGED, f"{len(e.outputs_differ)} output file(s) differ"
    if m is not None and not m.bitwise_equal:
        parts = [f"metrics {', '.join(m.differ)} differ within the tolerance"]
        if e.outputs_differ:
            parts.append(f"{len(e.outputs_differ)} output file(s) differ")
        return VERDICT_WITHIN_TOLERANCE, "; ".join(parts)
    counted = []
    if e.has_outputs:
        counted.append(f"{e.outputs_compared} output file(s)")
    if m is not None:
        counted.append(f"{m.compared} metric value(s)")
    if not e.outputs_equal_but:
        return VERDICT_IDENTICAL, " and ".join(counted) + " bitwise equal"
    return VERDICT_IDENTICAL, (
        " and ".join(counted)
        + f" equal ({len(e.outputs_equal_but)} file(s) but for bytes their writer varies on every run)"
    )


def _by_log(log: LogComparison | None) -> tuple[str, str]:
    if log is None:
        return VERDICT_DIVERGED, "a log is missing"
    if log.equal:
        return VERDICT_IDENTICAL, f"{log.lines} log line(s) equal"
    assert log.first is not None
    if log.within_tolerance:
        return VERDICT_WITHIN_TOLERANCE, (
            f"numbers in the log differ within the tolerance from line {log.first.line}"
        )
    return VERDICT_DIVERGED, f"the log differs from line {log.first.line}"
