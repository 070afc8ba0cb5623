"""`repro fsck` and `repro gc` on real stores (reliability scenarios C33, C34)."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo
from helpers.store import make_record

from repro_run.app import maintenance
from repro_run.app.workspace import Workspace
from repro_run.core.record import replace
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import RUNNING, ManifestEntry, TreeRef
from repro_run.store import Store
from repro_run.store.run_json import encode_record

OLD = time.time() - 7200  # older than gc's default grace period of an hour


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({".gitignore": "out/\n"})


@pytest.fixture
def store(project: Path) -> Store:
    return Store.open(project / ".repro")


def run_with_outputs(project: Path) -> dict[str, object]:
    script = (
        "import os; os.makedirs('out', exist_ok=True); open('out/m.bin', 'wb').write(b'w' * 999)"
    )
    done = repro(project, "run", "--outputs", "out", "--", sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    return record_of(project)


def age(path: Path) -> None:
    os.utime(path, (OLD, OLD))


# --- fsck ----------------------------------------------------------------------------------
def test_fsck_removes_orphaned_temp_files_and_is_idempotent(project: Path, store: Store) -> None:
    run_with_outputs(project)
    (run_dir,) = (store.root / "runs").iterdir()
    orphans = [store.root / "objects" / "tmp" / "obj-dead", run_dir / "run.json.tmp-0badc0de"]
    for path in orphans:
        path.write_bytes(b"half written")
    held = store.root / "objects" / "tmp" / "obj-live"  # a writer still at work holds its lock
    held.write_bytes(b"in progress")
    starting = store.root / "objects" / "tmp" / "obj-new"  # created, not yet locked
    starting.touch()
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        first = repro(project, "fsck")
        assert first.returncode == 0, first.stdout + first.stderr
        assert first.stdout.count("removed temp file") == 2
        assert not any(path.exists() for path in orphans)
        assert held.exists() and starting.exists()
        second = maintenance.fsck(Workspace.find(project))
        assert second.ok and second.repaired == ()
        assert (second.objects, second.runs, second.indexed) == (3, 1, 1)
    finally:
        os.close(fd)


def test_fsck_reports_a_corrupt_object_and_sets_it_aside(project: Path, store: Store) -> None:
    """C33: a flipped byte is found, named with its run, and never used again silently."""
    record = run_with_outputs(project)
    manifest = record["outputs"][0]["manifest_object"]  # type: ignore[index]
    (digest,) = [d for d in store.objects.root.glob("*/*") if d.stat().st_size == 999]
    name = digest.parent.name + digest.name
    digest.chmod(0o644)
    data = bytearray(digest.read_bytes())
    data[500] ^= 0x01
    digest.write_bytes(bytes(data))
    done = repro(project, "fsck")
    assert done.returncode == 9
    assert f"object {name} is corrupt" in done.stdout
    assert f"object {name} (output out/m.bin) is missing or corrupt" in done.stdout
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert (store.root / "objects" / "quarantine" / name).exists()
    again = maintenance.fsck(
        Workspace.find(project)
    )  # idempotent: the same damage, nothing more to repair
    assert again.repaired == () and len(again.damage) == 1
    assert store.has_object(manifest)
    assert put_back(store, bytes([b ^ (i == 500) for i, b in enumerate(data)])) == name
    assert maintenance.fsck(Workspace.find(project)).ok  # the same bytes stored again heal the run


def put_back(store: Store, data: bytes) -> str:
    return store.put_bytes(data)


def test_fsck_rebuilds_a_corrupt_index(project: Path, store: Store) -> None:
    run_with_outputs(project)
    (store.root / "index.sqlite").write_bytes(b"this is not a database" * 100)
    report = maintenance.fsck(Workspace.find(project))
    assert report.ok and report.indexed == 1
    assert len(json.loads(repro(project, "list", "--json").stdout)) == 1


def test_fsck_removes_a_run_directory_that_never_got_a_record(store: Store, project: Path) -> None:
    _, abandoned = store.new_run()
    with store.run_lock(abandoned.name):
        pass  # its supervisor took the lock, then died before writing a record
    _, starting = store.new_run()
    with store.run_lock(starting.name):
        report = maintenance.fsck(Workspace.find(project))
        assert not abandoned.exists() and starting.exists()
        assert any("no record yet" in note for note in report.notes)
    assert report.ok


def test_fsck_reports_an_unreadable_record(store: Store, project: Path) -> None:
    run_id, run_dir = store.new_run()
    (run_dir / "run.json").write_text('{"id": "trunc')
    done = repro(project, "fsck")
    assert done.returncode == 9
    assert f"run {run_id}: the record cannot be read" in done.stdout


# --- gc ------------------------------------------------------------------------------------
def test_gc_removes_only_old_unreferenced_objects(store: Store, project: Path) -> None:
    record = run_with_outputs(project)
    for path in store.objects.root.glob("*/*"):
        age(path)
    garbage_old = store.put_bytes(b"left by a deleted run")
    garbage_new = store.put_bytes(b"written a moment ago by a run still archiving")
    age(store.object_path(garbage_old))
    dry = repro(project, "gc", "--dry-run")
    assert dry.returncode == 0 and f"would remove {garbage_old}" in dry.stdout
    assert store.has_object(garbage_old)
    done = repro(project, "gc")
    assert done.returncode == 0, done.stderr
    assert "removed 1 unreferenced objects" in done.stdout
    assert not store.has_object(garbage_old) and store.has_object(garbage_new)
    assert maintenance.fsck(Workspace.find(project)).ok  # every referenced object is still there
    assert record_of(project)["id"] == record["id"]


def test_gc_keeps_what_a_running_run_references(store: Store, project: Path) -> None:
    manifest = store.put_bytes(encode_manifest([ManifestEntry("a.csv", 1, "0" * 64)]))
    age(store.object_path(manifest))
    run_id, _ = store.new_run()
    tree = TreeRef("data", manifest, 1, 1, manifest)
    with store.run_lock(run_id):
        store.write_record(replace(make_record(run_id, status=RUNNING), data=(tree,)))
        report = maintenance.gc(Workspace.find(project), grace=0)
    assert report.removed == () and store.has_object(manifest)


def test_gc_grace_covers_an_object_a_run_just_deduplicated(store: Store, project: Path) -> None:
    digest = store.put_bytes(b"an old output")
    age(store.object_path(digest))
    assert store.put_bytes(b"an old output") == digest  # a run stores the same bytes again
    assert maintenance.gc(Workspace.find(project)).removed == ()
    assert store.has_object(digest)


def test_gc_refuses_when_a_record_cannot_be_read(store: Store, project: Path) -> None:
    garbage = store.put_bytes(b"garbage")
    age(store.object_path(garbage))
    run_id, run_dir = store.new_run()
    (run_dir / "run.json").write_bytes(encode_record(make_record(run_id))[:40])
    done = repro(project, "gc")
    assert done.returncode == 9 and "nothing was removed" in done.stderr
    assert store.has_object(garbage)


HEADER = b'{"format":"repro-manifest","version":1}\n'


@pytest.mark.parametrize(
    "manifest",
    [
        b"[1, 2]\n",  # a JSON list, no manifest at all
        HEADER + b"5\n",  # a line that is not an entry
        HEADER + b'["a.bin", 1, 7, false, null]\n',  # a hash that is not a digest
        HEADER + b'["a.bin", "1", "' + b"0" * 64 + b'", false, null]\n',  # a size as text
        HEADER + b"[" * 100_000 + b"\n",  # nested past the parser's depth
    ],
)
def test_gc_refuses_an_output_manifest_that_is_not_one(
    store: Store, project: Path, manifest: bytes
) -> None:
    garbage = store.put_bytes(b"garbage")
    age(store.object_path(garbage))
    digest = store.put_bytes(manifest)  # named by its hash, as a crafted import would place it
    run_id, _ = store.new_run()
    tree = TreeRef("out", digest, 1, 1, digest)
    store.write_record(replace(make_record(run_id), outputs=(tree,)))
    done = repro(project, "gc", "--grace", "0")
    assert done.returncode == 9, done.stderr
    assert f"run {run_id}: outputs out" in done.stderr and "nothing was removed" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert store.has_object(garbage)
