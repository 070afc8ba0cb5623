"""The one launch of the user's command: its own session, live tee, wait, and the sweep of
what it leaves behind (`sweep.py`)."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from repro_run.core.constants import DEFAULT_DRAIN_TIMEOUT_S, DEFAULT_KILL_GRACE_S, ENV_RUN_ID
from repro_run.core.errors import CommandNotExecutableError, CommandNotFoundError, UsageError
from repro_run.execute import sweep
from repro_run.execute.logsink import LogSink, OutputTee
from repro_run.execute.sampler import ResourceSampler
from repro_run.execute.signals import StopForwarder, signal_group, signal_name
from repro_run.execute.terminal import JobControl, Pty, combine
from repro_run.models import ProcessResult

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import BinaryIO

_TICK_S = 0.05  # select timeout: how soon a child exit is noticed while its pipes stay open
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def run_process(
    exec_argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    secrets: Collection[str] = (),
    gpu_memory: Callable[[Collection[int]], int | None] | None = None,
    kill_grace: float = DEFAULT_KILL_GRACE_S,
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_S,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    pty: bool = False,
    on_start: Callable[[], None] | None = None,
    on_exit: Callable[[], None] | None = None,
) -> ProcessResult:
    """Run the command in its own session, tee its output, and return what happened.

    `on_start` is called once the command has started (not if it could not be started);
    `on_exit` once it has exited, before its output is drained and what it left swept: its
    session, and the orphans repro adopts meanwhile as the child subreaper (Linux).
    """
    if not exec_argv:
        raise UsageError("no command to run")
    terminals = (
        stdout if stdout is not None else sys.stdout.buffer,
        stderr if stderr is not None else sys.stderr.buffer,
    )
    stops = StopForwarder(kill_grace)
    jobs = JobControl()
    # Undone in the reverse order, however the run ends: what is set up last goes first.
    with contextlib.ExitStack() as cleanup:
        terminal, sink = _open_outputs(cleanup, pty, log_path, secrets)
        subreaper = _take_over(cleanup, stops, jobs, terminal)
        own_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        proc = _launch(exec_argv, cwd, env, terminal)
        cleanup.callback(_release, proc)
        if terminal is not None:
            terminal.close_slave()  # the child holds it now: EOF (EIO) comes when it is done
        stops.attach(proc.pid)
        jobs.attach(proc.pid)
        sampler = ResourceSampler(proc.pid, gpu_memory)
        sampler.start()
        if on_start is not None:
            on_start()
        pipes = _tee(proc, terminal, terminals, sink)
        cleanup.callback(pipes.close)
        status, usage = _wait_pumping(proc.pid, pipes, stops)
        wall_time = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        stops.exited = True
        sampler.stop()
        # Before on_exit starts repro's own git: any child now is an orphan of the run (or a
        # capture's helper, which only costs the slow sweep).
        adopted = subreaper and sweep.has_children()
        if on_exit is not None:
            on_exit()
        _drain(pipes, stops, drain_timeout)
        run_id = env.get(ENV_RUN_ID) if subreaper else None
        orphans = sweep.sweep(proc.pid, run_id, min(kill_grace, sweep.ORPHAN_GRACE_S), adopted)
        pipes.sweep()

    code = proc.returncode
    return ProcessResult(
        exit_code=128 - code if code < 0 else code,
        signal=signal_name(-code) if code < 0 else None,
        wall_time=wall_time,
        cpu_time=usage.ru_utime + usage.ru_stime,
        peak_rss=_peak_rss(sampler.peak_rss, usage, own_maxrss),
        peak_gpu_memory=sampler.peak_gpu if gpu_memory is not None else None,
        stdout_bytes=pipes.counts[0],
        stderr_bytes=pipes.counts[1] if len(pipes.counts) > 1 else 0,  # PTY: merged
        stop_reason=stops.reason,
        orphans_killed=orphans,
    )


def _open_outputs(
    cleanup: contextlib.ExitStack, pty: bool, log_path: Path, secrets: Collection[str]
) -> tuple[Pty | None, LogSink]:
    """The PTY the command writes to (with `pty`, if one is left) and the log its output goes
    to, both closed by `cleanup`."""
    terminal = _open_pty() if pty else None
    if terminal is not None:
        cleanup.callback(terminal.close)
    sink = LogSink(log_path, secrets, streams=1 if terminal and terminal.merge_stderr else 2)
    cleanup.callback(sink.close)
    return terminal, sink


def _take_over(
    cleanup: contextlib.ExitStack, stops: StopForwarder, jobs: JobControl, terminal: Pty | None
) -> bool:
    """Be the child subreaper and take the signals for the run, until `cleanup` gives them
    back; whether repro is the subreaper."""
    subreaper = sweep.adopt_orphans(True)
    if subreaper:  # orphans from then on are init's, as before the run
        cleanup.callback(sweep.adopt_orphans, False)
    stops.install()
    cleanup.callback(stops.restore)
    jobs.install()
    cleanup.callback(jobs.restore)
    if terminal is not None:
        terminal.install()  # its SIGWINCH handler goes back in terminal.close
    return subreaper


def _release(proc: subprocess.Popen[bytes]) -> None:
    """Leave nothing of the command: kill it if it was never reaped (a bug of ours, not the
    child's), and close repro's ends of its pipes."""
    if proc.returncode is None:
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _drain(pipes: OutputTee, stops: StopForwarder, timeout: float) -> None:
    """A descendant may hold the pipes open (`(sleep 100 &)`): drain for a bounded time."""
    end = time.monotonic() + timeout
    while pipes.open and not stops.stop_now and time.monotonic() < end:
        pipes.poll(min(_TICK_S, max(end - time.monotonic(), 0.0)))


def _peak_rss(sampled: int | None, usage: resource.struct_rusage, own_maxrss: int) -> int | None:
    """The child's peak resident set: the sampler's, or its ru_maxrss where that says more.

    Linux charges the supervisor's own peak to a child it forks (exec keeps the old hiwater
    mark), so the child's ru_maxrss only says something when it is above ours."""
    if usage.ru_maxrss <= own_maxrss:
        return sampled
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return max(sampled or 0, usage.ru_maxrss * scale)


