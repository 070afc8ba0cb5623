"""Store records for tests: a complete RunRecord, runs added to a real store, a held run lock."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from repro_run.core.host import boot_id
from repro_run.models import (
    SUCCEEDED,
    CodeState,
    CommandInfo,
    Determinism,
    EnvCapture,
    ProcessResult,
    RunRecord,
    Supervisor,
    SystemInfo,
    Unavailable,
)
from repro_run.store import Store, this_supervisor

CHILD_ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
_HOLD_LOCK = """
import sys
from pathlib import Path
from repro_run.store import RunLock
lock = RunLock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


def hold_lock(run_dir: Path) -> subprocess.Popen[bytes]:
    """Another process that holds `run_dir`'s liveness lock, as a live supervisor does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(run_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=CHILD_ENV,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
    return holder


def make_record(
    run_id: str,
    *,
    status: str = SUCCEEDED,
    created: str = "2026-01-02T03:04:05.123456Z",
    argv: tuple[str, ...] = ("python", "train.py", "--lr", "0.1"),
    seed: int = 1234,
    exit_code: int | None = 0,
    supervisor: Supervisor | None = None,
    dirty: bool = False,
) -> RunRecord:
    """A complete, plausible RunRecord; `exit_code=None` leaves out the process result."""
    process = None
    if exit_code is not None:
        process = ProcessResult(
            exit_code=exit_code,
            signal=None,
            wall_time=12.5,
            cpu_time=11.0,
            peak_rss=2**30,
            peak_gpu_memory=None,
            stdout_bytes=100,
            stderr_bytes=0,
        )
    return RunRecord(
        id=run_id,
        status=status,
        created=created,
        repro_version="0.1.0",
        supervisor=supervisor or this_supervisor(platform.node(), boot_id()),
        code=CodeState(commit="a" * 40, branch="main", describe=None, remotes=(), dirty=dirty),
        command=CommandInfo(
            argv=argv,
            exec_argv=(sys.executable, *argv[1:]),
            cwd=".",
            executable=sys.executable,
            interpreter=sys.executable,
        ),
        determinism=Determinism(seed=seed, seed_source="cli", injected={}, user_set={}),
        env=EnvCapture(values={"LANG": "C.UTF-8"}, names_only=("HOME",), redacted=()),
        system=SystemInfo(
            hostname=platform.node(),
            os="Linux",
            os_release="Debian 12",
            kernel="6.1",
            machine="x86_64",
            python_version="3.11.7",
            python_implementation="CPython",
            cpu_model="Test CPU",
            cpu_count_logical=2,
            cpu_count_physical=1,
            memory_total=2**34,
        ),
        packages=Unavailable("not captured in tests"),
        gpu=Unavailable("no GPU"),
        cuda=Unavailable("no GPU"),
        process=process,
    )


def add_run(store: Store, **fields: Any) -> RunRecord:
    run_id, _ = store.new_run()
    record = make_record(run_id, **fields)
    store.write_record(record)
    return record


def add_run_with_id(store: Store, run_id: str, **fields: Any) -> RunRecord:
    store.run_dir(run_id).mkdir()
    record = make_record(run_id, **fields)
    store.write_record(record)
    return record
