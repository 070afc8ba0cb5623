"""`repro run`: refuse, capture, launch, archive. Returns records; never prints.

`run` goes preflight (every refusal happens before anything is written) -> capture ->
launch -> archive -> finalise. Progress goes through the `Reporter` protocol that `ui`
implements.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from repro_run.app.datasets import fingerprint_data, select_data, without_written
from repro_run.app.progress import NullReporter, Reporter
from repro_run.app.run import safeguards
from repro_run.app.run.background import in_background
from repro_run.app.run.hydra import hydra_configs
from repro_run.app.run.metrics import check_metrics_file, collect_metrics
from repro_run.app.run.outputs import archive_outputs, display, inside
from repro_run.app.run.plan import Launch, Plan, RunOptions
from repro_run.app.run.written import snapshot
from repro_run.capture import config as config_capture
from repro_run.capture import git, gpu
from repro_run.capture.cluster import group_seed, joined_part, may_start_ranks
from repro_run.core import host
from repro_run.core.constants import (
    DEFAULT_DRAIN_TIMEOUT_S,
    DEFAULT_KILL_GRACE_S,
    ENV_DRAIN_TIMEOUT,
    ENV_KILL_GRACE,
    ENV_METRICS,
    RUN_LOG_FILENAME,
    RUN_METRICS_FILENAME,
    RUN_PATCH_FILENAME,
    STORE_DIRNAME,
)
from repro_run.core.errors import (
    CommandNotExecutableError,
    CommandNotFoundError,
    DirtyTreeError,
    RunNotRecordedError,
    StoreError,
    UsageError,
)
from repro_run.core.record import replace
from repro_run.core.redaction import argv_secret_values, mask_argv, secret_values
from repro_run.determinism import child_environment, resolve_seed
from repro_run.execute import (
    UserPython,
    resolve_command,
    run_process,
    user_python,
    which,
)
from repro_run.execute.signals import DeferredStops
from repro_run.execute.terminal import want_pty
from repro_run.hook import BOOT_DIR
from repro_run.models import (
    ARCHIVE_FAILED,
    FAILED,
    FAILED_TO_START,
    INTERRUPTED,
    SUCCEEDED,
    TERMINATED,
    ChildFacts,
    ProcessResult,
    RunRecord,
    TreeRef,
    TreeStatus,
)
from repro_run.settings import load_project_settings
from repro_run.store import Store, store_dir_of

_STOP_AFTER_EXIT = "{} received after the command ended: repro writes the run's record, then stops"


def run(options: RunOptions, reporter: Reporter | None = None) -> RunRecord:
    """Refuse, capture, launch, archive: the whole of `repro run`. Returns the final record."""
    reporter = reporter or NullReporter()
    plan = _preflight(options)
    replay = options.replay
    store = Store.open(plan.store_dir, index=False)  # the first record write checks the index
    if inside(store.root, plan.root):
        git.ensure_excluded(plan.root, f"{STORE_DIRNAME}/")
    data = (
        replay.data
        if replay
        else fingerprint_data(
            store, plan.data_paths, reporter, skip_unreadable=options.skip_unreadable
        )
    )
    joined = plan.joined
    run_id, run_dir = (
        store.join_run(joined.key, joined.part, reused=joined.reused) if joined else store.new_run()
    )
    if joined and plan.seed_source == "random":  # every part (rank) must draw the same one
        plan = replace(plan, seed=group_seed(run_id), seed_source="group")
    with store.run_lock(run_id, joined.part.name if joined else None):
        try:
            launch = _prepare_launch(store, plan, run_id, run_dir)
        except BaseException:
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)  # never leave a half-written run
            raise
        reporter.info(
            f"run {run_id} started: {shlex.join(mask_argv(options.command, plan.secrets))}"
        )
        # Facets that cannot change what the child sees are captured while it runs, so a
        # short command does not wait for them; the child's environment is already fixed.
        # Started once the child runs: its imports and work would compete with the launch.
        start_capture, captured = in_background(
            "repro-capture", lambda: _write_initial_record(store, plan, launch, data)
        )
        result, failed_to_start, recheck = _launch_command(
            plan, launch, run_dir, start_capture, reporter
        )
        # The command has ended: a stop signal now must not lose its record (D40).
        with DeferredStops(lambda name: reporter.warn(_STOP_AFTER_EXIT.format(name))):
            after = recheck or git.start_tree_status(plan.root)  # the command never started
            return _finalise(
                store, plan, launch, run_dir, captured, result, failed_to_start, after, reporter
            )


def _launch_command(
    plan: Plan, launch: Launch, run_dir: Path, on_start: Callable[[], None], reporter: Reporter
) -> tuple[ProcessResult, bool, Callable[[], TreeStatus] | None]:
    """Run the command: how it ended, whether it failed to start (the result says how, a
    record not a hole), and the re-check of the tree once it exited (None if it never ran).

    The tree is re-checked (git status) from the moment the child exits, while its output
    drains and the outputs, metrics and facts are collected: git is started there and then, in
    this thread (a new thread could take milliseconds to start)."""
    recheck: Callable[[], TreeStatus] | None = None

    def start_recheck() -> None:
        nonlocal recheck
        recheck = git.start_tree_status(plan.root)

    try:
        result = _execute(plan, launch, run_dir, on_start=on_start, on_exit=start_recheck)
    except (CommandNotFoundError, CommandNotExecutableError) as exc:
        reporter.warn(str(exc))
        return safeguards.not_started(exc), True, None
    except KeyboardInterrupt:  # Ctrl-C before the stop signals were forwarded
        return safeguards.interrupted_before_start(), False, None
    return result, False, recheck


def _finalise(
    store: Store,
    plan: Plan,
    launch: Launch,
    run_dir: Path,
    captured: Callable[[], RunRecord],
    result: ProcessResult,
    failed_to_start: bool,
    after: Callable[[], TreeStatus],
    reporter: Reporter,
) -> RunRecord:
    """The final record, written: the running one with how the command ended, its outputs,
    metrics and child facts, and whether the code changed while it ran (`after`)."""
    try:
        record = _initial_record(captured, launch.run_id, result)
        safeguards.warn_patch_findings(record, reporter)
        archived = archive_outputs(store, plan.output_paths, plan.root, launch.before, reporter)
        metrics, unread = collect_metrics(
            store,
            run_dir,
            plan.cwd,
            plan.options.metrics_file,
            plan.output_paths,
            launch.started,
            launch.before,
        )
        hydra, unparsed = hydra_configs(
            store, plan.cwd, plan.output_paths, launch.started, plan.secrets
        )
    except BaseException:
        safeguards.code_changes(plan.root, plan.status, after, run_dir)  # reaps git
        raise
    for problem in (*unread, *unparsed):
        reporter.warn(problem)
    status = ARCHIVE_FAILED if archived.problems else _status(result)
    final = replace(
        record,
        status=FAILED_TO_START if failed_to_start else status,
        ended=_now(),
        process=result,
        outputs=archived.refs,
        preexisting_outputs=archived.preexisting,
        problems=(*archived.problems, *unread, *unparsed),
        configs=(*record.configs, *hydra),  # what a Hydra program really ran with
        metrics=metrics,
        facts=_child_facts(run_dir) if launch.determinism.hook else None,
    )
    if final.data and not plan.options.replay:  # a folder the run wrote into is no input
        final = replace(final, data=without_written(plan.data_paths, final.data, reporter))
    changed = safeguards.code_changes(plan.root, plan.status, after, run_dir)
    final = safeguards.flag_taint(final, changed, reporter)
    return safeguards.write_final(store, final, reporter)


def _preflight(options: RunOptions) -> Plan:
    if not options.command:
        raise UsageError("no command given: repro run [OPTIONS] [--] COMMAND [ARGS]...")
    cwd = options.cwd.resolve()
    # The root, the dirty check and the code facet in one round of git.
    git_query = options.git_query or git.WorkTreeQuery(cwd)
    status = git_query.status()
    root = Path(status.root)
    status = safeguards.without_store(status, root)
    settings = load_project_settings(root)
    if status.is_dirty and not options.allow_dirty:
        raise DirtyTreeError(git.dirty_refusal_message(status))
    check_metrics_file(options.metrics_file)
    environ = options.replay.environ if options.replay else os.environ
    child_path = environ.get("PATH")
    python = (
        UserPython(options.replay.python, "rerun")
        if options.replay
        else user_python(environ, sys.executable)
    )
    command = resolve_command(
        options.command, cwd=cwd, path=child_path, python=python.path, python_source=python.source
    )
    configs = tuple(
        config_capture.parse_config(cwd / p, p)
        for p in config_capture.find_config_paths(options.command, cwd)
    )
    output_paths = _paths(options.outputs, cwd) or _paths(settings.outputs, root)
    store_dir = options.replay.store_dir if options.replay else store_dir_of(root)
    data_paths = (
        ()
        if options.replay
        else select_data(  # a rerun reuses the checked data
            given=options.data,
            configured=settings.data,
            cwd=cwd,
            root=root,
            argv=options.command,
            configs=configs,
            outputs=output_paths,
            store=store_dir,
            auto=options.auto_data,
        )
    )
    outputs_origin = "--outputs" if options.outputs else "[tool.repro] outputs"
    safeguards.refuse_store_paths(
        store_dir,
        [(s.origin, s.display, s.path) for s in data_paths]
        + [(outputs_origin, display(p, root), p) for p in output_paths],
    )
    seed, seed_source = resolve_seed(options.seed, settings.seed)
    joined = joined_part(options.command, environ, host.hostname(), options.join)
    if options.replay:
        seed_source = "rerun"  # the replayed run's seed
    return Plan(
        joined=joined,
        options=options,
        root=root,
        cwd=cwd,
        status=status,
        command=command,
        configs=configs,
        data_paths=data_paths,
        output_paths=output_paths,
        seed=seed,
        seed_source=seed_source,
        # Packages are those of the Python that runs the command; for a non-Python command
        # (a shell script, say) the `python` its PATH finds is the best guess.
        interpreter=command.interpreter or which("python", child_path) or sys.executable,
        secrets=_secrets(options, environ),
        source_date_epoch=(
            options.replay.source_date_epoch if options.replay else git_query.commit_time()
        ),
        environ=environ,
        git_query=git_query,
        store_dir=store_dir,
    )


def _secrets(options: RunOptions, environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values that must never reach disk: the environment's secrets, the command's
    arguments that hold them, and (a rerun) those of the replayed run."""
    env_secrets = secret_values(environ)
    return (
        *env_secrets,
        *argv_secret_values(options.command, env_secrets),
        *(options.replay.secrets if options.replay else ()),
    )


