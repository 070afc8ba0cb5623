"""`repro rerun ID`: replay a run exactly in a pristine worktree, then judge whether it reproduced.

Order: resolve the run and refuse what cannot be replayed (unfinished, unsafe paths, secret
arguments, a missing commit) -> per rerun: worktree at the commit (+ patch) -> data check ->
environment drift check -> launch through `app.run` (one launch path) -> verdict -> remove the
worktree (also on Ctrl-C; --keep-worktree keeps it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from repro_run.app.env.recreate import BuiltEnv, ProjectOverlay, install_overlay, recreated_env
from repro_run.app.progress import NullReporter, Reporter
from repro_run.app.rerun.drift import environment_drift
from repro_run.app.rerun.judge import judge
from repro_run.app.rerun.replay import Replay
from repro_run.app.rerun.replay_data import (
    DataCheck,
    check_data,
    inside_relative,
    link_data,
    point_configs,
)
from repro_run.app.rerun.replay_env import (
    checkout_paths,
    fill_masked_argv,
    parse_pairs,
    replay_environ,
    rewrite_paths,
)
from repro_run.app.rerun.shape import part_to_replay
from repro_run.app.run.plan import RunOptions
from repro_run.app.run.run import run
from repro_run.app.workspace import Workspace
from repro_run.capture import worktree
from repro_run.core.constants import DEFAULT_ATOL, DEFAULT_RTOL, ENV_SOURCE_DATE_EPOCH
from repro_run.core.errors import (
    EnvironmentDriftError,
    RunNotFinishedError,
    StoreError,
    UnsafeRecordError,
    UsageError,
)
from repro_run.core.pathglob import compile_pattern
from repro_run.core.record import Record, replace
from repro_run.execute import user_python
from repro_run.fingerprint.manifest import decode_manifest
from repro_run.models import (
    CRASHED,
    INTERRUPTED,
    RUNNING,
    TERMINATED,
    UNKNOWN_REMOTE,
    RerunInfo,
    RunRecord,
)
from repro_run.settings import load_project_settings
from repro_run.store import Store
from repro_run.verdict.spread import MetricSpread, metric_spreads

_DRIFT_SHOWN = 6  # in the warning; the record keeps them all


class RerunOptions(Record):
    ref: str
    workspace: Workspace
    times: int = 1
    keep_worktree: bool = False
    allow_data_drift: bool = False
    data_remap: tuple[str, ...] = ()  # "OLD=NEW"
    strict: bool = False
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    secret_args: tuple[str, ...] = ()  # "NAME=ENV_VAR"
    ignore: tuple[str, ...] = ()  # --ignore: output files the verdict does not compare
    recreate_env: bool = False  # run in the recorded environment, rebuilt with uv
    allow_partial_env: bool = False  # rebuild it without what cannot be rebuilt


class RerunResult(Record):
    original: RunRecord
    reruns: tuple[RunRecord, ...]  # each with its verdict; the last one may be interrupted
    spreads: tuple[MetricSpread, ...]  # final value of each metric over original + reruns


class _Replayable(Record):
    """What was resolved and checked before the first launch; every rerun of `--times N`
    reuses it (identical conditions)."""

    original: RunRecord
    root: Path  # the user's work tree
    store: Store
    argv: tuple[str, ...]  # secrets filled in
    secrets: tuple[str, ...]  # the values filled in (--secret-arg): masked again when stored
    cwd: str  # relative to the repository root
    patch: bytes | None
    # (source, pattern): `[tool.repro] ignore` in the user's work tree, then --ignore
    ignore: tuple[tuple[str, str], ...]
    env: BuiltEnv | None = None  # --recreate-env: the rebuilt environment the rerun runs in


class _Checked(Record):
    data: DataCheck
    drift: tuple[str, ...]


class _Paths(Record):
    """What goes first on one rerun's PYTHONPATH and PATH: the worktree's copies of checkout
    directories on the Python's sys.path, or (--recreate-env) the project installed from it."""

    python_path: tuple[str, ...]
    bin: str | None = None


def rerun(options: RerunOptions, reporter: Reporter | None = None) -> RerunResult:
    reporter = reporter or NullReporter()
    with contextlib.ExitStack() as stack:
        target = _resolve(options)
        if options.recreate_env:
            built = stack.enter_context(
                recreated_env(
                    target.store, target.original, target.root,
                    allow_partial=options.allow_partial_env,
                )
            )  # fmt: skip
            _report_env(built, target.original.id, reporter)
            target = replace(target, env=built)
        reruns = _reruns(target, options, reporter)
    original = target.original
    finals = [original.metrics.final if original.metrics else {}]
    finals += [r.metrics.final if r.metrics else {} for r in reruns]
    return RerunResult(original, tuple(reruns), tuple(metric_spreads(finals)))


def _report_env(built: BuiltEnv, run_id: str, reporter: Reporter) -> None:
    how = "reused" if built.reused else "built"
    reporter.info(f"environment of run {run_id} {how}: {built.prefix}")
    for note in built.notes:
        reporter.info(f"environment: {note}")
    for line in built.left_out:
        reporter.warn(f"not rebuilt (--allow-partial-env): {line}")


