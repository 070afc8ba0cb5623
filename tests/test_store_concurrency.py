"""The store under concurrent processes: run allocation, first-time init, readers during writes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from helpers.store import CHILD_ENV, make_record

from repro_run.models import RUNNING, SUCCEEDED, to_json_dict
from repro_run.store import Store
from repro_run.store.index import INDEX_VERSION

# Children start together: each waits for the `go` file, so they contend at the same moment.
WAIT_FOR_GO = """
import sys, time
from pathlib import Path
while not Path(sys.argv[2]).exists():
    time.sleep(0.002)
"""

RUN_ONE = (
    WAIT_FOR_GO
    + """
import json
from repro_run.core.record import replace
from repro_run.models import RunRecord, SUCCEEDED, from_json_dict
from repro_run.store import Store
template = from_json_dict(RunRecord, json.loads(Path(sys.argv[3]).read_text()))
store = Store.open(Path(sys.argv[1]))
run_id, _ = store.new_run()
with store.run_lock(run_id):
    store.write_record(replace(template, id=run_id))
    store.write_record(replace(template, id=run_id, status=SUCCEEDED))
print(run_id)
"""
)

OPEN_ONLY = (
    WAIT_FOR_GO
    + """
from repro_run.store import Store
Store.open(Path(sys.argv[1]))
"""
)

REWRITE_MANY = """
import json, sys
from repro_run.core.record import replace
from pathlib import Path
from repro_run.models import RunRecord, from_json_dict
from repro_run.store import Store
store = Store.open(Path(sys.argv[1]))
record = from_json_dict(RunRecord, json.loads(Path(sys.argv[2]).read_text()))
for i in range(int(sys.argv[3])):
    # Records of varying length: a torn write would show as invalid or short JSON.
    store.write_record(replace(record, problems=("x" * (i % 50) * 100,) * (i % 7)))
"""


def start_all(script: str, count: int, *args: str, go: Path) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", script, args[0], str(go), *args[1:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=CHILD_ENV,
        )
        for _ in range(count)
    ]


def finish_all(children: list[subprocess.Popen[str]]) -> list[str]:
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert err == ""
        outputs.append(out.strip())
    return outputs


def test_sixteen_concurrent_runs_get_distinct_ids_all_listed(tmp_path: Path) -> None:
    root, go, template = tmp_path / ".repro", tmp_path / "go", tmp_path / "record.json"
    template.write_text(json.dumps(to_json_dict(make_record("0000000000", status=RUNNING))))
    children = start_all(RUN_ONE, 16, str(root), str(template), go=go)
    go.touch()
    made = finish_all(children)  # also asserts no "database is locked" on stderr
    assert len(set(made)) == 16
    listed = Store.open(root).list_runs()
    assert {s.id for s in listed} == set(made)
    assert {s.status for s in listed} == {SUCCEEDED}
    with sqlite3.connect(root / "index.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (16,)


def test_eight_concurrent_first_opens_create_the_schema_once(tmp_path: Path) -> None:
    root, go = tmp_path / ".repro", tmp_path / "go"
    children = start_all(OPEN_ONLY, 8, str(root), go=go)
    go.touch()
    finish_all(children)
    with sqlite3.connect(root / "index.sqlite") as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        assert sorted(tables) == [("meta",), ("runs",)]
        assert conn.execute("SELECT key, value FROM meta").fetchall() == [
            ("index_version", str(INDEX_VERSION))
        ]
    assert (root / ".gitignore").read_text() == "*\n"
    assert json.loads((root / "store.json").read_text()) == {"store_version": 1}
    assert sorted(p.name for p in root.iterdir()) == [
        ".gitignore", "index.sqlite", "objects", "runs", "store.json"
    ]  # fmt: skip


def test_readers_never_see_a_partial_record_during_rewrites(tmp_path: Path) -> None:
    root = tmp_path / ".repro"
    store = Store.open(root)
    run_id, run_dir = store.new_run()
    record = make_record(run_id)
    store.write_record(record)
    template = tmp_path / "record.json"
    template.write_text(json.dumps(to_json_dict(record)))
    writer = subprocess.Popen(
        [sys.executable, "-c", REWRITE_MANY, str(root), str(template), "300"],
        stderr=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )
    reads = 0
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        document = json.loads((run_dir / "run.json").read_bytes())  # never partial
        assert document["id"] == run_id
        assert store.load_record(run_id).id == run_id
        assert [s.id for s in store.list_runs()] == [run_id]
        reads += 1
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert reads > 10
    leftovers = [name for name in os.listdir(run_dir) if ".tmp-" in name]
    assert leftovers == []
