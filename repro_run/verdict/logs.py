"""Logs as evidence: timings masked, progress-bar redraws collapsed, then compared line by line.

Most scripts declare no outputs and log no metrics; their log is what they computed. What
varies between identical runs is masked first: numbers with a time unit (`0.16s`, `12 ms`,
`30.1it/s`), numbers labelled as a time (`time: 3.2`, `elapsed 4`, `ms/batch 12.3`), clock
durations (`00:01<00:02`, tqdm) and timestamps (`2026-01-01 12:00:00`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from repro_run.core.constants import TIME_MASK
from repro_run.core.record import Record
from repro_run.models import MAX_TEXT, LogDifference
from repro_run.verdict.metrics import within
from repro_run.verdict.screen import screen_lines

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_UNIT = (
    r"(?:ns|us|µs|ms|s|sec|secs|second|seconds|min|mins|minute|minutes|h|hr|hrs|hour|hours"
    r"|it/s|s/it|ms/it|ms/step|ms/batch|s/step|s/batch|samples/s|tokens/s|img/s|steps/s)"
)
_TIMINGS = re.compile(
    "|".join(
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
            r"\b\d+:\d{2}(?::\d{2})?(?:\.\d+)?\b",  # 00:01, 1:02:03 (tqdm, clocks)
            rf"(?<![\w.]){_NUMBER}\s?{_UNIT}(?![\w/])",  # 0.16s, 12 ms, 30.1it/s
            # labelled: `time: 3.2`, `elapsed 4`, `ms/batch 12.3` (the label is kept)
            rf"(?P<label>(?i:\b(?:time|elapsed|duration|took|runtime|latency|eta)\b|ms/batch"
            rf"|s/batch)\s*[:=]?\s*){_NUMBER}(?:\s?{_UNIT}(?![\w/]))?",
        )
    )
)
_NUMBER_TOKEN = re.compile(rf"(?<![\w.]){_NUMBER}(?![\w])")


class LogComparison(Record):
    equal: bool  # identical after masking
    within_tolerance: bool  # differs only in numbers within rtol/atol (true when equal)
    first: LogDifference | None
    lines: int  # lines in the original log, after masking
    rerun_last_line: str | None = None


def _mask(line: str) -> str:
    return _TIMINGS.sub(lambda m: (m.group("label") or "") + TIME_MASK, line)


def normalize_log(data: bytes, replacements: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The log's lines as a reader sees them at the end, timings masked.

    `replacements` turn run-specific strings (run ID, run and worktree directories) into
    common placeholders first. A line rewritten with `\\r` keeps its final state.
    """
    text = data.decode("utf-8", "replace")
    for old, new in replacements:
        if old:
            text = text.replace(old, new)
    lines = list(screen_lines(text))
    if lines and lines[-1] == "":
        lines.pop()
    return [_mask(line) for line in lines]


def compare_logs(
    original: Sequence[str], rerun: Sequence[str], rtol: float, atol: float
) -> LogComparison:
    first_difference: LogDifference | None = None
    beyond: LogDifference | None = None
    for index in range(max(len(original), len(rerun))):
        both = index < len(original) and index < len(rerun)
        a = original[index] if index < len(original) else ""
        b = rerun[index] if index < len(rerun) else ""
        if both and a == b:
            continue
        # A record holds at most MAX_TEXT characters a string (models.codec): clip a huge line.
        difference = LogDifference(index + 1, a[:MAX_TEXT], b[:MAX_TEXT])
        first_difference = first_difference or difference
        if not (both and _numbers_within(a, b, rtol, atol)):
            beyond = difference
            break
    return LogComparison(
        equal=first_difference is None,
        within_tolerance=beyond is None,
        first=beyond or first_difference,
        lines=len(original),
        rerun_last_line=next((line[:MAX_TEXT] for line in reversed(rerun) if line.strip()), None),
    )


def _numbers_within(a: str, b: str, rtol: float, atol: float) -> bool:
    """Same text around the numbers, and each pair of numbers within tolerance."""
    if _NUMBER_TOKEN.split(a) != _NUMBER_TOKEN.split(b):
        return False
    pairs = zip(_NUMBER_TOKEN.findall(a), _NUMBER_TOKEN.findall(b), strict=True)
    return all(within(float(x), float(y), rtol, atol) for x, y in pairs)
