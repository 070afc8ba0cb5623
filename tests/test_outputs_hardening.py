"""Archiving outputs safely: symlinks, special files, files changing while read, and walkers
that never touch the store (reliability scenarios B20, B21, B22, C31)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from blake3 import blake3
from helpers.cli import record_of, repro, store_bytes
from helpers.repos import MakeRepo

from repro_run.store import Store

CANARY = "rpr_CANARY_5f2c9e_outputs"


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({".gitignore": "out/\ndata/\n"})


def run_making(project: Path, setup: str) -> tuple[int, float]:
    started = time.monotonic()
    done = repro(project, "run", "--outputs", "out", "--", sys.executable, "-c", setup)
    return done.returncode, time.monotonic() - started


def test_output_symlinks_are_stored_as_their_target_text_only(
    project: Path, tmp_path: Path
) -> None:
    """B20: links to a secret file and to /etc, and a loop; nothing is followed."""
    credentials = tmp_path / "credentials"
    credentials.write_text(f"aws_secret_access_key = {CANARY}\n")
    setup = textwrap.dedent(
        f"""
        import os
        os.makedirs('out', exist_ok=True)
        os.symlink({str(credentials)!r}, 'out/link')
        os.symlink('/etc', 'out/d')
        os.symlink('loop_b', 'out/loop_a')
        os.symlink('loop_a', 'out/loop_b')
        """
    )
    code, took = run_making(project, setup)
    assert code == 0 and took < 30
    store = Store.open(project / ".repro")
    (tree,) = record_of(project)["outputs"]
    manifest = store.get_bytes(tree["manifest_object"]).decode()
    rows = [json.loads(line) for line in manifest.splitlines()[1:]]
    assert [(r[0], r[2], r[4]) for r in rows] == [
        ("d", None, "/etc"),
        ("link", None, str(credentials)),
        ("loop_a", None, "loop_b"),
        ("loop_b", None, "loop_a"),
    ]
    assert CANARY.encode() not in store_bytes(project)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_and_a_socket_in_outputs_are_skipped_with_a_warning(project: Path) -> None:
    """B21: opening a FIFO would block forever; archiving finishes within 5 s."""
    (project / "out").mkdir()
    os.mkfifo(project / "out" / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(project / "out" / "sock"))
    try:
        started = time.monotonic()  # the run writes real.txt: what was there before is not its own
        done = repro(
            project, "run", "--outputs", "out", "--", "sh", "-c", "printf x > out/real.txt"
        )
        assert time.monotonic() - started < 5
    finally:
        sock.close()
    assert done.returncode == 0, done.stderr
    assert "output entry skipped (fifo: pipe)" in done.stderr
    assert "output entry skipped (socket: sock)" in done.stderr
    (tree,) = record_of(project)["outputs"]
    assert tree["files"] == 1 and sorted(tree["skipped"]) == ["fifo: pipe", "socket: sock"]


@pytest.mark.parametrize("change", ["grows", "shrinks"])
def test_a_file_changing_while_archived_is_stored_under_its_own_hash(
    tmp_path: Path, change: str
) -> None:
    """B22: whatever bytes were read are the bytes named: never an object that lies."""
    store = Store.open(tmp_path / ".repro")
    path = tmp_path / "checkpoint.bin"
    path.write_bytes(os.urandom(32 << 20))
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            if change == "grows":
                with path.open("ab") as f:
                    f.write(os.urandom(1 << 16))
            else:
                os.truncate(path, max(path.stat().st_size - (1 << 20), 0))
            time.sleep(0.001)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        digest, size = store.put_file(path)
    finally:
        stop.set()
        thread.join()
    stored = store.object_path(digest).read_bytes()
    assert blake3(stored).hexdigest() == digest and len(stored) == size
    assert not list((store.root / "objects" / "tmp").iterdir())


AUDITED_RUN = """
import os, sys
walker_files = ("fingerprint/tree.py", "store/objects.py")
opened = []

def hook(event, args):
    if event not in ("open", "os.scandir", "os.listdir") or not args or args[0] is None:
        return
    frame = sys._getframe(1)
    while frame is not None and "repro_run" not in frame.f_code.co_filename:
        frame = frame.f_back
    # The innermost repro function decides: a walker reading, or the store writing an object.
    if frame is not None and frame.f_code.co_filename.endswith(walker_files):
        if frame.f_code.co_name in ("_walk", "scan_tree", "hash_file", "put_file"):
            opened.append((event, os.fsdecode(args[0]) if not isinstance(args[0], int) else ""))

sys.addaudithook(hook)
from repro_run.cli.commands import cli
try:
    cli.main(args=sys.argv[1:], prog_name="repro", standalone_mode=False)
finally:
    with open(os.environ["AUDIT_LOG"], "w") as f:
        f.write("\\n".join(f"{e}\\t{p}" for e, p in opened))
"""


def test_dataset_and_output_walkers_never_open_the_store(project: Path, tmp_path: Path) -> None:
    """C31: a walk of the project root would reach .repro/runs/<id>/lock; opening and closing
    it would drop the supervisor's lock where flock is emulated with fcntl locks (NFS)."""
    (project / "data").mkdir()
    (project / "data" / "x.csv").write_text("1\n")
    assert repro(project, "run", "--", "true").returncode == 0  # a store with runs and locks
    audit_log = tmp_path / "audit.tsv"
    done = subprocess.run(
        [sys.executable, "-c", AUDITED_RUN, "run", "--data", ".", "--outputs", ".", "--",
         sys.executable, "-c", "open('out.txt', 'w').write('o')"],
        cwd=project,
        env={**os.environ, "AUDIT_LOG": str(audit_log)},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [line.split("\t") for line in audit_log.read_text().splitlines()]
    opened = [path for _, path in events]
    # The hook does see the walkers: the run's output file archived, the data directory listed
    # (x.csv, there before the run, is not the run's output: issue 16).
    assert any(path.endswith("out.txt") for path in opened)
    assert any(path.endswith("data") for path in opened)
    store = str(project / ".repro")
    assert [path for path in opened if path.startswith(store)] == []
