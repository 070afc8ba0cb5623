"""Only what a run wrote is its own (issue 16, item 1): outputs and a metrics file left from an
earlier run are never archived, compared or credited. Real CLI, real repositories, real
children."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

# Writes out/model.bin and metrics.json, unless FAIL is set: then it fails (exit 2) before
# writing anything, or after writing out/partial.bin when PARTIAL is set too.
TRAIN = """\
import json, os, sys
os.makedirs("out", exist_ok=True)
if os.environ.get("PARTIAL"):
    open("out/partial.bin", "w").write("half")
if os.environ.get("FAIL"):
    print("error: no GPU found")
    sys.exit(2)
open("out/model.bin", "w").write("weights")
json.dump([{"step": 1, "loss": 0.4}], open("metrics.json", "w"))
print("done")
"""


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN, ".gitignore": "out/\nmetrics.json\n"})


def run(root: Path, **env: str) -> dict[str, Any]:
    args = ("run", "--outputs", "out", "--metrics-file", "metrics.json", "train.py")
    done = repro(root, *args, env=env)
    assert done.returncode == (2 if env.get("FAIL") else 0), done.stderr
    return record_of(root)


def test_a_failed_run_after_a_good_one_archives_none_of_the_good_runs_outputs(
    project: Path,
) -> None:
    run(project)
    failed = run(project, FAIL="1")
    assert failed["status"] == "failed"
    assert failed["outputs"] == []
    assert failed["preexisting_outputs"] == {"count": 1, "paths": ["out/model.bin"]}


def test_a_metrics_file_not_written_during_the_run_is_not_read(project: Path) -> None:
    run(project)
    failed = run(project, FAIL="1")
    assert failed["metrics"] is None
    assert any("metrics.json was not written during the run" in p for p in failed["problems"])
    listed = repro(project, "list").stdout.splitlines()
    (line,) = [line for line in listed if str(failed["id"]) in line or "failed" in line]
    assert "failed" in line and "loss" not in line


def test_a_failed_run_keeps_what_it_wrote_and_names_what_was_there_before(
    project: Path,
) -> None:
    run(project)
    failed = run(project, FAIL="1", PARTIAL="1")
    (out,) = failed["outputs"]
    assert (out["path"], out["files"], out["bytes"]) == ("out", 1, 4)
    assert failed["preexisting_outputs"] == {"count": 1, "paths": ["out/model.bin"]}
    shown = repro(project, "show", str(failed["id"])).stdout
    assert "out/model.bin" in shown and "before the run" in shown


def test_a_file_rewritten_by_the_run_is_its_output(project: Path) -> None:
    run(project)
    again = run(project)
    assert [o["files"] for o in again["outputs"]] == [1]
    assert again["preexisting_outputs"] is None and again["metrics"] is not None


def test_the_rerun_of_a_failure_after_a_good_run_reproduces_the_failure(project: Path) -> None:
    run(project)
    failed = run(project, FAIL="1")
    done = repro(project, "rerun", str(failed["id"]), env={"FAIL": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    verdict_line = next(line for line in done.stdout.splitlines() if line.startswith("IDENTICAL"))
    assert verdict_line.startswith("IDENTICAL: the failure reproduced (exit 2)")
    assert "nondeterministic" not in done.stdout


def test_a_record_written_before_preexisting_outputs_existed_still_reads(project: Path) -> None:
    run(project)
    path = next((project / ".repro" / "runs").glob("*/run.json"))
    document = json.loads(path.read_text())
    del document["preexisting_outputs"]
    path.write_text(json.dumps(document))
    shown = repro(project, "show", "--json", "@")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["preexisting_outputs"] is None
