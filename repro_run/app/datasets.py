"""Datasets: which paths a run fingerprints, their fingerprints, what changed since last time.

A run's datasets are `--data` (else `[tool.repro] data`), plus the arguments and config
values of the command that name existing paths git does not track (`--no-auto-data` turns
that off). Each is fingerprinted by `fingerprint.engine` with the per-machine stat cache,
its manifest stored once as an object named by its digest, and compared with the dataset of
the same path in the last run that recorded one. `repro fingerprint` is `fingerprint_paths`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from repro_run.app.progress import NullReporter, Reporter
from repro_run.capture import git
from repro_run.capture.config import ParsedConfig
from repro_run.core.errors import DataChangedError, DataNotFoundError, ReproError
from repro_run.core.paths import user_cache_dir
from repro_run.core.record import Record, replace
from repro_run.fingerprint import sources
from repro_run.models import FingerprintReport, TreeRef
from repro_run.store import Store

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:  # the engine is imported when there is data: a run without any stays quick
    from repro_run.fingerprint.engine import Fingerprint

_RUNS_SEARCHED = 20  # how far back "the last run over this dataset" is looked for
_GIVEN, _CONFIGURED = "--data", "[tool.repro] data"  # the origins of data named as data
_CHANGED_PATHS_SHOWN = 10


class DataSource(Record):
    path: Path  # absolute, normalised (a symlinked dataset keeps its name)
    display: str  # as recorded: relative to the repository root when inside it
    origin: str  # "--data", "[tool.repro] data", "argument --train-dir", "cfg.yaml: data.root"


def select_data(
    *,
    given: Sequence[str],
    configured: Sequence[str],
    cwd: Path,
    root: Path,
    argv: Sequence[str],
    configs: Sequence[ParsedConfig],
    outputs: Sequence[Path],
    store: Path,
    auto: bool,
) -> tuple[DataSource, ...]:
    """The run's datasets; DataNotFoundError for a given or configured path that is missing."""
    explicit = [_source(cwd, v, root, _GIVEN) for v in given] or [
        _source(root, v, root, _CONFIGURED) for v in configured
    ]
    for source in explicit:
        if not os.path.lexists(source.path):
            raise DataNotFoundError(
                f"data path not found: {source.display} (check {source.origin})"
            )
    if not auto:
        return tuple(explicit)
    candidates = sources.from_arguments(argv, cwd)
    for config in configs:
        candidates += sources.from_config(config.path, config.params, cwd)
    chosen = [s.path for s in explicit]
    candidates = [c for c in candidates if not sources.nested(c.path, chosen)]
    keep_out = [root / ".git", store, *outputs]
    keep_out += [cwd / c.path for c in configs]
    candidates = sources.plausible(
        candidates, keep_out=keep_out, never_above=[root, cwd, Path.home()]
    )
    in_repository = [
        rel for c in candidates if (rel := sources.repository_path(c.path, root)) is not None
    ]
    tracked = git.tracked_paths(root, in_repository) if in_repository else []
    candidates = sources.untracked(candidates, root, tracked)
    found = [
        _source(c.path, "", root, c.origin)
        for c in candidates
        if not sources.nested(c.path, [o.path for o in candidates if o is not c])
    ]
    return (*explicit, *found)


def _source(base: Path, value: str, root: Path, origin: str) -> DataSource:
    path = Path(os.path.normpath(base / os.path.expanduser(value)))
    inside = path == root or root in path.parents
    return DataSource(path, path.relative_to(root).as_posix() if inside else str(path), origin)


def fingerprint_data(
    store: Store,
    datasets: Sequence[DataSource],
    reporter: Reporter,
    *,
    skip_unreadable: bool = False,
) -> tuple[TreeRef, ...]:
    """Fingerprint each dataset, store its manifest once, report it and what changed."""
    refs = []
    for source in datasets:
        fp = _fingerprint(source.path, source.display, reporter, skip_unreadable)
        object_name = store.put_bytes(fp.manifest)  # == fp.digest: one object per dataset
        ref = TreeRef(
            source.display,
            fp.digest,
            fp.files,
            fp.bytes,
            object_name,
            fp.skipped + tuple(f"unreadable: {note}" for note in fp.unreadable),
            source.origin,
        )
        reporter.dataset(ref, fp.seconds, fp.cached_files)
        _report_change(store, ref, fp.manifest, reporter)
        refs.append(ref)
    return tuple(refs)


