"""Crash consistency of a whole `repro run` (reliability scenario C23).

`REPRO_CRASH_AT=k` makes the real supervisor `os._exit` right after its k-th durable step (each
fsync, rename and index commit), from creating the store to the final record. For every k, the
run is then absent, complete or shown as crashed; no record is empty or truncated; every object
a record references is there and matches its name; and `repro fsck` exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.cli import repro
from helpers.repos import MakeRepo

from repro_run.app import maintenance
from repro_run.models import CRASHED, FINAL_STATUSES
from repro_run.store import Store
from repro_run.store.fsck import content_matches
from repro_run.store.run_json import read_record

CRASH_EXIT = 99
WRITE_OUTPUTS = (
    "import os; os.makedirs('out/sub', exist_ok=True)\n"
    "open('out/a.bin', 'wb').write(os.urandom(3000))\n"
    "open('out/sub/b.txt', 'w').write('b' * 10)\n"
    "print('trained')\n"
)


def make_project(make_repo: MakeRepo) -> Path:
    """A repository with a config and a dataset, whose runs write outputs (WRITE_OUTPUTS)."""
    root = make_repo({".gitignore": "out/\ndata/\n", "cfg.yaml": "lr: 0.1\n"})
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("1,2\n")
    return root


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_project(make_repo)


def check_store(root: Path) -> dict[str, str]:
    """The invariants after a crash; returns run id -> status as `repro list` shows it."""
    store = Store.open(root / ".repro")
    for run_id in store.run_ids():
        path = store.run_dir(run_id) / "run.json"
        if not path.exists():
            continue  # absent: never got a record, so invisible
        record = read_record(path, run_id)[0]  # raises on an empty or truncated record
        refs, unreadable = maintenance._all_references(store, record)
        assert unreadable == []
        for digest, what in refs.items():
            object_path = store.object_path(digest)
            assert object_path.is_file(), f"run {run_id}: {what} missing"
            assert content_matches(object_path, digest), f"run {run_id}: {what} corrupt"
    statuses = {summary.id: summary.status for summary in store.list_runs()}
    assert set(statuses.values()) <= {CRASHED, *FINAL_STATUSES}
    return statuses


def test_every_crash_point_leaves_each_run_absent_complete_or_crashed(project: Path) -> None:
    argv = ["run", "--data", "data", "--outputs", "out", "--", sys.executable, "-c"]
    seen: list[str] = []
    crash_at = 0
    while True:
        crash_at += 1
        done = repro(project, *argv, WRITE_OUTPUTS, "--config", "cfg.yaml", env={
            "REPRO_CRASH_AT": str(crash_at)
        })  # fmt: skip
        if done.returncode != CRASH_EXIT:
            break  # k is past the last durable step: the run completed
        assert "Traceback" not in done.stderr
        statuses = check_store(project)
        seen += [status for run_id, status in statuses.items()]
        report = maintenance.fsck(project)  # what `repro fsck` runs, without its start-up cost
        assert report.ok, report.damage
        check_store(project)  # fsck's repairs keep the invariants
    assert done.returncode == 0, done.stderr
    assert crash_at > 15, crash_at  # store set-up, objects, records, index commits: each one
    final = check_store(project)
    assert next(iter(final.values())) == "succeeded"  # the newest: the run that did not crash
    assert CRASHED in seen  # crashes after the running record was written show as crashed
    assert "succeeded" in seen  # a crash after the final record leaves the run complete
    assert repro(project, "fsck").returncode == 0
