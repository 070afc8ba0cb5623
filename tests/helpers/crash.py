"""Crashed stores for tests: a project whose runs write outputs, and the invariants a store keeps
after a crash at any durable step (reliability scenarios C23-C25)."""

from __future__ import annotations

from pathlib import Path

from helpers.repos import MakeRepo
from repro_run.app import maintenance
from repro_run.models import CRASHED, FINAL_STATUSES
from repro_run.store import Store
from repro_run.store.fsck import content_matches
from repro_run.store.run_json import read_record

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