def without_written(
    datasets: Sequence[DataSource], refs: Sequence[TreeRef], reporter: Reporter
) -> tuple[TreeRef, ...]:
    """`refs` less each path found among the arguments or configs that the run wrote into:
    a folder the program fills (`--save-dir ckpt`) is an output, and recorded as data it
    would make every rerun refuse with "data changed". Taken after the run, with the stat
    cache: only what changed is read again. Data named with `--data` stays data."""
    kept = []
    for source, ref in zip(datasets, refs, strict=True):
        if source.origin not in (_GIVEN, _CONFIGURED) and _written(source.path, ref):
            reporter.warn(
                f"{source.display} ({source.origin}) changed during the run: an output, not "
                "data, so not recorded as data (name it in --outputs to archive it)"
            )
            continue
        kept.append(ref)
    return tuple(kept)


def _written(path: Path, ref: TreeRef) -> bool:
    from repro_run.fingerprint.engine import fingerprint

    try:
        now = fingerprint(path, cache_dir=user_cache_dir(), skip_unreadable=True)
    except (DataNotFoundError, DataChangedError):  # removed, or what the run left writes on
        return True
    except ReproError:
        return False  # cannot be read again: nothing says the run wrote there
    return now.digest != ref.digest


def _fingerprint(
    path: Path, display: str, reporter: Reporter, skip_unreadable: bool, use_cache: bool = True
) -> Fingerprint:
    from repro_run.fingerprint.engine import fingerprint

    display_progress = reporter.progress(f"hashing {display}")
    try:
        fp = fingerprint(
            path,
            cache_dir=user_cache_dir() if use_cache else None,
            progress=display_progress,
            skip_unreadable=skip_unreadable,
        )
    finally:
        display_progress.close()
    for note in fp.skipped:
        reporter.warn(f"{display}: skipped, never read ({note})")
    for note in fp.unreadable:
        reporter.warn(f"{display}: unreadable, recorded without a hash: {note}")
    if fp.cache_problem:
        reporter.warn(fp.cache_problem)
    return fp


def _report_change(store: Store, ref: TreeRef, manifest: bytes, reporter: Reporter) -> None:
    previous = _previous_dataset(store, ref.path)
    if previous is None or previous[1].digest == ref.digest:
        return
    from repro_run.fingerprint.diff import diff_encoded, file_changes

    run_id, old = previous
    try:
        diff = diff_encoded(store.get_bytes(old.manifest_object), manifest)
    except (ReproError, ValueError):
        return  # the old manifest is gone or damaged: nothing to compare with
    reporter.data_changed(ref, run_id, file_changes(diff, _CHANGED_PATHS_SHOWN))


def _previous_dataset(store: Store, path: str) -> tuple[str, TreeRef] | None:
    """The newest earlier run (of the last few) that fingerprinted a dataset at `path`."""
    for run_id in reversed(store.run_ids()[-_RUNS_SEARCHED:]):
        try:
            record = store.load_record(run_id)
        except ReproError:
            continue  # a run being created, or an unreadable record: look further back
        for ref in record.data:
            if ref.path == path:
                return run_id, ref
    return None


def fingerprint_paths(
    paths: Sequence[str],
    cwd: Path,
    *,
    skip_unreadable: bool = False,
    use_cache: bool = True,
    with_entries: bool = False,
    reporter: Reporter | None = None,
) -> list[FingerprintReport]:
    """`repro fingerprint PATH...`: each path's digest and counts (`with_entries`: manifest)."""
    reporter = reporter or NullReporter()
    resolved = [(p, Path(os.path.normpath(cwd / os.path.expanduser(p)))) for p in paths]
    for given, path in resolved:
        if not os.path.lexists(path):
            raise DataNotFoundError(f"path not found: {given} (check the path)")
    reports = []
    for given, path in resolved:
        fp = _fingerprint(path, given, reporter, skip_unreadable, use_cache)
        report = FingerprintReport(
            path=given,
            root=fp.root,
            digest=fp.digest,
            files=fp.files,
            bytes=fp.bytes,
            seconds=fp.seconds,
            hashed_files=fp.hashed_files,
            hashed_bytes=fp.hashed_bytes,
            cached_files=fp.cached_files,
            skipped=fp.skipped,
            unreadable=fp.unreadable,
        )
        if with_entries:
            from repro_run.fingerprint.manifest import decode_manifest

            report = replace(report, entries=decode_manifest(fp.manifest))
        reports.append(report)
    return reports