def _prepare_launch(store: Store, plan: Plan, run_id: str, run_dir: Path) -> Launch:
    patch_object = None
    if plan.status.is_dirty:
        patch = git.dirty_patch(plan.root)  # the tree as launched, before anyone edits it
        patch_object = store.put_bytes(patch)
        (run_dir / RUN_PATCH_FILENAME).write_bytes(patch)
    env, determinism = child_environment(
        plan.environ,
        seed=plan.seed,
        seed_source=plan.seed_source,
        run_id=run_id,
        run_dir=str(run_dir),
        deterministic=plan.options.deterministic,
        threads=plan.options.threads,
        hook_dir=BOOT_DIR if plan.options.auto_seed else None,
        source_date_epoch=plan.source_date_epoch,
        packages_digest=_handed_digest(plan),
    )
    metrics_path = str(run_dir / RUN_METRICS_FILENAME)  # what repro_run.log_metrics appends to
    env[ENV_METRICS] = metrics_path
    determinism = replace(determinism, injected={**determinism.injected, ENV_METRICS: metrics_path})
    # Last before launch: a file changed after this is the run's. Stats only, and only of the
    # declared outputs and metrics file: a plain run does nothing here.
    metrics_file = plan.options.metrics_file
    before = snapshot(plan.output_paths, [plan.cwd / metrics_file] if metrics_file else [])
    return Launch(run_id, env, determinism, patch_object, _now(), before)


