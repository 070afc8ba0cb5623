"""The launch of the user's command, with real children, real signals and real files."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.children import SIGINT_CHILD
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_run.core.errors import CommandNotExecutableError, CommandNotFoundError
from repro_run.execute import resolve_command, run_process, which
from repro_run.models import ProcessResult

PY = sys.executable
LINUX = sys.platform.startswith("linux")

# Runs run_process in its own process, so a test can signal (or SIGKILL) the supervisor.
RUNNER = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    from repro_run.execute import run_process
    from repro_run.models import to_json_dict

    args = json.loads(sys.argv[1])
    # A shell that started us in the background may have set these to SIG_IGN.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    devnull = open(os.devnull, "wb") if args["quiet"] else None
    result = run_process(
        args["argv"], cwd=Path(args["cwd"]), env=dict(os.environ), log_path=Path(args["log"]),
        secrets=args["secrets"], kill_grace=args["kill_grace"], drain_timeout=args["drain_timeout"],
        stdout=devnull, stderr=devnull,
    )
    out = to_json_dict(result)
    # Linux keeps ru_maxrss across execve, so a parent of 300 MB (a pytest worker that imported
    # torch) would count; VmHWM is this process's own peak (its address space is new at exec).
    try:
        with open("/proc/self/status") as status:
            hwm = [line for line in status if line.startswith("VmHWM:")]
        out["supervisor_maxrss"] = int(hwm[0].split()[1])  # KiB, as ru_maxrss on Linux
    except (OSError, IndexError):
        out["supervisor_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(args["result"]).write_text(json.dumps(out))
    """
)


class Supervisor:
    """A RUNNER process: its stdout carries the child's stdout (the live tee)."""

    def __init__(self, tmp_path: Path, argv: list[str], **options: Any) -> None:
        self.log = tmp_path / "output.log"
        self.result_path = tmp_path / "result.json"
        args = {
            "argv": argv,
            "cwd": str(tmp_path),
            "log": str(self.log),
            "result": str(self.result_path),
            "quiet": options.pop("quiet", False),
            "secrets": options.pop("secrets", []),
            "kill_grace": options.pop("kill_grace", 10.0),
            "drain_timeout": options.pop("drain_timeout", 2.0),
        }
        self.proc = subprocess.Popen(
            [PY, "-c", RUNNER, json.dumps(args)],
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "supervisor.err").open("wb"),
            **options,
        )
        self.seen = b""

    def read_until(self, marker: bytes, timeout: float = 10.0) -> bytes:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {marker!r} within {timeout} s; got {self.seen!r}"
            if select.select([self.proc.stdout], [], [], remaining)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, f"supervisor output ended before {marker!r}: {self.seen!r}"
                self.seen += chunk
        return self.seen

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def result(self, timeout: float = 20.0) -> dict[str, Any]:
        assert self.proc.wait(timeout) == 0, (self.log.parent / "supervisor.err").read_text()
        result: dict[str, Any] = json.loads(self.result_path.read_text())
        return result


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[..., Supervisor]]:
    started: list[Supervisor] = []

    def _start(argv: list[str], **options: Any) -> Supervisor:
        started.append(Supervisor(tmp_path, argv, **options))
        return started[-1]

    yield _start
    for sup in started:
        if sup.proc.poll() is None:
            sup.proc.kill()  # the child goes too: PDEATHSIG
        sup.proc.wait()
        assert sup.proc.stdout is not None
        sup.proc.stdout.close()


def run(tmp_path: Path, argv: list[str], **kwargs: Any) -> tuple[ProcessResult, bytes, bytes]:
    """run_process in this process; returns the result, the log and the terminal's stdout."""
    out, err = io.BytesIO(), io.BytesIO()
    log = tmp_path / "output.log"
    result = run_process(
        argv, cwd=tmp_path, env=dict(os.environ), log_path=log, stdout=out, stderr=err, **kwargs
    )
    return result, log.read_bytes(), out.getvalue()


