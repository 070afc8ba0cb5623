"""The verdict screen of `repro rerun`: one screen that says whether a run reproduced, and why not.

Plain lines (no tables) so the screen reads the same in a terminal, a CI log or a pipe.
"""

from __future__ import annotations

from collections.abc import Sequence

from repro_run.core.humanize import distinct_numbers, printable
from repro_run.models import (
    SUCCEEDED,
    VERDICT_DIVERGED,
    VERDICT_FAILED,
    VERDICT_IDENTICAL,
    VERDICT_WITHIN_TOLERANCE,
    RunRecord,
    Verdict,
)
from repro_run.ui.console import format_duration

NONDETERMINISTIC = (
    "Nothing differs between the two records: the program is nondeterministic under these "
    "settings — see `repro doctor`"
)
DETERMINISM_OFF = (
    "Determinism was off (--no-deterministic): nondeterministic kernels (GPU atomics such as "
    "index_add_, autotuned cuDNN algorithms) may also change the bits from run to run; "
    "determinism on is the default."
)
UNDECLARED_DATA = (
    "note: a rerun's worktree holds what git tracks at the recorded commit (and its patch) "
    "plus the recorded data; a file the run read without `repro run --data` is not there"
)
_MISSING_FILE = ("No such file or directory", "FileNotFoundError")
OUTPUTS_SHOWN = 10
# (metric, runs that logged it, minimum, maximum) of the final values
Spread = tuple[str, int, float, float]


def verdict_lines(original: RunRecord, rerun: RunRecord) -> list[str]:
    v = rerun.verdict
    if v is None:
        return [f"no verdict: rerun {rerun.id} was {rerun.status} before it finished"]
    lines = [f"{v.outcome}: {_headline(original, rerun, v)}", f"  {v.reason}"]
    lines.append("  " + _judged(v))
    if v.first_divergence is not None and v.outcome != VERDICT_IDENTICAL:
        d = v.first_divergence
        step = f"step {d.step}" if d.step is not None else "first value without a step"
        if d.original is not None and d.rerun is not None:
            was, now = distinct_numbers(d.original, d.rerun)
        else:
            was, now = _num(d.original), _num(d.rerun)
        lines.append(
            f"  first divergence: {d.metric} at {step}: original {was}, "
            f"rerun {now} (rtol {v.rtol:g}, atol {v.atol:g})"
        )
    if v.metrics_differ and v.outcome != VERDICT_IDENTICAL:
        lines.append(f"  metrics that differ: {', '.join(v.metrics_differ)}")
    if v.outputs_differ:
        lines.append(f"  output files that differ ({len(v.outputs_differ)}):")
        lines += _at_most(v.outputs_differ)
    if v.outputs_equal_but:
        lines.append(f"  output files compared by content ({len(v.outputs_equal_but)}):")
        lines += _at_most(v.outputs_equal_but)
    if v.outputs_paired:
        lines.append("  output files paired across the runs (names with run-specific parts):")
        lines += _at_most(v.outputs_paired)
    if v.outputs_ignored:
        lines.append(f"  output files ignored ({len(v.outputs_ignored)}), not compared:")
        lines += _at_most(v.outputs_ignored)
    if (
        v.log_difference is not None
        and v.logs_equal is False
        and (v.judged_on == ("log",) or v.outcome == VERDICT_FAILED)
    ):
        diff = v.log_difference
        lines += [
            f"  first log difference, line {diff.line}:",
            f"    original: {diff.original}",
            f"    rerun:    {diff.rerun}",
        ]
    if v.last_log_line is not None:
        lines.append(f"  the rerun's last log line: {v.last_log_line}")
        if any(marker in v.last_log_line for marker in _MISSING_FILE):
            lines.append(f"  {UNDECLARED_DATA}")
    if v.causes:
        lines.append("  likely causes, most likely first:")
        lines += [f"    {i}. {cause}" for i, cause in enumerate(v.causes, 1)]
        recreated = rerun.rerun is not None and rerun.rerun.recreated_env is not None
        if not recreated and any(cause.startswith("packages:") for cause in v.causes):
            lines.append(
                f"  repro rerun --recreate-env {original.id} runs it in the recorded packages"
            )
    elif v.outcome in (VERDICT_DIVERGED, VERDICT_WITHIN_TOLERANCE):
        lines.append(f"  {NONDETERMINISTIC}{_unrecorded(rerun)}")
        if not original.determinism.deterministic:
            lines.append(f"  {DETERMINISM_OFF}")
    return lines