def _execute(
    plan: Plan,
    launch: Launch,
    run_dir: Path,
    on_start: Callable[[], None],
    on_exit: Callable[[], None],
) -> ProcessResult:
    sampler = gpu.gpu_memory_sampler()
    try:
        return run_process(
            plan.command.exec_argv,
            cwd=plan.cwd,
            env=launch.env,
            log_path=run_dir / RUN_LOG_FILENAME,
            secrets=plan.secrets,
            gpu_memory=sampler,
            kill_grace=_env_seconds(ENV_KILL_GRACE, DEFAULT_KILL_GRACE_S),
            drain_timeout=_env_seconds(ENV_DRAIN_TIMEOUT, DEFAULT_DRAIN_TIMEOUT_S),
            pty=want_pty(plan.options.pty),
            on_start=on_start,
            on_exit=on_exit,
        )
    finally:
        if sampler is not None:
            sampler.close()


def _write_initial_record(
    store: Store, plan: Plan, launch: Launch, data: tuple[TreeRef, ...]
) -> RunRecord:
    from repro_run.app.run.initial_record import write_initial_record

    return write_initial_record(store, plan, launch, data)


def _initial_record(
    captured: Callable[[], RunRecord], run_id: str, result: ProcessResult
) -> RunRecord:
    """The `running` record (captured now if the child never started). If the store went away
    or filled up before it was written, nothing can be recorded: the error says so and carries
    the command's exit status, which repro still exits with."""
    try:
        return captured()
    except StoreError as exc:
        raise RunNotRecordedError(
            f"run {run_id} could not be recorded ({exc}); the command exited {result.exit_code}",
            result.exit_code,
        ) from exc