def session_members(sid: int) -> list[int]:
    """Live processes (zombies excluded) whose session id is `sid`."""
    if not LINUX:
        import psutil

        members = []
        for proc in psutil.process_iter():
            try:
                if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                    members.append(proc.pid)
            except (OSError, psutil.Error):
                pass
        return members
    members = []
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = path.read_text()
        except OSError:
            continue
        state, _ppid, _pgrp, session = text[text.rindex(")") + 2 :].split()[:4]
        if int(session) == sid and state != "Z":
            members.append(int(path.parent.name))
    return members


def pid_alive(pid: int) -> bool:
    if LINUX:
        try:
            stat_text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat_text[stat_text.rindex(")") + 2] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- exit codes ------------------------------------------------------------------------
@pytest.mark.parametrize("code", [0, 1, 2, 42, 255])
def test_exit_code_passes_through(tmp_path: Path, code: int) -> None:
    result, _, _ = run(tmp_path, ["sh", "-c", f"exit {code}"])
    assert (result.exit_code, result.signal) == (code, None)


def test_segfault_gives_139_and_signal_name(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, ["sh", "-c", "kill -SEGV $$"])
    assert (result.exit_code, result.signal) == (139, "SIGSEGV")


def test_sigkilled_child_gives_137(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, ["sh", "-c", "kill -9 $$"])
    assert (result.exit_code, result.signal) == (137, "SIGKILL")


# --- signals -------------------------------------------------------------------------------
def test_sigint_is_forwarded_once_and_final_line_logged(
    supervise: Callable[..., Supervisor],
) -> None:
    sup = supervise([PY, "-c", SIGINT_CHILD])
    sup.read_until(b"ready")
    sup.signal(signal.SIGINT)
    result = sup.result()
    assert (result["exit_code"], result["stop_reason"]) == (130, "SIGINT")
    assert b"stopping after 1 SIGINT" in sup.log.read_bytes()


def test_second_sigint_kills_the_group_at_once(supervise: Callable[..., Supervisor]) -> None:
    child = (
        "import signal, time\n"
        "signal.signal(signal.SIGINT, lambda *_: print('ignoring SIGINT', flush=True))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    sup = supervise([PY, "-c", child])
    sup.read_until(b"ready")
    sup.signal(signal.SIGINT)
    sup.read_until(b"ignoring SIGINT")
    started = time.monotonic()
    sup.signal(signal.SIGINT)
    result = sup.result()
    assert time.monotonic() - started < 5
    assert (result["exit_code"], result["signal"], result["stop_reason"]) == (
        137,
        "SIGKILL",
        "SIGINT",
    )


def test_sigterm_ignored_by_child_is_followed_by_sigkill_after_grace(
    supervise: Callable[..., Supervisor],
) -> None:
    child = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    sup = supervise([PY, "-c", child], kill_grace=0.5)
    sup.read_until(b"ready")
    started = time.monotonic()
    sup.signal(signal.SIGTERM)
    result = sup.result()
    assert 0.4 < time.monotonic() - started < 5
    assert (result["exit_code"], result["signal"], result["stop_reason"]) == (
        137,
        "SIGKILL",
        "SIGTERM",
    )


def test_sighup_is_forwarded_as_sigterm(supervise: Callable[..., Supervisor]) -> None:
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('got SIGTERM', flush=True), sys.exit(3)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    sup = supervise([PY, "-c", child])
    sup.read_until(b"ready")
    sup.signal(signal.SIGHUP)
    result = sup.result()
    assert (result["exit_code"], result["stop_reason"]) == (3, "SIGHUP")
    assert b"got SIGTERM" in sup.log.read_bytes()


# The workers and the sleep ignore SIGINT and SIGTERM: only repro's final SIGKILL ends them.
SPAWNING_CHILD = """
import multiprocessing, os, signal, subprocess, sys, time

def worker():
    time.sleep(1000)

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen(["sh", "-c", "sleep 1000 >/dev/null 2>&1 &"])
    multiprocessing.get_context("fork").Process(target=worker).start()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(f"sid {os.getsid(0)}", flush=True)
    if sys.argv[1] == "exit":
        os._exit(0)  # no multiprocessing join at exit
    time.sleep(1000)
"""


@pytest.mark.parametrize("ending", ["exit", "SIGINT", "SIGTERM"])
def test_no_process_of_the_session_remains(
    supervise: Callable[..., Supervisor], tmp_path: Path, ending: str
) -> None:
    script = tmp_path / "spawn.py"
    script.write_text(SPAWNING_CHILD)
    sup = supervise([PY, str(script), ending], drain_timeout=0.3, kill_grace=0.5)
    line = sup.read_until(b"\n").decode()
    sid = int(line.split("sid ")[1].split()[0])
    if ending != "exit":
        sup.signal(getattr(signal, ending))
    result = sup.result()
    assert result["orphans_killed"] >= 2  # the sleep and the worker
    assert session_members(sid) == []


@pytest.mark.skipif(not LINUX, reason="PR_SET_PDEATHSIG exists only on Linux")
def test_child_exits_when_supervisor_is_sigkilled(supervise: Callable[..., Supervisor]) -> None:
    sup = supervise(
        [PY, "-c", "import os, time; print('pid', os.getpid(), flush=True); time.sleep(60)"]
    )
    child = int(sup.read_until(b"\n").split()[1])
    sup.signal(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)


def test_signal_handlers_are_restored(tmp_path: Path) -> None:
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
    run(tmp_path, ["true"])
    with pytest.raises(CommandNotFoundError):
        run(tmp_path, ["./missing"])
    after = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)]
    assert after == before