def _headline(original: RunRecord, rerun: RunRecord, v: Verdict) -> str:
    """What the verdict says first: a changed exit status, a failure that reproduced, or
    whether the rerun reproduced the run."""
    was = original.process.exit_code if original.process else None
    now = rerun.process.exit_code if rerun.process else None
    if was != now:
        return f"exit status {was} → {now}: rerun {rerun.id} did not reproduce run {original.id}"
    if v.outcome == VERDICT_IDENTICAL:
        if original.status != SUCCEEDED:
            return f"the failure reproduced (exit {was}): rerun {rerun.id} of run {original.id}"
        return f"rerun {rerun.id} reproduced run {original.id}"
    did = (
        "did not reproduce bit for bit"
        if v.outcome == VERDICT_WITHIN_TOLERANCE
        else "did not reproduce"
    )
    return f"rerun {rerun.id} {did} run {original.id}"


def _at_most(paths: tuple[str, ...]) -> list[str]:
    shown = paths[:OUTPUTS_SHOWN]
    more = len(paths) - len(shown)
    return [f"    {path}" for path in shown] + ([f"    … and {more} more"] if more else [])


def _unrecorded(rerun: RunRecord) -> str:
    """What the records cannot compare: variables kept by name only may have changed value."""
    names = rerun.env.names_only
    if not names:
        return "."
    return (
        f" — or it reads one of the {len(names)} environment variables recorded by name only "
        "(their values are not stored, so a changed value cannot show here)."
    )


def times_lines(
    original: RunRecord, reruns: Sequence[RunRecord], spreads: Sequence[Spread]
) -> list[str]:
    """The summary of `--times N`: each verdict, the spread per metric, and a plain statement."""
    judged = [r for r in reruns if r.verdict is not None]
    outcomes = [r.verdict.outcome for r in judged if r.verdict is not None]
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes))
    lines = [f"{len(judged)} rerun(s) of run {original.id}: {counts or 'none finished'}"]
    for r in reruns:
        v = r.verdict
        took = format_duration(r.process.wall_time) if r.process else "-"
        lines.append(f"  {r.id}  {v.outcome if v else r.status:<16}  {took}")
    if spreads:
        lines.append("final metric values over the original and the reruns:")
        names = [printable(s[0]) for s in spreads]  # escaped before the column is measured
        width = max(map(len, names))
        for name, (_, runs, low, high) in zip(names, spreads, strict=True):
            lines.append(
                f"  {name:<{width}}  min {low:.6g}  max {high:.6g}  spread {high - low:.3g}"
                f"  ({runs} runs)"
            )
    if judged and all(o == VERDICT_IDENTICAL for o in outcomes):
        lines.append(
            f"Deterministic here: all {len(judged)} rerun(s) reproduced the original bit for bit."
        )
    elif judged:
        varying = [s[0] for s in spreads if s[3] != s[2]]
        what = f" ({', '.join(varying)} vary)" if varying else ""
        lines.append(
            f"Not deterministic here: the reruns did not all reproduce the original{what}."
        )
    return lines


def _judged(v: Verdict) -> str:
    if v.judged_on == ("log",):
        return "judged on the log (the run declares no outputs and logs no metrics; timings masked)"
    logs = {True: "logs equal", False: "logs differ", None: "a log is missing"}[v.logs_equal]
    return f"judged on {' and '.join(v.judged_on)}; {logs} (timings masked)"


def _num(value: float | None) -> str:
    return "(missing)" if value is None else f"{value!r}"
