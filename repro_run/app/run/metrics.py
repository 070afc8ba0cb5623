"""After a run: read what it logged (REPRO_METRICS, --metrics-file) and store it canonically."""

from __future__ import annotations

from pathlib import Path

from repro_run.app.run.written import BeforeRun
from repro_run.core.constants import ENV_METRICS, RUN_METRICS_FILENAME
from repro_run.core.errors import MetricsFileError, StoreError
from repro_run.metrics.read import SUFFIXES, metrics_format, read_metrics
from repro_run.metrics.series import (
    Series,
    decode_series,
    encode_series,
    final_values,
    point_count,
)
from repro_run.models import MetricsRef
from repro_run.store import Store


def check_metrics_file(path: str | None) -> None:
    """Preflight: the format of --metrics-file must be known before anything runs."""
    if path is not None and metrics_format(path) is None:
        known = ", ".join(sorted(SUFFIXES))
        raise MetricsFileError(f"--metrics-file {path}: unknown format (use a file ending {known})")


def collect_metrics(
    store: Store, run_dir: Path, cwd: Path, metrics_file: str | None, before: BeforeRun
) -> tuple[MetricsRef | None, list[str]]:
    """The run's metrics stored as an object, and problems reading them (never raises). A
    metrics file the run did not write (its stat key as in `before`) is an earlier run's."""
    series: Series = {}
    problems: list[str] = []
    sources = []
    logged = run_dir / RUN_METRICS_FILENAME
    if logged.exists():
        found, trouble = read_metrics(logged, "jsonl")
        series.update(found)
        problems += trouble
        sources.append(ENV_METRICS)
    if metrics_file is not None and before.untouched_file(cwd / metrics_file):
        problems.append(
            f"--metrics-file {metrics_file} was not written during the run: not read "
            "(what it holds is an earlier run's)"
        )
    elif metrics_file is not None:
        found, trouble = read_metrics(cwd / metrics_file, metrics_format(metrics_file) or "jsonl")
        series.update(found)  # the script's own file wins a name clash: it chose to write it
        problems += trouble
        sources.append(metrics_file)
    if not series:
        return None, problems
    try:
        stored = store.put_bytes(encode_series(series))
    except StoreError as exc:  # the store went away or filled up: the run keeps its status
        return None, [*problems, f"metrics not stored: {exc}"]
    ref = MetricsRef(
        source=" + ".join(sources),
        object=stored,
        points=point_count(series),
        final=final_values(series),
    )
    return ref, problems


def load_series(store: Store, ref: MetricsRef | None) -> Series:
    """A run's stored metrics; empty when it logged none."""
    return {} if ref is None else decode_series(store.get_bytes(ref.object))