# --- output ---------------------------------------------------------------------------------
def test_interleaved_100mb_on_each_pipe_completes_in_bounded_memory(
    supervise: Callable[..., Supervisor],
) -> None:
    mib = 1 << 20
    child = (
        "import os\n"
        "out, err = b'o' * (1 << 20), b'e' * (1 << 20)\n"
        "for _ in range(100):\n"
        "    os.write(1, out); os.write(2, err)\n"
    )
    sup = supervise([PY, "-c", child], quiet=True)
    result = sup.result(timeout=60)
    assert (result["stdout_bytes"], result["stderr_bytes"]) == (100 * mib, 100 * mib)
    assert sup.log.stat().st_size == 200 * mib
    maxrss = result["supervisor_maxrss"] * (1 if sys.platform == "darwin" else 1024)
    assert maxrss < 100 * mib


def test_log_is_live_while_the_child_runs(supervise: Callable[..., Supervisor]) -> None:
    child = "import time; print('epoch 1 loss=0.5', flush=True); time.sleep(30)"
    sup = supervise([PY, "-c", child], secrets=["epoch 1 loss=0.5 but longer"])
    sup.read_until(b"loss=0.5")
    deadline = time.monotonic() + 1
    while sup.log.read_bytes() != b"epoch 1 loss=0.5\n" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sup.log.read_bytes() == b"epoch 1 loss=0.5\n"
    sup.signal(signal.SIGTERM)
    assert sup.result()["stop_reason"] == "SIGTERM"


def test_last_line_without_newline_before_os_exit_is_logged(tmp_path: Path) -> None:
    child = "import os; os.write(1, b'first\\nlast words'); os._exit(0)"
    result, log, _ = run(tmp_path, [PY, "-c", child])
    assert log == b"first\nlast words"
    assert result.stdout_bytes == len(log)


def test_grandchild_holding_the_pipe_does_not_hang(tmp_path: Path) -> None:
    started = time.monotonic()
    result, log, _ = run(tmp_path, ["sh", "-c", "(sleep 100 &); echo done"], drain_timeout=0.5)
    assert time.monotonic() - started < 0.5 + 2
    assert log == b"done\n"
    assert result.exit_code == 0
    assert result.orphans_killed >= 1


def test_piped_stdin_reaches_the_child(supervise: Callable[..., Supervisor]) -> None:
    sup = supervise([PY, "-c", "print(input().upper())"], stdin=subprocess.PIPE)
    assert sup.proc.stdin is not None
    sup.proc.stdin.write(b"hi\n")
    sup.proc.stdin.close()
    assert sup.result()["exit_code"] == 0
    assert sup.log.read_bytes() == b"HI\n"


