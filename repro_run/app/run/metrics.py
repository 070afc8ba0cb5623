"""After a run: read what it logged and store it canonically. The sources, first found first:
--metrics-file (a path or a glob), REPRO_METRICS; when neither gave any, the metrics files it
wrote under its outputs and the usual log folders; when none, the metrics its log printed."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from repro_run.app.run.written import BeforeRun
from repro_run.core.constants import ENV_METRICS, RUN_LOG_FILENAME, RUN_METRICS_FILENAME
from repro_run.core.errors import MetricsFileError, StoreError
from repro_run.core.runparts import as_glob
from repro_run.metrics.read import MAX_METRICS_FILE_BYTES, SUFFIXES, metrics_format, read_metrics
from repro_run.metrics.series import (
    Series,
    decode_series,
    encode_series,
    final_values,
    point_count,
)
from repro_run.metrics.sources import (
    discover_metrics_files,
    expand_metrics_file,
    merge_series,
    source_label,
    written_since,
)
from repro_run.models import MetricsRef
from repro_run.store import Store

STDOUT = "stdout"


def check_metrics_file(path: str | None) -> None:
    """Preflight: the format of --metrics-file must be known before anything runs."""
    if path is not None and metrics_format(path) is None:
        known = ", ".join(sorted(SUFFIXES))
        raise MetricsFileError(
            f"--metrics-file {path}: unknown format (use a file ending {known}, a TensorBoard "
            "events.out.tfevents.* file or trainer_state.json; a glob's last part says the format)"
        )


def collect_metrics(
    store: Store,
    run_dir: Path,
    cwd: Path,
    metrics_file: str | None,
    outputs: Sequence[Path] = (),
    started: str | None = None,
    before: BeforeRun | None = None,
) -> tuple[MetricsRef | None, list[str]]:
    """The run's metrics stored as an object, and problems reading them (never raises).
    `started`: when the run started (ISO 8601); files older than that are an earlier run's.
    `before`: the stat keys taken before launch, which tell exactly whether the run wrote a
    `--metrics-file` it names by path."""
    from datetime import datetime  # after the run: off the launch path (tests/test_entry.py)

    since_ns = 0 if started is None else int(datetime.fromisoformat(started).timestamp() * 1e9)
    series: Series = {}
    sources: dict[str, str] = {}
    named, problems = _named_files(run_dir, cwd, metrics_file, since_ns, before)
    for files in (named, None):
        if files is None:  # nothing named, or nothing read from it: what the run wrote
            files = [
                (path, fmt, source_label(fmt, path, cwd))
                for path, fmt in discover_metrics_files(cwd, outputs, since_ns)
            ]
        for path, fmt, label in files:
            found, trouble = read_metrics(path, fmt)
            merge_series(series, sources, found, label, path.parent.name)
            problems += trouble
        if series:
            break
    if not series:
        found, trouble = _printed_metrics(run_dir / RUN_LOG_FILENAME)
        merge_series(series, sources, found, STDOUT, "")
        problems += trouble
    if not series:
        return None, problems
    try:
        stored = store.put_bytes(encode_series(series))
    except StoreError as exc:  # the store went away or filled up: the run keeps its status
        return None, [*problems, f"metrics not stored: {exc}"]
    ref = MetricsRef(
        source=" + ".join(dict.fromkeys(sources.values())),
        object=stored,
        points=point_count(series),
        final=final_values(series),
        sources=sources,
    )
    return ref, problems


def _named_files(
    run_dir: Path, cwd: Path, metrics_file: str | None, since_ns: int, before: BeforeRun | None
) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """(path, format, source) of --metrics-file (first: the script's own file wins a name
    clash, it chose to write it) and of REPRO_METRICS when the run logged through it."""
    named: list[tuple[Path, str, str]] = []
    problems: list[str] = []
    if metrics_file is not None:
        fmt = metrics_format(metrics_file) or "jsonl"
        paths, problems = expand_metrics_file(cwd, metrics_file, since_ns)
        paths = _this_runs(cwd, metrics_file, paths, since_ns)
        if not glob.has_magic(metrics_file):  # a path: its source is the name it was given as
            if before is not None and before.untouched_file(paths[0]):
                problems.append(
                    f"--metrics-file {metrics_file} was not written during the run: not read "
                    "(what it holds is an earlier run's)"
                )
            else:
                named.append((paths[0], fmt, metrics_file))
        else:
            named += [(path, fmt, source_label(fmt, path, cwd)) for path in paths]
    logged = run_dir / RUN_METRICS_FILENAME
    if logged.exists():
        named.append((logged, "jsonl", ENV_METRICS))
    return named, problems


def _this_runs(cwd: Path, named: str, paths: list[Path], since_ns: int) -> list[Path]:
    """A `--metrics-file` path whose name carries run-specific parts (`version_1`, a date
    folder) that this run did not write: the one file it wrote under the name's other parts
    (a rerun in a fresh worktree writes `version_0`); else `paths` as they are."""
    pattern = None if glob.has_magic(named) else as_glob(named)
    if pattern is None or written_since(paths[0], since_ns):
        return paths
    found, _ = expand_metrics_file(cwd, pattern, since_ns)
    return found if len(found) == 1 else paths


def _printed_metrics(log: Path) -> tuple[Series, list[str]]:
    """Metrics from the log's lines as the verdict reads them (final screen, timings masked)."""
    from repro_run.metrics.stdout import parse_log_lines  # only for a run that logged no metrics
    from repro_run.verdict.logs import normalize_log

    try:
        with log.open("rb") as f:
            data = f.read(MAX_METRICS_FILE_BYTES + 1)
    except OSError:
        return {}, []  # no log (the command never started): nothing printed
    if len(data) > MAX_METRICS_FILE_BYTES:
        return {}, [
            f"the log is larger than {MAX_METRICS_FILE_BYTES} bytes; its lines not read for metrics"
        ]
    return parse_log_lines(normalize_log(data))


def load_series(store: Store, ref: MetricsRef | None) -> Series:
    """A run's stored metrics; empty when it logged none."""
    return {} if ref is None else decode_series(store.get_bytes(ref.object))
