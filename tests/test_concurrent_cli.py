"""Many real `repro` processes on one project at once (reliability scenarios C26, C27, C28)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

from helpers.cli import REPRO, repro
from helpers.repos import MakeRepo
from helpers.store import CHILD_ENV, make_record

from repro_run.models import to_json_dict
from repro_run.store import Store
from repro_run.store.ids import TIME_CHARS

RUNS = 16


def test_sixteen_repro_runs_started_at_once_on_a_fresh_project(make_repo: MakeRepo) -> None:
    """C26 and C27 through the CLI: the first of them creates the store while the others do."""
    project = make_repo({"README.md": "x\n"})
    assert not (project / ".repro").exists()
    procs = [
        subprocess.Popen(
            [REPRO, "run", "--", "true"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(RUNS)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0 or "locked" in err or "Traceback" in err:
            errors.append((proc.returncode, err))
    assert errors == []
    listed = json.loads(repro(project, "list", "--json").stdout)
    ids = [run["id"] for run in listed]
    assert len(set(ids)) == RUNS and {run["status"] for run in listed} == {"succeeded"}
    random_parts = sorted(run_id[TIME_CHARS:] for run_id in ids)
    assert len(set(random_parts)) > 1  # random, not a counter
    with sqlite3.connect(project / ".repro" / "index.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        assert sorted(tables) == [("meta",), ("runs",)]


WRITER = """
import json, sys, time
from repro_run.core.record import replace
from pathlib import Path
from repro_run.models import RunRecord, FINAL_STATUSES, from_json_dict
from repro_run.store import Store
store = Store.open(Path(sys.argv[1]))
template = from_json_dict(RunRecord, json.loads(Path(sys.argv[2]).read_text()))
run_id, _ = store.new_run()
deadline = time.monotonic() + float(sys.argv[3])
i = 0
while time.monotonic() < deadline:
    status = FINAL_STATUSES[i % len(FINAL_STATUSES)]
    store.write_record(replace(
        template, id=run_id, status=status, problems=("p" * (i % 40) * 50,) * (i % 5)))
    i += 1
print(i)
"""

READER = """
import os, sys, time
from pathlib import Path
from repro_run.app.query import list_runs, show
from repro_run.app.workspace import Workspace
deadline = time.monotonic() + float(sys.argv[2])
reads = 0
while time.monotonic() < deadline:
    workspace = Workspace.find(Path(sys.argv[1]))  # a store opened afresh, as each command does
    for summary in list_runs(workspace):
        assert summary.status and summary.command, summary
        record, status = show(workspace, summary.id)
        assert record.id == summary.id and record.command.argv, record
    reads += 1
print(reads)
"""


def test_readers_never_see_a_partial_record_while_writers_update_statuses(
    make_repo: MakeRepo,
) -> None:
    """C28: 8 `list` + `show` readers against 4 writers, each in its own process."""
    project = make_repo({"README.md": "x\n"})
    Store.open(project / ".repro")
    template = project / ".git" / "template.json"
    template.write_text(json.dumps(to_json_dict(make_record("0000000000"))))
    seconds = "2.5"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(project / ".repro"), str(template), seconds],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV,
        )
        for _ in range(4)
    ]  # fmt: skip
    time.sleep(0.3)  # every writer has a record before the readers look
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(project), seconds],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**CHILD_ENV, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        for _ in range(8)
    ]  # fmt: skip
    counts = []
    for proc in writers + readers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and err == "", err
        counts.append(int(out))
    assert min(counts[:4]) > 5 and min(counts[4:]) > 1  # both sides really overlapped
    assert len(Store.open(project / ".repro").list_runs()) == 4