def test_odd_bytes_are_stored_verbatim(tmp_path: Path) -> None:
    payload = b"\xff\xfe\x00not utf-8\x00\xc3(" + b"x" * (5 * 1024 * 1024)
    (tmp_path / "payload.bin").write_bytes(payload)
    child = "import sys; sys.stdout.buffer.write(open('payload.bin', 'rb').read())"
    result, log, terminal = run(tmp_path, [PY, "-c", child])
    assert log == payload
    assert terminal == payload
    assert result.stdout_bytes == len(payload)


def test_secret_is_masked_in_the_log_but_raw_on_the_terminal(tmp_path: Path) -> None:
    secret = "rpr_CANARY_5f2c9e0d81b7"
    child = textwrap.dedent(
        f"""
        import os, time
        os.write(1, b"token={secret}\\n")
        os.write(2, b"e" * (4096 - 7) + b"{secret[:7]}")  # split at a 4 KiB boundary
        time.sleep(0.1)  # lands in a second read
        os.write(2, b"{secret[7:]} end\\n")
        """
    )
    out, err = io.BytesIO(), io.BytesIO()
    log_path = tmp_path / "output.log"
    run_process(
        [PY, "-c", child],
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=log_path,
        secrets=[secret],
        stdout=out,
        stderr=err,
    )
    log = log_path.read_bytes()
    assert secret.encode() not in log
    assert b"token=***\n" in log
    assert log.endswith(b"e" * 10 + b"*** end\n")
    assert out.getvalue() == f"token={secret}\n".encode()
    assert secret.encode() in err.getvalue()


# --- resources ------------------------------------------------------------------------------
def test_resources_are_measured(tmp_path: Path) -> None:
    seen: list[Collection[int]] = []

    def gpu_memory(pids: Collection[int]) -> int:
        seen.append(pids)
        return 123

    child = (
        "import time; x = bytearray(100 << 20); x[::4096] = b'1' * len(x[::4096]); time.sleep(0.6)"
    )
    result, _, _ = run(tmp_path, [PY, "-c", child], gpu_memory=gpu_memory)
    assert result.peak_rss is not None and result.peak_rss > 100 << 20
    assert result.peak_gpu_memory == 123
    assert seen and all(pids for pids in seen)
    assert result.cpu_time > 0
    assert 0.6 <= result.wall_time < 5


def test_no_gpu_callable_means_no_gpu_memory(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, ["true"])
    assert result.peak_gpu_memory is None


# --- launch failures ------------------------------------------------------------------------
def test_launch_of_missing_command_is_127(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFoundError) as err:
        run(tmp_path, ["./missing"])
    assert err.value.exit_code == 127


def test_launch_of_non_executable_file_is_126(tmp_path: Path) -> None:
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    with pytest.raises(CommandNotExecutableError) as err:
        run(tmp_path, ["./tool"])
    assert err.value.exit_code == 126


def test_launch_with_a_bad_interpreter_line_is_126(tmp_path: Path) -> None:
    executable(tmp_path / "tool", "#!/nonexistent/python\n")
    with pytest.raises(CommandNotExecutableError, match="tool"):
        run(tmp_path, ["./tool"])


# --- resolve_command ------------------------------------------------------------------------
def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_py_script_runs_with_the_given_python(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    resolved = resolve_command(["train.py", "--lr", "1"], cwd=tmp_path, path="", python=PY)
    assert resolved.exec_argv == (PY, "train.py", "--lr", "1")
    assert (resolved.executable, resolved.interpreter) == (PY, PY)


def test_missing_py_script_is_127_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFoundError, match=r"trian\.py") as err:
        resolve_command(["trian.py"], cwd=tmp_path, path="", python=PY)
    assert err.value.exit_code == 127


def test_command_not_on_path_is_127(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFoundError, match=r"no-such-tool.*PATH"):
        resolve_command(["no-such-tool"], cwd=tmp_path, path=str(tmp_path), python=PY)


