"""`repro gc` and `repro fsck` alongside live work: real processes stopped at a durable step
(`REPRO_CRASH_AT=k:stop`), real runs in between, real SIGKILLs."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from blake3 import blake3
from helpers.cli import REPRO, record_of, repro
from helpers.repos import MakeRepo
from helpers.store import make_record

from repro_run.core.record import replace
from repro_run.models import ConfigFile
from repro_run.store import Store

OLD = time.time() - 7200  # older than gc's default grace period of an hour
OUTPUT = b"w" * 999  # what WRITE_OUTPUT writes: a run archiving it deduplicates against it
WRITE_OUTPUT = (
    "import os; os.makedirs('out', exist_ok=True); open('out/m.bin', 'wb').write(b'w' * 999)"
)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({".gitignore": "out/\n"})


@pytest.fixture
def store(project: Path) -> Store:
    return Store.open(project / ".repro")


def old_object(store: Store, data: bytes) -> str:
    """An object stored long ago that no run references: what gc collects."""
    digest = store.put_bytes(data)
    os.utime(store.object_path(digest), (OLD, OLD))
    return digest


def sorting_before(digest: str) -> bytes:
    """Some bytes whose object gc reaches before object `digest` (gc goes in name order)."""
    return next(
        data
        for data in (f"garbage {i}".encode() for i in range(10_000))
        if blake3(data).hexdigest() < digest
    )


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by `stop_at`; killed at the end whatever the test did."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop_at(
    procs: list[subprocess.Popen[bytes]], cwd: Path, step: int, *args: str
) -> subprocess.Popen[bytes]:
    """`repro ARGS`, stopped (SIGSTOP) right after its durable step `step`."""
    proc = subprocess.Popen(
        [REPRO, *args],
        cwd=cwd,
        env={**os.environ, "REPRO_CRASH_AT": f"{step}:stop"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    procs.append(proc)
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], 60)
    line = proc.stderr.readline().decode() if ready else ""
    assert "stopped after" in line, line
    return proc


def resume(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGCONT a stopped process; its exit status and stdout."""
    proc.send_signal(signal.SIGCONT)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out.decode()


def run_writing_output(project: Path) -> None:
    done = repro(project, "run", "--outputs", "out", "--", sys.executable, "-c", WRITE_OUTPUT)
    assert done.returncode == 0, done.stderr


# --- gc ------------------------------------------------------------------------------------
def test_gc_keeps_an_object_a_run_deduplicated_against_while_gc_ran(
    project: Path, store: Store, stopped: list[subprocess.Popen[bytes]]
) -> None:
    """A run recorded after gc's reference scan keeps what it references."""
    output = old_object(store, OUTPUT)
    garbage = old_object(store, sorting_before(output))
    # gc has scanned the records and set `garbage` aside; `output` is next.
    gc = stop_at(stopped, project, 1, "gc", "--grace", "0")
    run_writing_output(project)  # archives out/m.bin: the stored copy is reused
    assert resume(gc)[0] == 0
    assert store.has_object(output) and not store.has_object(garbage)
    checked = repro(project, "fsck")
    assert checked.returncode == 0, checked.stdout


def test_gc_puts_back_an_object_a_record_written_during_it_references(
    project: Path, store: Store, stopped: list[subprocess.Popen[bytes]]
) -> None:
    """What a record written after gc's scan references is kept, even though the run could not
    refresh it (an object another user owns, say): gc reads the new records again."""
    digest = old_object(store, OUTPUT)
    gc = stop_at(stopped, project, 1, "gc", "--grace", "0")  # `digest` just set aside
    run_id, _ = store.new_run()
    config = ConfigFile("cfg.yaml", "yaml", digest, {})
    store.write_record(replace(make_record(run_id), configs=(config,)))
    returncode, out = resume(gc)
    assert returncode == 0 and "removed 0 unreferenced objects" in out
    assert store.get_bytes(digest) == OUTPUT


def test_fsck_restores_an_object_a_killed_gc_had_set_aside(
    project: Path, store: Store, stopped: list[subprocess.Popen[bytes]]
) -> None:
    """The copy gc set aside may be an object's only copy: fsck puts it back."""
    digest = old_object(store, OUTPUT)
    gc = stop_at(stopped, project, 1, "gc")
    gc.kill()
    gc.wait()
    assert not store.has_object(digest)  # set aside in objects/tmp/ when gc died
    done = repro(project, "fsck")
    assert done.returncode == 0, done.stdout
    assert f"object {digest} set aside by an interrupted gc: restored" in done.stdout
    assert store.get_bytes(digest) == OUTPUT
    assert list(store.objects.tmp_dir.iterdir()) == []


def test_fsck_leaves_alone_what_a_live_gc_set_aside(
    project: Path, store: Store, stopped: list[subprocess.Popen[bytes]]
) -> None:
    digest = old_object(store, OUTPUT)
    gc = stop_at(stopped, project, 1, "gc")
    done = repro(project, "fsck")
    assert done.returncode == 0, done.stdout
    assert "1 objects are set aside by a gc at work (left to it)" in done.stdout
    assert "restored" not in done.stdout and not store.has_object(digest)
    returncode, out = resume(gc)
    assert returncode == 0 and f"removed {digest}" in out
    assert list(store.objects.tmp_dir.iterdir()) == []


# --- fsck ----------------------------------------------------------------------------------
def test_fsck_leaves_a_starting_run_whose_lock_is_not_yet_taken(
    project: Path, store: Store
) -> None:
    """Between creating its lock file and locking it, a run is alive."""
    run_id, run_dir = store.new_run()
    (run_dir / "lock").touch()  # what RunLock.acquire does first; flock comes next
    done = repro(project, "fsck")
    assert done.returncode == 0, done.stdout
    assert f"run {run_id} has no record yet" in done.stdout
    with store.run_lock(run_id):
        store.write_record(make_record(run_id))  # the run goes on: its directory is there
    assert record_of(project, run_id)["id"] == run_id


def test_fsck_reports_no_damage_for_a_run_recorded_after_its_object_scan(
    project: Path, store: Store, stopped: list[subprocess.Popen[bytes]]
) -> None:
    """Objects written after fsck listed them are checked, not called missing."""
    corrupt = store.objects.root / "00" / ("0" * 62)  # quarantined: fsck's first durable step
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"not what its name says")
    fsck = stop_at(stopped, project, 1, "fsck")  # objects listed; no record read yet
    run_writing_output(project)
    returncode, out = resume(fsck)
    assert returncode == 0, out
    assert "is corrupt: moved to objects/quarantine/" in out