def _wait_pumping(
    pid: int, pipes: OutputTee, stops: StopForwarder
) -> tuple[int, resource.struct_rusage]:
    """Tee output until the child exits; return its wait status and resource usage."""
    backoff = 0.001
    while True:
        if pipes.open:
            pipes.poll(_TICK_S)
        else:  # both pipes closed: the child is exiting (or detached from them), poll briefly
            time.sleep(backoff)
            backoff = min(backoff * 2, _TICK_S)
        stops.enforce_deadline()
        waited = sweep.reap_group(pid)  # the command leads its group, as its session
        if waited is not None:
            return waited


def _open_pty() -> Pty | None:
    try:
        return Pty()
    except OSError:  # no PTYs left (or none here): pipes still work
        return None


def _tee(
    proc: subprocess.Popen[bytes],
    terminal: Pty | None,
    terminals: tuple[BinaryIO, BinaryIO],
    sink: LogSink,
) -> OutputTee:
    """The command's output (its PTY, else its pipes) on its way to `terminals` and the log."""
    out = terminal.master if terminal is not None else proc.stdout.fileno()  # type: ignore[union-attr]
    fds = (out,) if proc.stderr is None else (out, proc.stderr.fileno())
    return OutputTee(fds, terminals[: len(fds)], sink)


def _launch(
    exec_argv: Sequence[str], cwd: Path, env: Mapping[str, str], terminal: Pty | None = None
) -> subprocess.Popen[bytes]:
    slave = terminal.slave if terminal is not None else subprocess.PIPE
    try:
        return subprocess.Popen(
            list(exec_argv),
            cwd=cwd,
            env=dict(env),
            stdout=slave,
            stderr=slave if terminal is not None and terminal.merge_stderr else subprocess.PIPE,
            start_new_session=True,  # our own group: signals reach every descendant
            preexec_fn=combine(
                _pdeathsig_setter(), terminal.preexec if terminal is not None else None
            ),
        )
    except OSError as exc:  # the file changed since resolve_command, or a bad #! line
        shown = exec_argv[0]
        detail = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and not (cwd / shown).is_file():
            raise CommandNotFoundError(f"command not found: {shown} ({detail})") from exc
        raise CommandNotExecutableError(f"cannot execute {shown}: {detail}") from exc


def _pdeathsig_setter() -> Callable[[], None] | None:
    """A preexec hook: the child gets SIGTERM if the supervisor dies (Linux, prctl(2)).

    The kernel sends it when the forking *thread* exits, so call run_process from the thread
    that lives as long as the run (the main thread).
    """
    prctl = sweep.prctl()
    if prctl is None:
        return None
    parent, sigterm = os.getpid(), int(signal.SIGTERM)

    def set_pdeathsig() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(128 + sigterm)

    return set_pdeathsig