def test_not_executable_file_is_126(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    with pytest.raises(CommandNotExecutableError, match=r"permission denied.*chmod"):
        resolve_command(["./run.sh"], cwd=tmp_path, path="", python=PY)


def test_not_executable_file_on_path_is_126(tmp_path: Path) -> None:
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    with pytest.raises(CommandNotExecutableError, match="permission denied"):
        resolve_command(["tool"], cwd=tmp_path, path=str(tmp_path), python=PY)


def test_directory_is_126(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    with pytest.raises(CommandNotExecutableError, match="is a directory"):
        resolve_command(["./tools"], cwd=tmp_path, path="", python=PY)


def test_path_lookup_finds_the_executable(tmp_path: Path) -> None:
    tool = executable(tmp_path / "bin" / "tool", "#!/bin/sh\necho hi\n")
    path = os.pathsep.join([str(tmp_path / "empty"), str(tool.parent)])
    resolved = resolve_command(["tool", "-v"], cwd=tmp_path, path=path, python=PY)
    assert resolved.exec_argv == ("tool", "-v")
    assert (resolved.executable, resolved.interpreter) == (str(tool), None)


def test_relative_path_is_resolved_against_cwd(tmp_path: Path) -> None:
    tool = executable(tmp_path / "scripts" / "go.sh", "#!/bin/sh\n")
    resolved = resolve_command(["scripts/go.sh"], cwd=tmp_path, path="", python=PY)
    assert resolved.executable == str(tool)


def test_shebang_naming_a_python_gives_the_interpreter(tmp_path: Path) -> None:
    venv_python = str(Path(PY).parent / "python")  # a venv's python, as console scripts name it
    executable(tmp_path / "bin" / "torchrun", f"#!{venv_python}\nimport sys\n")
    resolved = resolve_command(["torchrun"], cwd=tmp_path, path=str(tmp_path / "bin"), python=PY)
    assert resolved.interpreter == venv_python


def test_env_shebang_looks_the_python_up_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    executable(bin_dir / "tool", "#!/usr/bin/env python3\nprint(1)\n")
    (bin_dir / "python3").symlink_to(os.path.realpath(PY))
    resolved = resolve_command(["tool"], cwd=tmp_path, path=str(bin_dir), python=PY)
    assert resolved.interpreter == str(bin_dir / "python3")


def test_pip_sh_launcher_for_long_paths_gives_the_interpreter(tmp_path: Path) -> None:
    launcher = "#!/bin/sh\n'''exec' \"/opt/my envs/bin/python\" \"$0\" \"$@\"\n' '''\n"
    executable(tmp_path / "bin" / "tool", launcher)
    resolved = resolve_command(["tool"], cwd=tmp_path, path=str(tmp_path / "bin"), python=PY)
    assert resolved.interpreter == "/opt/my envs/bin/python"


def test_shebang_of_other_interpreter_gives_none(tmp_path: Path) -> None:
    executable(tmp_path / "bin" / "tool", "#!/usr/bin/env bash\necho hi\n")
    resolved = resolve_command(["tool"], cwd=tmp_path, path=str(tmp_path / "bin"), python=PY)
    assert resolved.interpreter is None


def test_venv_python_keeps_its_unresolved_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3.11").symlink_to(os.path.realpath(PY))
    resolved = resolve_command(
        ["python3.11", "-c", "1"], cwd=tmp_path, path=str(bin_dir), python=PY
    )
    assert resolved.exec_argv == ("python3.11", "-c", "1")
    assert resolved.executable == resolved.interpreter == str(bin_dir / "python3.11")


# Each entry: (directory, what the name is in it): an executable, a plain file, a directory.
_KINDS = st.sampled_from(["exec", "plain", "dir", "absent"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), _KINDS), min_size=0, max_size=6))
def test_which_finds_what_shutil_which_finds(tmp_path_factory: Any, layout: list[Any]) -> None:
    """repro's own `which` (shutil's import costs ~2.5 ms a run) agrees with shutil.which."""
    import shutil

    base = tmp_path_factory.mktemp("path")
    dirs = [base / f"d{i}" for i in range(4)]
    for directory in dirs:
        directory.mkdir(exist_ok=True)
    for index, kind in layout:
        target = dirs[index] / "tool"
        if target.exists() or kind == "absent":
            continue
        if kind == "dir":
            target.mkdir()
        else:
            target.write_text("#!/bin/sh\n")
            target.chmod(0o755 if kind == "exec" else 0o644)
    search = os.pathsep.join(str(dirs[i]) for i, _ in layout)
    assert which("tool", search) == shutil.which("tool", path=search)
