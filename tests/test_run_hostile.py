"""`repro run` against a hostile command or environment (issue 14): the store removed or full
at the end of the run, metrics files that are not files, a child that leaves its session,
non-UTF-8 environment and arguments, data or outputs that are the store itself. The real CLI,
real git repositories, real processes and file systems.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers.cli import REPRO, record_of, repro, run_dirs, store_bytes
from helpers.fs import small_tmpfs
from helpers.repos import MakeRepo

from repro_run.app.run import initial_record
from repro_run.app.run.plan import RunOptions
from repro_run.app.run.run import run
from repro_run.core.errors import RunNotRecordedError
from repro_run.core.record import replace

WAIT_FOR_RECORD = (
    "import glob, os, shutil, sys, time\n"
    "store = os.environ['REPRO_HOME']\n"
    "while not glob.glob(os.path.join(store, 'runs', '*', 'run.json')):\n"
    "    time.sleep(0.01)\n"
)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({".gitignore": "m.jsonl\nm.csv\nout/\n", "train.py": "print('hi')\n"})


# --- the store removed or full at the end of the run ----------------------------------------
def test_a_store_removed_while_the_command_runs_keeps_the_commands_exit_status(
    project: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    script = "open('m.jsonl', 'w').write('{\"loss\": 1}\\n')\n" + WAIT_FOR_RECORD
    script += "shutil.rmtree(store)\nsys.exit(5)\n"
    done = repro(project, "run", "--metrics-file", "m.jsonl", "--", sys.executable, "-c", script,
                 env={"REPRO_HOME": str(store)})  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert "metrics not stored" in done.stderr and "Traceback" not in done.stderr


def test_a_store_gone_before_the_running_record_keeps_the_commands_exit_status(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command removes the store before its `running` record is written (the capture
    waits for that here, to make the race certain): nothing can be recorded, and the error
    repro exits with carries the command's status."""
    store = tmp_path / "store"
    real = initial_record.write_initial_record

    def after_the_store_is_gone(*args: Any) -> Any:
        while store.exists():
            time.sleep(0.01)
        return real(*args)

    monkeypatch.setattr(initial_record, "write_initial_record", after_the_store_is_gone)
    monkeypatch.setenv("REPRO_HOME", str(store))
    script = f"import shutil, sys; shutil.rmtree({str(store)!r}); sys.exit(7)"
    with pytest.raises(RunNotRecordedError) as raised:
        # No seeding hook: at the child's exit it would make the run's directory again.
        options = RunOptions(command=(sys.executable, "-c", script), cwd=project)
        run(replace(options, auto_seed=False))
    assert raised.value.exit_code == 7
    assert "could not be recorded (cannot " in str(raised.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs: Linux")
def test_a_full_disk_at_the_end_keeps_the_commands_exit_status(
    project: Path, tmp_path: Path
) -> None:
    with small_tmpfs(tmp_path / "small", "2m") as mount:
        script = "open('m.jsonl', 'w').write('{\"loss\": 1}\\n' * 20000)\n" + WAIT_FOR_RECORD
        script += f"fill = open({str(mount / 'fill')!r}, 'wb')\n"
        script += "try:\n    while True: fill.write(b'x' * 4096); fill.flush()\n"
        script += "except OSError:\n    sys.exit(7)\n"
        done = repro(project, "run", "--metrics-file", "m.jsonl", "--", sys.executable, "-c",
                     script, env={"REPRO_HOME": str(mount / "store")})  # fmt: skip
        assert done.returncode == 7, done.stderr
        assert "No space left on device" in done.stderr and "Traceback" not in done.stderr


def test_log_metrics_never_raises_when_the_store_is_gone(project: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    script = WAIT_FOR_RECORD + "shutil.rmtree(store)\nimport repro_run\n"
    script += "repro_run.log_metrics(step=1, loss=0.5)\nrepro_run.log_metrics(step=2, loss=0.25)\n"
    script += "print('training went on', flush=True)\n"
    done = repro(project, "run", "--", sys.executable, "-c", script, env={"REPRO_HOME": str(store)})
    assert done.returncode == 0, done.stderr
    assert "training went on" in done.stdout
    assert done.stderr.count("repro_run.log_metrics: metrics cannot be written") == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs: Linux")
def test_log_metrics_never_raises_on_a_full_disk(project: Path, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "2m") as mount:
        script = WAIT_FOR_RECORD + f"fill = open({str(mount / 'fill')!r}, 'wb')\n"
        script += "try:\n    while True: fill.write(b'x' * 4096); fill.flush()\n"
        script += "except OSError:\n    pass\nimport repro_run\n"
        script += "for step in range(1000): repro_run.log_metrics(step=step, loss=0.5)\n"
        script += "os.remove(fill.name)\nprint('training went on', flush=True)\n"
        done = repro(project, "run", "--", sys.executable, "-c", script,
                     env={"REPRO_HOME": str(mount / "store")})  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "training went on" in done.stdout
        assert "No space left on device" in done.stderr


# --- metrics files that are not files ---------------------------------------------------------
def test_a_metrics_file_linked_to_dev_zero_is_not_read(project: Path) -> None:
    script = "import os; os.symlink('/dev/zero', 'm.jsonl')"
    done = repro(project, "run", "--metrics-file", "m.jsonl", "--", sys.executable, "-c", script,
                 timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "metrics file is not a regular file" in done.stderr
    assert any("not a regular file" in p for p in record_of(project)["problems"])


def test_a_metrics_file_that_is_a_fifo_does_not_hang_the_run(project: Path) -> None:
    done = repro(project, "run", "--metrics-file", "m.jsonl", "--", "mkfifo", "m.jsonl",
                 timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "metrics file is not a regular file" in done.stderr


def test_the_runs_own_metrics_file_replaced_by_a_fifo_does_not_hang_the_run(
    project: Path,
) -> None:
    script = "import os; os.mkfifo(os.environ['REPRO_METRICS'])"
    done = repro(project, "run", "--", sys.executable, "-c", script, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "metrics file is not a regular file" in done.stderr


def test_a_metrics_file_over_the_size_limit_is_reported_not_read(project: Path) -> None:
    script = "open('m.jsonl', 'w').truncate(101_000_000)"  # sparse: no disk, no time
    done = repro(project, "run", "--metrics-file", "m.jsonl", "--", sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert "is 101.0 MB, more than the 100.0 MB repro reads; not read" in done.stderr


# --- a child that leaves the session ---------------------------------------------------------
@pytest.fixture
def escapee_pid(tmp_path: Path) -> Iterator[Path]:
    """Where the escaping process writes its pid; it is killed at the end, whatever happened."""
    pid_file = tmp_path / "escapee.pid"
    yield pid_file
    if pid_file.exists():
        with contextlib.suppress(psutil.Error):
            psutil.Process(int(pid_file.read_text())).kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER: Linux")
def test_a_child_that_calls_setsid_does_not_outlive_the_run(
    project: Path, escapee_pid: Path
) -> None:
    escape = f"setsid sh -c 'echo $$ > \"{escapee_pid}\"; exec sleep 300' >/dev/null 2>&1 &"
    wait = f'while [ ! -s "{escapee_pid}" ]; do sleep 0.01; done'
    done = repro(project, "run", "--", "sh", "-c", f"{escape}\n{wait}\n", timeout=30)
    assert done.returncode == 0, done.stderr
    pid = int(escapee_pid.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert record_of(project)["process"]["orphans_killed"] == 1


ZOMBIES_OF_REPRO = """
import os, subprocess, time
subprocess.run("sleep 0.05 &", shell=True)  # the shell exits: sleep is repro's orphan now
time.sleep(0.6)
zombies = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    zombies += state == "Z" and int(ppid) == os.getppid()
print("zombies", zombies)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_CHILD_SUBREAPER: Linux")
def test_orphans_that_exit_during_the_run_are_reaped_at_once(project: Path) -> None:
    """As the subreaper, repro adopts every orphan of the command: those that exit while the
    command runs must not pile up as its zombies (a long run could exhaust the pids)."""
    done = repro(project, "run", "--", sys.executable, "-c", ZOMBIES_OF_REPRO)
    assert done.returncode == 0, done.stderr
    assert "zombies 0" in done.stdout


# --- non-UTF-8 environment and arguments -----------------------------------------------------
PRINT_TOKEN = "import os, sys; sys.stdout.buffer.write(os.environb[b'HF_TOKEN'] + b'\\n')"


def test_a_non_utf8_secret_in_the_environment_is_masked_and_the_run_completes(
    project: Path,
) -> None:
    token = b"\xff\xfe-hf-secret-value-1234"
    env = {**{k.encode(): v.encode() for k, v in os.environ.items()}, b"HF_TOKEN": token}
    done = subprocess.run([REPRO, "run", "--", sys.executable, "-c", PRINT_TOKEN], cwd=project,
                          env=env, capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert token in done.stdout  # the terminal gets the child's output as it is
    (run_dir,) = run_dirs(project)
    assert b"***" in (run_dir / "output.log").read_bytes()
    assert b"secret-value" not in store_bytes(project)
    assert record_of(project)["status"] == "succeeded"


def test_a_non_utf8_argument_is_recorded_byte_exact(project: Path) -> None:
    argument = b"caf\xe9-\xff"
    done = subprocess.run([REPRO.encode(), b"run", b"--", b"echo", argument], cwd=project,
                          capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run_dir,) = run_dirs(project)
    argv = json.loads((run_dir / "run.json").read_bytes())["command"]["argv"]
    assert [os.fsencode(a) for a in argv] == [b"echo", argument]


def test_a_non_utf8_secret_argument_is_masked(project: Path) -> None:
    done = subprocess.run([REPRO.encode(), b"run", b"--", b"echo", b"--password=x\xfe-pw-1234"],
                          cwd=project, capture_output=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run_dir,) = run_dirs(project)
    assert b"pw-1234" not in (run_dir / "output.log").read_bytes()
    assert b"pw-1234" not in (run_dir / "run.json").read_bytes()


# --- data or outputs that are the store itself ------------------------------------------------
def test_data_inside_the_store_is_refused(project: Path) -> None:
    assert repro(project, "run", "train.py").returncode == 0  # the store exists now
    done = repro(project, "run", "--data", ".repro", "train.py")
    assert done.returncode == 2
    assert done.stderr == (
        f"repro: error: --data .repro is repro's store ({project / '.repro'}), which holds the "
        "runs themselves: name a path outside it\n"
    )
    assert len(run_dirs(project)) == 1


def test_outputs_inside_the_store_are_refused(project: Path) -> None:
    done = repro(project, "run", "--outputs", ".repro/runs", "train.py")
    assert done.returncode == 2
    assert "--outputs .repro/runs is inside repro's store" in done.stderr


def test_outputs_holding_a_store_set_by_repro_home_are_refused(project: Path) -> None:
    env = {"REPRO_HOME": str(project / "out" / "store")}
    done = repro(project, "run", "--outputs", "out", "train.py", env=env)
    assert done.returncode == 2
    assert "--outputs out holds repro's store" in done.stderr and "REPRO_HOME" in done.stderr


def test_outputs_holding_the_default_store_skip_it(project: Path) -> None:
    # The run writes out/model.bin: a file there before the run would not be its output.
    write = "import os; os.makedirs('out'); open('out/model.bin', 'wb').write(b'w')"
    done = repro(project, "run", "--outputs", ".", "--", sys.executable, "-c", write)
    assert done.returncode == 0, done.stderr
    (output,) = record_of(project)["outputs"]
    name = output["manifest_object"]
    manifest = project / ".repro" / "objects" / name[:2] / name[2:]
    assert b"out/model.bin" in manifest.read_bytes()
    assert b".repro/" not in manifest.read_bytes()
