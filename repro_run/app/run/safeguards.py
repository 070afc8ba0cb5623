"""Checks around a run that keep its record honest: secrets in the patch, edits during the run,
data or outputs that are the store itself, a command that could not start, and a final record
that could not be written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from repro_run.app.progress import Reporter
from repro_run.capture import git
from repro_run.core.constants import ENV_HOME, RUN_PATCH_FILENAME, STORE_DIRNAME
from repro_run.core.errors import (
    CommandNotExecutableError,
    CommandNotFoundError,
    ReproError,
    UsageError,
)
from repro_run.core.record import replace
from repro_run.models import (
    SECRET_IN_PATCH,
    TAINTED,
    DirtyPath,
    ProcessResult,
    RunRecord,
    TreeStatus,
)
from repro_run.store import Store, store_dir_of

_FINDINGS_SHOWN = 5


def with_patch_findings(record: RunRecord, run_dir: Path, secrets: Collection[str]) -> RunRecord:
    """Flag `secret_in_patch` when the stored --allow-dirty patch looks like it holds a secret."""
    try:
        patch = (run_dir / RUN_PATCH_FILENAME).read_bytes()
    except FileNotFoundError:
        return record
    from repro_run.capture.secretscan import scan_patch  # only a dirty run has a patch

    findings = scan_patch(patch, secrets)
    if not findings:
        return record
    return replace(record, flags=_add(record.flags, SECRET_IN_PATCH), secret_findings=findings)


def warn_patch_findings(record: RunRecord, reporter: Reporter) -> None:
    if not record.secret_findings:
        return
    where = ", ".join(f"{f.path}:{f.line}" for f in record.secret_findings[:_FINDINGS_SHOWN])
    more = len(record.secret_findings) - _FINDINGS_SHOWN
    reporter.warn(
        f"the --allow-dirty patch looks like it holds a secret ({where}"
        + (f" and {more} more" if more > 0 else "")
        + f"); the run is flagged {SECRET_IN_PATCH} and will not be exported"
    )


def code_changes(
    root: Path, before: TreeStatus, after: Callable[[], TreeStatus], run_dir: Path
) -> list[DirtyPath] | ReproError:
    """Re-check the tree after the run (`after`: its status, from `git.start_tree_status` as
    the command exited): a tracked file edited (or HEAD moved) since the dirty check means the
    recorded code is not what ran (scenario E60). New untracked files are the run's outputs,
    not code changes. An error is returned, for `flag_taint` to record."""
    try:
        return _changed(before, without_store(after(), root), root, run_dir)
    except ReproError as exc:
        return exc


def flag_taint(
    record: RunRecord, changed: list[DirtyPath] | ReproError, reporter: Reporter
) -> RunRecord:
    """The record flagged `tainted` when `code_changes` found changes (a problem if it failed)."""
    if isinstance(changed, ReproError):
        return replace(record, problems=(*record.problems, f"tree not re-checked: {changed}"))
    if not changed:
        return record
    shown = ", ".join(entry.path for entry in changed[:_FINDINGS_SHOWN])
    reporter.warn(
        f"the code changed while the run ran ({shown}); the run is flagged {TAINTED}: "
        "its recorded commit and patch may not be what ran"
    )
    return replace(record, flags=_add(record.flags, TAINTED), tainted_paths=tuple(changed))


def _changed(before: TreeStatus, after: TreeStatus, root: Path, run_dir: Path) -> list[DirtyPath]:
    tracked_after = [entry for entry in after.dirty if entry.state != "untracked"]
    if after.commit != before.commit:
        return [DirtyPath("HEAD", f"moved to {after.commit[:12]}"), *tracked_after]
    known = {(entry.path, entry.state) for entry in before.dirty}
    changed = [entry for entry in tracked_after if (entry.path, entry.state) not in known]
    if before.is_dirty and not changed:
        # Dirty before and after: the same paths may hold other edits; the patch tells.
        stored = run_dir / RUN_PATCH_FILENAME
        if stored.exists() and git.dirty_patch(root) != stored.read_bytes():
            changed = tracked_after or list(after.dirty)
    return changed


def without_store(status: TreeStatus, root: Path) -> TreeStatus:
    """The status minus the store's own files. `.repro/` ignores itself (its `.gitignore`, and
    `info/exclude`), but a store being created by a concurrent first run is briefly visible."""
    store = store_dir_of(root)
    if not (store == root or root in store.parents):
        return status
    prefix = store.relative_to(root).as_posix() + "/"
    kept = tuple(e for e in status.dirty if not (e.path + "/").startswith(prefix))
    return status if len(kept) == len(status.dirty) else replace(status, dirty=kept)


def refuse_store_paths(store: Path, named: Iterable[tuple[str, str, Path]]) -> None:
    """UsageError for a data or output path (origin, as shown, absolute) inside the store, or
    holding a store the walks would enter: the run would hash or archive its own store.
    The walks skip a directory named `.repro`, so `--outputs .` over the default store is fine."""
    real_store = Path(os.path.realpath(store))
    for origin, shown, path in named:
        real = Path(os.path.realpath(path))
        if real == real_store or real_store in real.parents:
            where = "" if real == real_store else "inside "
            raise UsageError(
                f"{origin} {shown} is {where}repro's store ({store}), which holds the runs "
                "themselves: name a path outside it"
            )
        if real in real_store.parents and real_store.name != STORE_DIRNAME:
            raise UsageError(
                f"{origin} {shown} holds repro's store ({store}, from {ENV_HOME}): name a path "
                f"that does not contain it, or set {ENV_HOME} outside it"
            )


def not_started(exc: CommandNotFoundError | CommandNotExecutableError) -> ProcessResult:
    """The result of a command that could not be executed after all: 127 or 126, no output."""
    return ProcessResult(
        exit_code=exc.exit_code,
        signal=None,
        wall_time=0.0,
        cpu_time=0.0,
        peak_rss=None,
        peak_gpu_memory=None,
        stdout_bytes=0,
        stderr_bytes=0,
    )


def interrupted_before_start() -> ProcessResult:
    """Ctrl-C before the command started: nothing ran, the run is `interrupted` (130)."""
    return replace(not_started(CommandNotFoundError("")), exit_code=130, stop_reason="SIGINT")


def write_final(store: Store, record: RunRecord, reporter: Reporter) -> RunRecord:
    """Write the final record; when the store refuses (disk full), say so and keep the child's
    exit status: the command's own result matters more than repro's bookkeeping."""
    try:
        store.write_record(record, index=False)  # `list` indexes it
    except ReproError as exc:
        reporter.warn(
            f"the final record of run {record.id} could not be written ({exc}); "
            "it will show as crashed"
        )
        return replace(record, problems=(*record.problems, f"final record not written: {exc}"))
    return record


def _add(flags: tuple[str, ...], flag: str) -> tuple[str, ...]:
    return flags if flag in flags else (*flags, flag)
