"""`repro_run.log_metrics(step=..., **values)`: append one row to the run's REPRO_METRICS file."""

from __future__ import annotations

import json
import os
import sys

from repro_run.core.constants import ENV_METRICS

_unwritable: list[str] = []  # the first write error of this process, once said on stderr


def log_metrics(step: int | None = None, **values: float) -> None:
    """Record metric values (at `step`) for the current repro run; a no-op outside one.

    Values may be anything `float()` accepts (NumPy scalars, 0-d tensors). Each call appends
    one JSON line with a single `write` in append mode, so rows from several processes do not
    interleave within a line. A row that cannot be written (the store removed, the disk
    full) never raises into the training loop: the first failure is said once on stderr,
    which the run's log keeps, and later rows are tried again.
    """
    path = os.environ.get(ENV_METRICS)
    if not path:
        return  # not under `repro run`: the script still runs unchanged
    row: dict[str, object] = {}
    if step is not None:
        row["step"] = int(step)
    for name, value in values.items():
        row[name] = float(value)  # NaN/Infinity are written as Python's JSON writes them
    line = json.dumps(row, separators=(",", ":")) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        if not _unwritable:
            _unwritable.append(f"{path}: {exc.strerror}")
            import contextlib  # only on failure: this module runs in the user's process

            with contextlib.suppress(AttributeError, OSError, ValueError):  # no usable stderr
                sys.stderr.write(
                    f"repro_run.log_metrics: metrics cannot be written ({_unwritable[0]}); "
                    "they are missing from the run's record\n"
                )
