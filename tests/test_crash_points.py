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
from helpers.crash import WRITE_OUTPUTS, check_store, make_project
from helpers.repos import MakeRepo

from repro_run.app import maintenance
from repro_run.app.workspace import Workspace
from repro_run.models import CRASHED

CRASH_EXIT = 99


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_project(make_repo)


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
        report = maintenance.fsck(
            Workspace.find(project)
        )  # what `repro fsck` runs, without its start-up cost
        assert report.ok, report.damage
        check_store(project)  # fsck's repairs keep the invariants
    assert done.returncode == 0, done.stderr
    assert crash_at > 15, crash_at  # store set-up, objects, records, index commits: each one
    final = check_store(project)
    assert next(iter(final.values())) == "succeeded"  # the newest: the run that did not crash
    assert CRASHED in seen  # crashes after the running record was written show as crashed
    assert "succeeded" in seen  # a crash after the final record leaves the run complete
    assert repro(project, "fsck").returncode == 0