def _handed_digest(plan: Plan) -> str | None:
    """The package set's digest for the ranks to take (hook/host.py), where the command may
    start ranks and its Python is repro's own (its prefix): its site directories are then
    repro's, listed once here (~0.4 ms) rather than in each of a thousand ranks. Another
    Python lists its own; a command without ranks is spared the listing."""
    if not plan.options.auto_seed or not may_start_ranks(plan.options.command, plan.environ):
        return None
    if os.path.dirname(os.path.dirname(os.path.abspath(plan.interpreter))) != sys.prefix:
        return None
    from repro_run.hook.host import handed_digest  # only here: most commands start no ranks

    return handed_digest(sys.path)


def _child_facts(run_dir: Path) -> ChildFacts:
    from repro_run.capture.child_facts import capture_child_facts

    return capture_child_facts(run_dir)


def _status(result: ProcessResult) -> str:
    if result.stop_reason == "SIGINT":
        return INTERRUPTED
    if result.stop_reason is not None:
        return TERMINATED
    return SUCCEEDED if result.exit_code == 0 else FAILED


# --- small helpers -------------------------------------------------------------------------
def _paths(values: Sequence[str], base: Path) -> tuple[Path, ...]:
    return tuple(Path(os.path.normpath(base / os.path.expanduser(v))) for v in values)


def _now() -> str:
    """UTC now as `datetime.now(timezone.utc).isoformat(timespec="milliseconds")` writes it,
    without importing datetime on the launch path."""
    ms = time.time_ns() // 1_000_000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}+00:00"


def _env_seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default