def _reruns(target: _Replayable, options: RerunOptions, reporter: Reporter) -> list[RunRecord]:
    checked: _Checked | None = None
    reruns: list[RunRecord] = []
    for attempt in range(options.times):
        if options.times > 1:
            reporter.info(f"rerun {attempt + 1} of {options.times}")
        original = target.original
        tree = worktree.create_worktree(target.root, original.code.commit, original.id)
        record: RunRecord | None = None
        try:
            if target.patch is not None:
                worktree.apply_patch(tree, target.patch, original.id)
            paths = _paths(target, tree)
            if checked is None:
                checked = _check(target, options, tree.tree, paths, reporter)
            link_data(tree.tree, checked.data)
            for line in point_configs(tree.tree, checked.data.moved):
                if attempt == 0:
                    reporter.info(line)
            record = _launch(
                target, options, checked, tree.tree, paths, reporter, quiet=attempt > 0
            )
        finally:  # a refusal before launch never leaves a kept worktree behind
            keep = options.keep_worktree and record is not None
            worktree.remove_worktree(target.root, tree, keep=keep)
        if options.keep_worktree:
            reporter.info(
                f"worktree kept: {tree.tree} (remove it with: git worktree remove --force {tree.tree})"
            )
        reruns.append(record)
        if record.verdict is None:  # interrupted or terminated: stop here
            break
    return reruns


def _resolve(options: RerunOptions) -> _Replayable:
    """The run to replay, and every refusal that needs no worktree."""
    root = options.workspace.work_tree()
    store = options.workspace.store()
    original = store.load_record(store.resolve(options.ref))
    status = store.effective_status(original)
    if status in (RUNNING, CRASHED, UNKNOWN_REMOTE) or original.process is None:
        raise RunNotFinishedError(
            f"run {original.id} is {status}: there is no result to compare a rerun with"
        )
    original = part_to_replay(store, original, os.environ)
    rel_cwd = inside_relative(original.command.cwd, "working directory", original.id)
    for path in original.output_paths:
        if os.path.isabs(path):
            raise UnsafeRecordError(
                f"run {original.id} archived outputs outside the repository ({path}): "
                "a rerun would write over them"
            )
        inside_relative(path, "output path", original.id)
    secret_args = parse_pairs(options.secret_args, "--secret-arg")
    argv = fill_masked_argv(original.command.argv, original.id, secret_args, os.environ)
    filled = tuple(os.environ[variable] for variable in secret_args.values())
    parse_pairs(options.data_remap, "--data")  # malformed: refused before any work
    worktree.check_commit(root, original.code.commit, original.id)
    # Read with its hash verified: a corrupted patch is never applied.
    patch = store.get_bytes(original.code.patch_object) if original.code.patch_object else None
    _check_output_manifests(store, original)
    ignore = _ignore_rules(root, options.ignore)
    return _Replayable(original, root, store, argv, filled, rel_cwd, patch, ignore)


