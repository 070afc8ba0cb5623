"""Runs that several supervisors record together, without Slurm: `repro run --join NAME` started
several times at once, each part's command waiting until every part has joined."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.cli import REPRO

# A --join run closes once one of its parts has ended: each part's command first waits for the
# other parts' directories beside its own (REPRO_RUN_DIR is runs/<id>/parts/<name>).
AWAIT_PARTS = """\
import os, sys, time
from pathlib import Path
_parts = Path(os.environ["REPRO_RUN_DIR"]).parent
_deadline = time.monotonic() + 60
while sum(p.is_dir() for p in _parts.iterdir()) < int(os.environ.get("PARTS", "2")):
    if time.monotonic() > _deadline:
        sys.exit("the other parts never joined")
    time.sleep(0.05)
"""


def join_run(
    cwd: Path, *args: str, parts: int = 2, name: str = "nodes", env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[bytes]]:
    """`repro run --join NAME ARGS...` started `parts` times at once in `cwd`; each one's end."""
    return join_commands(cwd, [list(args)] * parts, name, env)


def join_commands(
    cwd: Path, commands: list[list[str]], name: str = "nodes", env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[bytes]]:
    """`repro run --join NAME COMMAND...` for each of `commands`, all started at once in `cwd`;
    each one's end."""
    environ = {**os.environ, "PARTS": str(len(commands)), **(env or {})}
    argvs = [[REPRO, "run", "--join", name, *command] for command in commands]
    started = [
        subprocess.Popen(argv, cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for argv in argvs
    ]
    ended = []
    for argv, process in zip(argvs, started, strict=True):
        out, err = process.communicate(timeout=120)
        ended.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
    return ended


_CARRIED = ("output.log", "metrics.jsonl", "patch.diff")  # what a bundle carries of a part


def part_files(run_dir: Path) -> dict[str, bytes]:
    """The parts' records and the files a bundle carries of each (not its lock, nor the facts
    its record holds), by their paths in the run's directory."""
    found = sorted(
        p
        for p in (run_dir / "parts").rglob("*")
        if p.is_file() and (p.parent.name == "parts" or p.name in _CARRIED)
    )
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in found}


_HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def hold_flock(path: Path) -> subprocess.Popen[bytes]:
    """Another process holding `path` flocked (as a supervisor attaching to a group does) until
    its stdin is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
    return holder
