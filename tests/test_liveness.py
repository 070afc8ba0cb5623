"""Liveness: pid + start time + boot id + flock on this host, heartbeat across hosts.

Reliability scenarios C35 (supervisor SIGKILLed), C36 (pid reuse), C37 (shared store across
hosts). Real processes throughout; another host is simulated by the only thing that tells
hosts apart here, the hostname the reader compares with.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import REPRO, repro, start_run
from helpers.repos import MakeRepo
from helpers.store import add_run, hold_lock, make_record

from repro_run.core import host
from repro_run.core.record import replace
from repro_run.models import CRASHED, PRESUMED_DEAD, RUNNING, UNKNOWN_REMOTE, RunRecord, Supervisor
from repro_run.store import RunLock, Store, liveness, processes, store_dir_of
from repro_run.store.run_json import read_record

LINUX = sys.platform.startswith("linux")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / ".repro")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def identity(pid: int) -> Supervisor:
    started = processes.start_time(pid)
    assert started is not None
    return Supervisor(
        pid, started, platform.node(), host.boot_id(), 30.0, processes.start_ticks(pid)
    )


# --- C36: pid reuse ------------------------------------------------------------------------
def test_unrelated_live_pid_with_another_start_time_is_crashed(
    store: Store, sleeper: subprocess.Popen[bytes]
) -> None:
    real = identity(sleeper.pid)
    impostor = replace(
        real,
        start_time=real.start_time - 100,
        start_ticks=None if real.start_ticks is None else real.start_ticks - 10_000,
    )
    record = add_run(store, status=RUNNING, supervisor=impostor)
    with store.run_lock(record.id):  # even a held lock does not make a reused pid our run
        assert store.effective_status(record) == CRASHED


def test_matching_pid_start_time_and_boot_with_lock_held_is_running(store: Store) -> None:
    record = add_run(store, status=RUNNING)
    holder = hold_lock(store.run_dir(record.id))
    try:
        record = replace(record, supervisor=identity(holder.pid))
        store.write_record(record)
        assert store.effective_status(record) == RUNNING
        other_boot = replace(record.supervisor, boot_id="0" * 8 + "-another-boot")
        assert store.effective_status(replace(record, supervisor=other_boot)) == CRASHED
    finally:
        holder.kill()
        holder.wait()
    assert store.effective_status(record) == CRASHED  # the pid is gone, and so is the lock


def test_start_ticks_tell_pid_reuse_apart_exactly(sleeper: subprocess.Popen[bytes]) -> None:
    me = identity(sleeper.pid)
    assert processes.is_same_process(sleeper.pid, me.start_time, me.start_ticks)
    if me.start_ticks is not None:  # Linux: the tick count decides, the wall clock does not
        assert not processes.is_same_process(sleeper.pid, me.start_time, me.start_ticks + 1)
    assert not processes.is_same_process(sleeper.pid, me.start_time - 100, None)


# --- C36/C37: other hosts, heartbeat -------------------------------------------------------
def test_other_host_is_unknown_until_its_heartbeat_is_three_intervals_old(store: Store) -> None:
    remote = Supervisor(1, 1.0, platform.node() + "-elsewhere", "other-boot", 10.0, None)
    record = add_run(store, status=RUNNING, supervisor=remote)
    lock = store.run_dir(record.id) / "lock"
    lock.touch()
    now = time.time()
    assert liveness.effective_status(record, store.run_dir(record.id), now) == UNKNOWN_REMOTE
    os.utime(lock, (now - 29, now - 29))
    assert liveness.effective_status(record, store.run_dir(record.id), now) == UNKNOWN_REMOTE
    os.utime(lock, (now - 31, now - 31))
    assert liveness.effective_status(record, store.run_dir(record.id), now) == PRESUMED_DEAD
    assert [s.status for s in store.list_runs()] == [PRESUMED_DEAD]


def test_the_supervisor_touches_its_lock_every_interval(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPRO_HEARTBEAT_INTERVAL", "0.05")
    _, run_dir = store.new_run()
    with RunLock.acquire(run_dir):
        first = (run_dir / "lock").stat().st_mtime_ns
        deadline = time.monotonic() + 5
        while (run_dir / "lock").stat().st_mtime_ns == first:
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.02)
    stopped = (run_dir / "lock").stat().st_mtime_ns
    time.sleep(0.2)
    assert (run_dir / "lock").stat().st_mtime_ns == stopped  # released: no more beats


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"README.md": "x\n"})


def test_a_run_read_from_another_host_goes_from_unknown_to_presumed_dead(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C37: host B reads host A's run from a shared store: the heartbeat is all it has."""
    proc = start_run(
        project,
        "import time; print('up', flush=True); time.sleep(60)",
        b"up",
        REPRO_HEARTBEAT_INTERVAL="0.2",
    )
    try:
        store = Store.open(store_dir_of(project))
        (run_id,) = store.run_ids()
        record = _wait_for_record(store, run_id)
        assert store.effective_status(record) == RUNNING  # from host A itself
        monkeypatch.setattr(host, "hostname", lambda: "host-b")
        time.sleep(0.7)  # beats keep coming: three intervals pass without going stale
        assert store.effective_status(record) == UNKNOWN_REMOTE
        proc.kill()  # host A's supervisor dies: the heartbeat stops
        proc.wait()
        deadline = time.monotonic() + 10
        while store.effective_status(record) != PRESUMED_DEAD:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()


def _wait_for_record(store: Store, run_id: str) -> RunRecord:
    deadline = time.monotonic() + 10
    while True:
        try:
            return read_record(store.run_dir(run_id) / "run.json", run_id)[0]
        except FileNotFoundError:
            assert time.monotonic() < deadline
            time.sleep(0.02)


# --- C35: the supervisor SIGKILLed -------------------------------------------------------
@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG and /proc environ: Linux")
def test_sigkilled_supervisor_is_crashed_and_its_surviving_child_is_named(
    project: Path,
) -> None:
    child = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # survives PDEATHSIG
        "print('up', os.getpid(), flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [REPRO, "run", "--", sys.executable, "-c", child],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    child_pid = int(proc.stdout.readline().split()[1])
    try:
        deadline = time.monotonic() + 10
        while '"running"' not in repro(project, "list", "--json").stdout:  # record written
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        done = repro(project, "list", "--json")
        assert '"status": "crashed"' in done.stdout
        shown = repro(project, "show", "@")
        assert "crashed" in shown.stdout and str(child_pid) in shown.stdout
    finally:
        os.kill(child_pid, signal.SIGKILL)


def test_a_crashed_run_without_survivors_names_none(store: Store) -> None:
    record = add_run(store, status=RUNNING, supervisor=make_record("0000000000").supervisor)
    assert store.leftover_processes(record.id) == []
