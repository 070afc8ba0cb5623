"""Helpers for end-to-end tests: the installed `repro` entry point run as a real subprocess."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPRO = str(Path(sys.executable).with_name("repro"))


def repro(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `repro ARGS...` in `cwd` and return the finished process (text output)."""
    return subprocess.run(
        [REPRO, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input.decode() if input is not None else None,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    """`done` failed with exit `code` and one line `repro: error: ...` holding each needle."""
    assert done.returncode == code, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("repro: error: ")
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0]


def record_of(cwd: Path, ref: str = "@") -> dict[str, Any]:
    """The JSON record of run `ref`, read through `repro show --json`."""
    done = repro(cwd, "show", "--json", ref)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def run_dirs(root: Path) -> list[Path]:
    runs = root / ".repro" / "runs"
    return sorted(runs.iterdir()) if runs.exists() else []


# The real `repro` drawing the first format's 4 random characters, as it did before they
# became 12: the only difference between the two formats (store/ids.py).
_FIRST_FORMAT_REPRO = """\
from repro_run.store import ids
ids.RANDOM_CHARS = ids.LEGACY_RANDOM_CHARS
from repro_run.cli.main import main
main()
"""


def run_first_format(root: Path, *args: str) -> str:
    """`repro run ARGS...` in `root` as the first format made it: the new run's 10-character ID."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_FORMAT_REPRO, "run", *args],
        cwd=root,
        env=dict(os.environ),  # as `repro()` passes it: not the C environ readline may have set
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    run_id = str(record_of(root)["id"])
    assert len(run_id) == 10, run_id
    return run_id


def store_bytes(root: Path) -> bytes:
    """Every byte under `.repro/`: what a grep for a leaked secret must search."""
    chunks = []
    for path in sorted((root / ".repro").rglob("*")):
        if path.is_file():
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def start_run(cwd: Path, script: str, ready: bytes, **env: str) -> subprocess.Popen[bytes]:
    """`repro run -- python -c SCRIPT` in `cwd`; returns once the child printed `ready`."""
    proc = subprocess.Popen(
        [REPRO, "run", "--", sys.executable, "-c", script],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )
    assert proc.stdout is not None and proc.stdout.readline() == ready + b"\n"
    return proc


def start_long_run(cwd: Path) -> subprocess.Popen[bytes]:
    """`repro run` of a child that prints "up" then sleeps 30 s; returns once it is up.

    "Up" means the child printed and its `running` record is on disk: repro captures the
    environment and writes that record while the child starts, so the child may print first.
    """
    proc = start_run(cwd, "import time; print('up', flush=True); time.sleep(30)", b"up")
    deadline = time.monotonic() + 10
    while not any((d / "run.json").exists() for d in run_dirs(cwd)):
        assert time.monotonic() < deadline, "the running record was never written"
        time.sleep(0.01)
    return proc


# Runs argv[2:] and writes the peak RSS (KiB on Linux) of its largest descendant to argv[1]:
# a fresh process whose only children are that command's, so no earlier child counts.
_PEAK_RSS = """\
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def repro_peak_rss(
    cwd: Path, *args: str, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `repro ARGS...` like `repro`; also return its peak resident memory in bytes."""
    with tempfile.TemporaryDirectory() as scratch:
        peak = Path(scratch) / "peak"
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS, str(peak), REPRO, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return done, int(peak.read_text()) * 1024


def on_terminal(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """What `repro ARGS` writes to a pseudo-terminal (its stdin, stdout and stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [REPRO, *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **(env or {})},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode()
