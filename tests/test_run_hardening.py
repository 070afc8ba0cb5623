"""`repro run` under bad conditions: full disk, a command that cannot start, a secret in the
patch, code edited during the run, stop signals (reliability scenarios A5, A9, C32, D39, D40,
D50, E60). The real CLI, real git repositories and real processes.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import record_of, repro, run_dirs, start_run, store_bytes
from helpers.fs import small_tmpfs
from helpers.repos import MakeRepo, commit_all

from repro_run.app import maintenance
from repro_run.app.run.plan import RunOptions
from repro_run.app.run.run import run
from repro_run.app.workspace import Workspace
from repro_run.capture import git as git_capture
from repro_run.models import TreeStatus
from repro_run.store import objects as objects_module
from repro_run.store.durable import write_all as real_write_all

CANARY = "rpr_CANARY_5f2c9e0d81b7"
WRITE_AND_EXIT_3 = (
    "import os, sys; os.makedirs('out', exist_ok=True)\n"
    "open('out/model.bin', 'wb').write(b'w' * (4 << 20))\n"
    "open('out/small.txt', 'w').write('ok')\n"
    "sys.exit(3)\n"
)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({".gitignore": "out/\n", "train.py": "print('hi')\n"})


def no_temp_files(root: Path) -> bool:
    store = root / ".repro"
    return not list((store / "objects" / "tmp").iterdir()) and not list(store.rglob("*.tmp-*"))


# --- C32: disk full while archiving ----------------------------------------------------------
def test_enospc_while_archiving_is_archive_failed_with_the_childs_exit_code(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fake at the boundary: object writes of 1 MiB and more fail half way with ENOSPC."""

    def write_all(fd: int, data: bytes) -> None:
        if os.fstat(fd).st_size + len(data) >= 1 << 20:
            real_write_all(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write_all(fd, data)

    monkeypatch.setattr(objects_module, "write_all", write_all)
    options = RunOptions(
        command=(sys.executable, "-c", WRITE_AND_EXIT_3), cwd=project, outputs=("out",)
    )
    record = run(options)
    monkeypatch.undo()
    assert record.status == "archive_failed"
    assert record.process is not None and record.process.exit_code == 3
    assert "No space left on device" in record.problems[0]
    assert record.outputs == ()  # no manifest naming a partial object
    assert no_temp_files(project)
    assert maintenance.fsck(Workspace.find(project)).ok


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs: Linux")
def test_a_really_full_disk_keeps_the_record_and_the_exit_code(
    project: Path, tmp_path: Path
) -> None:
    with small_tmpfs(tmp_path / "small", "1m") as store_dir:
        env = {"REPRO_HOME": str(store_dir / "store")}
        done = repro(project, "run", "--outputs", "out", "--", sys.executable, "-c",
                     WRITE_AND_EXIT_3, env=env)  # fmt: skip
        assert done.returncode == 3, done.stderr
        assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
        shown = json.loads(repro(project, "show", "--json", "@", env=env).stdout)
        assert shown["status"] == "archive_failed" and shown["process"]["exit_code"] == 3
        assert not list((store_dir / "store" / "objects" / "tmp").iterdir())
        assert repro(project, "fsck", env=env).returncode == 0


# --- D50: a command that cannot start ---------------------------------------------------------
def test_a_command_that_fails_to_exec_is_recorded_failed_to_start(project: Path) -> None:
    script = project / "bad.sh"
    script.write_text("#!/nonexistent/interpreter\necho never\n")
    script.chmod(0o755)
    commit_all(project)
    done = repro(project, "run", "./bad.sh")
    assert done.returncode == 126
    assert "Traceback" not in done.stderr and "cannot execute ./bad.sh" in done.stderr
    record = record_of(project)
    assert record["status"] == "failed_to_start" and record["process"]["exit_code"] == 126
    assert json.loads(repro(project, "list", "--json").stdout)[0]["status"] == "failed_to_start"


def test_a_missing_command_is_127_and_records_nothing(project: Path) -> None:
    done = repro(project, "run", "no-such-command-anywhere")
    assert done.returncode == 127 and run_dirs(project) == []


# --- A9: the dirty patch is scanned -----------------------------------------------------------
def test_a_secret_in_the_dirty_patch_flags_the_run(project: Path) -> None:
    (project / "settings.py").write_text("name = 'demo'\n")
    commit_all(project)
    (project / "settings.py").write_text(f"name = 'demo'\napi_key = \"{CANARY}x9Qz\"\n")
    done = repro(project, "run", "--allow-dirty", "train.py")
    assert done.returncode == 0, done.stderr
    assert "settings.py:2" in done.stderr and "secret_in_patch" in done.stderr
    record = record_of(project)
    assert "secret_in_patch" in record["flags"]
    assert record["secret_findings"] == [{"path": "settings.py", "line": 2, "kind": "assignment"}]
    assert CANARY not in (run_dirs(project)[0] / "run.json").read_text()


def test_an_ordinary_dirty_patch_is_not_flagged(project: Path) -> None:
    (project / "train.py").write_text("print('hi')\nlearning_rate = 0.001\nkey_dim = 64\n")
    assert repro(project, "run", "--allow-dirty", "train.py").returncode == 0
    assert record_of(project)["flags"] == []


# --- D40: a stop signal after the command ended ----------------------------------------------
def test_a_stop_signal_after_the_command_ended_still_finalises_the_record(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while repro archives outputs or reads metrics (the command has ended): the run's
    final record is written first, then repro stops; the record is not left `running`."""
    run_module = importlib.import_module("repro_run.app.run.run")
    real_archive = run_module.archive_outputs

    def archive_interrupted(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)  # the terminal's Ctrl-C, mid-archive
        return real_archive(*args, **kwargs)

    monkeypatch.setattr(run_module, "archive_outputs", archive_interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(RunOptions(command=("train.py",), cwd=project))
    record = record_of(project)
    assert (record["status"], record["process"]["exit_code"]) == ("succeeded", 0)
    assert record["ended"] is not None


# --- E60: code edited between the check and the end of the run -------------------------------
def test_an_edit_between_the_dirty_check_and_exec_taints_the_run(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_status = git_capture.WorkTreeQuery.status

    def status_then_edit(query: git_capture.WorkTreeQuery) -> TreeStatus:
        status = real_status(query)  # the preflight check: edit right after it, before exec
        (project / "train.py").write_text("print('edited')\n")
        return status

    monkeypatch.setattr(git_capture.WorkTreeQuery, "status", status_then_edit)
    record = run(RunOptions(command=("train.py",), cwd=project))
    assert "tainted" in record.flags
    assert [(p.path, p.state) for p in record.tainted_paths] == [("train.py", "modified")]


def test_an_edit_while_the_child_runs_taints_the_run(project: Path) -> None:
    edit = "open('train.py', 'a').write('# changed during the run\\n')"
    done = repro(project, "run", "--", sys.executable, "-c", edit)
    assert done.returncode == 0 and "tainted" in done.stderr
    assert record_of(project)["flags"] == ["tainted"]


def test_ctrl_c_cutting_the_drain_short_still_rechecks_a_large_tree(
    make_repo: MakeRepo,
) -> None:
    """The re-check's git starts as the command exits and is read after the drain. A
    grandchild holding the output pipes makes the drain wait; the user's Ctrl-C (to the whole
    process group) ends it. With ~1500 tracked files, git's listing fills its pipe and git
    waits: it must not die of that Ctrl-C, or the edit below would go unflagged."""
    files = {f"src/m{i}.py": f"x = {i}\n" for i in range(1500)}
    project = make_repo({**files, "train.py": "print('hi')\n"})
    script = (
        "import subprocess, sys\n"
        "open('train.py', 'a').write('# changed during the run\\n')\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print('exiting', flush=True)\n"
    )
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("repro")), "run", "--", sys.executable, "-c", script],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own group, as a shell job is: Ctrl-C reaches the group
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"exiting\n"
    time.sleep(1.5)  # the command has exited; repro drains the grandchild's pipes
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)
    record = record_of(project)
    assert record["flags"] == ["tainted"], record["problems"]
    assert [p["path"] for p in record["tainted_paths"]] == ["train.py"]


def test_new_untracked_outputs_do_not_taint(project: Path) -> None:
    done = repro(project, "run", "--", sys.executable, "-c", "open('result.txt', 'w').write('1')")
    assert done.returncode == 0
    assert record_of(project)["flags"] == []


# --- A5: the log is scrubbed of a denied env var's value, also across a 4 KiB boundary ---------
def test_a_secret_printed_by_the_child_never_reaches_the_store(project: Path) -> None:
    child = (
        "import os, time\n"
        "secret = os.environ['AWS_SECRET_ACCESS_KEY'].encode()\n"
        "os.write(1, b'key is ' + secret + b'\\n')\n"
        "os.write(2, b'e' * (4096 - 9) + secret[:9])\n"
        "time.sleep(0.2)\n"
        "os.write(2, secret[9:] + b' end\\n')\n"
    )
    done = repro(project, "run", "--", sys.executable, "-c", child,
                 env={"AWS_SECRET_ACCESS_KEY": CANARY})  # fmt: skip
    assert CANARY in done.stdout  # the live terminal shows it
    log = (run_dirs(project)[0] / "output.log").read_bytes()
    assert b"key is ***\n" in log and log.endswith(b"*** end\n")
    assert CANARY.encode() not in store_bytes(project)


# --- D39, D40: stop signals end in a complete record -------------------------------------------
def complete(record: dict[str, Any]) -> bool:
    return bool(record["ended"] and record["process"] and record["status"] != "running")


def test_sigterm_ignored_by_the_child_ends_in_sigkill_and_a_complete_record(
    project: Path,
) -> None:
    child = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    proc = start_run(project, child, b"ready", REPRO_KILL_GRACE="0.5")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 137 and time.monotonic() - started < 10
    record = record_of(project)
    assert complete(record) and record["status"] == "terminated"
    assert (record["process"]["exit_code"], record["process"]["signal"]) == (137, "SIGKILL")


def test_a_second_ctrl_c_kills_at_once_and_the_record_is_final(project: Path) -> None:
    child = (
        "import signal, time\n"
        "signal.signal(signal.SIGINT, lambda *_: print('ignoring', flush=True))\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    proc = start_run(project, child, b"ready")
    assert proc.stdout is not None
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline() == b"ignoring\n"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGINT
    record = record_of(project)
    assert complete(record) and record["status"] == "interrupted"
    assert record["process"]["signal"] == "SIGKILL"


# --- A8: package index credentials -----------------------------------------------------------
def test_package_index_credentials_never_reach_the_store(project: Path, tmp_path: Path) -> None:
    """A pip config's extra-index-url and PIP_EXTRA_INDEX_URL carry userinfo; neither is stored."""
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text(f"[global]\nextra-index-url = https://u:{CANARY}@idx/simple\n")
    env = {
        "PIP_CONFIG_FILE": str(pip_conf),
        "PIP_EXTRA_INDEX_URL": f"https://u:{CANARY}x@idx2/simple",
    }
    assert repro(project, "run", "train.py", env=env).returncode == 0
    captured = record_of(project)["env"]
    assert "PIP_EXTRA_INDEX_URL" in captured["redacted"]
    assert CANARY.encode() not in store_bytes(project)