def _ignore_rules(root: Path, given: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The user's decision of what does not count, checked before anything runs."""
    for pattern in given:
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            raise UsageError(f"--ignore: {exc}") from None
    configured = load_project_settings(root).ignore
    return tuple(
        [("[tool.repro] ignore", pattern) for pattern in configured]
        + [("--ignore", pattern) for pattern in given]
    )


def _check_output_manifests(store: Store, original: RunRecord) -> None:
    """The manifests the verdict compares the rerun's outputs with, read before anything runs:
    a damaged or crafted one is a one-line refusal, not a crash after the rerun."""
    for tree in original.outputs:
        try:
            decode_manifest(store.get_bytes(tree.manifest_object))
        except ValueError as exc:
            raise StoreError(
                f"run {original.id}: the manifest of outputs {tree.path} cannot be read ({exc}): "
                "run repro fsck"
            ) from None


def _paths(target: _Replayable, tree: worktree.Worktree) -> _Paths:
    """Per worktree (each of `--times N` has its own): the project's overlay is installed
    beside it and removed with it."""
    if target.env is not None:
        overlay: ProjectOverlay = install_overlay(target.env, tree.tree, tree.base / "site")
        return _Paths(overlay.python_path, overlay.bin)
    interpreter = target.original.command.interpreter
    return _Paths(checkout_paths(interpreter, target.root, tree.tree))


def _check(
    target: _Replayable, options: RerunOptions, tree: Path, paths: _Paths, reporter: Reporter
) -> _Checked:
    """Before launch: the data check (refuses drift) and the environment drift check."""
    original = target.original
    remap = parse_pairs(options.data_remap, "--data")
    data = check_data(
        target.store, original, target.root, tree, options.workspace.cwd, remap,
        options.allow_data_drift,
    )  # fmt: skip
    for line in data.notes:
        reporter.info(line)
    if rewrite_paths(target.argv, data.moved) != target.argv:
        reporter.info(f"the command's arguments name {', '.join(data.moved.values())} instead")
    for line in data.drift:
        reporter.warn(f"data differs from the record (--allow-data-drift): {line}")
    environ, _ = _child_environ(target, tree, paths)
    drift = tuple(
        environment_drift(
            target.store, original, environ, _python(target), tree / target.cwd,
            ignore_packages=target.env.project_names if target.env else (),
        )
    )  # fmt: skip
    if drift:
        shown = "; ".join(drift[:_DRIFT_SHOWN])
        more = f"; ... ({len(drift) - _DRIFT_SHOWN} more)" if len(drift) > _DRIFT_SHOWN else ""
        which = "the rebuilt environment" if target.env else "the environment"
        message = f"{which} differs from run {original.id}'s: {shown}{more}"
        if options.strict:
            raise EnvironmentDriftError(message + " (--strict)")
        if target.env is None and any(line.startswith("packages:") for line in drift):
            message += (
                f" (repro rerun --recreate-env {original.id} runs it in the recorded packages)"
            )
        reporter.warn(message)
    return _Checked(data, drift)


def _child_environ(
    target: _Replayable, tree: Path, paths: _Paths
) -> tuple[dict[str, str], list[str]]:
    """The rerun's base environment; with --recreate-env, the rebuilt one activated (first on
    PATH, VIRTUAL_ENV), as `source ENV/bin/activate` would, the project's scripts before it."""
    environ, notes = replay_environ(
        target.original, os.environ, target.root, tree, paths.python_path
    )
    if target.env is not None:
        bins = [*filter(None, [paths.bin]), str(target.env.prefix / "bin")]
        environ["PATH"] = os.pathsep.join([*bins, *filter(None, [environ.get("PATH")])])
        environ["VIRTUAL_ENV"] = str(target.env.prefix)
    return environ, notes


def _launch(
    target: _Replayable,
    options: RerunOptions,
    checked: _Checked,
    tree: Path,
    paths: _Paths,
    reporter: Reporter,
    *,
    quiet: bool,
) -> RunRecord:
    """One rerun through `app.run`, then its verdict written into its record."""
    original, store = target.original, target.store
    with worktree.found_from_the_worktree():
        record = _replay(target, options, checked, tree, paths, reporter, quiet=quiet)
    if record.status in (INTERRUPTED, TERMINATED):
        return record
    verdict = judge(
        store,
        original,
        record,
        rtol=options.rtol,
        atol=options.atol,
        root=target.root,
        tree=tree,
        ignore=target.ignore,
    )
    record = replace(record, verdict=verdict)
    store.write_record(record)
    return record


def _replay(
    target: _Replayable,
    options: RerunOptions,
    checked: _Checked,
    tree: Path,
    paths: _Paths,
    reporter: Reporter,
    *,
    quiet: bool,
) -> RunRecord:
    """The replayed run, in the worktree: its environment from the record, its launch."""
    original = target.original
    environ, notes = _child_environ(target, tree, paths)
    for note in notes if not quiet else ():
        reporter.info(f"environment: {note}")
    info = RerunInfo(
        data_drift=checked.data.drift,
        data_remap=parse_pairs(options.data_remap, "--data"),
        environment_drift=checked.drift,
        worktree=str(tree) if options.keep_worktree else None,
        recreated_env=target.env.key if target.env else None,
        env_left_out=target.env.left_out if target.env else (),
    )
    replay = Replay(
        of=original.id,
        store_dir=target.store.root,
        environ=environ,
        python=_python(target),
        data=checked.data.refs,
        info=info,
        secrets=target.secrets,
        source_date_epoch=_source_date_epoch(original),
    )
    run_options = RunOptions(
        command=rewrite_paths(target.argv, checked.data.moved),
        cwd=tree / target.cwd,
        seed=original.determinism.seed,
        outputs=tuple(str(tree / path) for path in original.output_paths),
        allow_dirty=True,  # the worktree is the recorded tree, patch included
        metrics_file=original.metrics_file,
        replay=replay,
        # The recorded determinism settings (records older than them: off, as they ran).
        deterministic=original.determinism.deterministic,
        threads=original.determinism.threads,
        auto_seed=original.determinism.hook,
    )
    what = original.code.commit[:12] + (" + its uncommitted patch" if target.patch else "")
    reporter.info(f"rerun of {original.id} at commit {what}")
    return run(run_options, reporter)


def _source_date_epoch(original: RunRecord) -> str | None:
    d = original.determinism
    return d.injected.get(ENV_SOURCE_DATE_EPOCH, d.user_set.get(ENV_SOURCE_DATE_EPOCH))


def _python(target: _Replayable) -> str:
    """The rebuilt environment's interpreter (--recreate-env); else the recorded interpreter
    of a `.py` command when it still exists, else the user's."""
    if target.env is not None:
        return target.env.python
    command = target.original.command
    recorded = command.interpreter
    if recorded and command.exec_argv[:1] == (recorded,) and os.path.exists(recorded):
        return recorded
    return user_python(os.environ, sys.executable).path
