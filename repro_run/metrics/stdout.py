"""Metrics from a program's printed lines: `loss: 0.53`, `loss=0.53`, `step 10 loss 0.53`,
Keras' `- loss: 0.53 - accuracy: 0.81`, the `{'loss': 0.53, 'epoch': 1.0}` Hugging Face prints.

Read from the log as the verdict sees it (final screen, timings masked), only when the run left
no other metrics. A name is taken with an explicit `:` or `=`; bare `name value` pairs only when
the whole line is such pairs, so `Downloading 3 files` is no metric. A line with only a step
(`step: 10`, Guild AI's convention) gives the step of the lines after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from repro_run.core.constants import TIME_MASK
from repro_run.metrics.series import STEP_KEYS, Series, add_row, as_step

MAX_STDOUT_METRICS = 100  # distinct names: a log that prints `file_12: 3` per file is no curve
_NAME = r"[A-Za-z_](?:[\w./-]*\w)?"
_VALUE = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?i:nan|inf)"
_EXPLICIT = re.compile(
    rf"(?<![\w./-])['\"]?(?P<name>{_NAME})['\"]?\s*[:=]\s*(?P<value>{_VALUE})(?![\w.])"
)
_BARE_PAIR = rf"{_NAME}\s+(?:{_VALUE})"
_BARE_LINE = re.compile(rf"\s*{_BARE_PAIR}(?:[\s,;|]+{_BARE_PAIR})*[\s,;|]*")
_BARE = re.compile(rf"(?P<name>{_NAME})\s+(?P<value>{_VALUE})(?![\w.])")
_STEP = re.compile(r"(?i)\b(?P<name>step|global_step|iteration|iter)\s+(?P<value>\d+)\b")
# A timing the log's masking left (`(<time>)`, `| <time>`, `time: <time>`), with its label and
# brackets: gone, the rest of `step 10 loss 0.53 (1.9 ms/step)` is the bare pairs it reads as.
_MASKED_TIMING = re.compile(
    rf"[\s,;|]*[(\[]?\s*(?:[A-Za-z_][\w/]*\s*[:=]?\s*)?{re.escape(TIME_MASK)}\s*[)\]]?"
)
# Run-specific counters that printed lines carry: Lightning's progress bar shows the logger's
# version (`v_num=3`), which a rerun's fresh folder numbers anew.
_NOT_METRICS = frozenset({"v_num"})
# Hydra's own log lines: a multirun's launcher prints each job's overrides (`[...][HYDRA] #0 :
# db.timeout=5`): hyperparameters, which as metrics would make a verdict ignore the log.
_HYDRA_LINE = "][HYDRA] "


def parse_log_lines(lines: Iterable[str]) -> tuple[Series, list[str]]:
    series: Series = {}
    step: int | None = None
    dropped: set[str] = set()
    for line in lines:
        row = _row(line)
        if not row:
            continue
        own_step = next((as_step(row[k]) for k in STEP_KEYS if k in row), None)
        if own_step is not None and len(row) == 1:
            step = own_step  # a line that only says the step
            continue
        if own_step is None and step is not None:
            row = {"step": step, **row}
        for name in [n for n in row if n not in series and n not in STEP_KEYS]:
            if len(series) >= MAX_STDOUT_METRICS:
                dropped.add(name)
                del row[name]
        add_row(series, row)
    if not dropped:
        return series, []
    return series, [
        f"the log names more than {MAX_STDOUT_METRICS} metrics; {len(dropped)} not read"
    ]


def _row(line: str) -> dict[str, object]:
    if _HYDRA_LINE in line:
        return {}
    line = _MASKED_TIMING.sub(" ", line)
    pairs = [(m["name"], m["value"]) for m in _EXPLICIT.finditer(line)]
    if not pairs and _BARE_LINE.fullmatch(line):
        pairs = [(m["name"], m["value"]) for m in _BARE.finditer(line)]
    elif pairs:
        pairs += [(m["name"].lower(), m["value"]) for m in _STEP.finditer(line)]
    row: dict[str, object] = {}
    for name, value in pairs:
        if name not in _NOT_METRICS:
            row.setdefault(name, float(value))
    return row
