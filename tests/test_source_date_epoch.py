"""SOURCE_DATE_EPOCH in the child (issue 16, item 4): the recorded commit's committer time, so
writers that stamp a date into their files write the same bytes on a rerun; a value of the
user's wins. Real CLI, real repositories, real children."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import GIT_ENV, MakeRepo, git

from repro_run.determinism import child_environment

PRINT = "import os; print('epoch', os.environ.get('SOURCE_DATE_EPOCH'))"
COMMIT_TIME = "1767225600"  # conftest's GIT_COMMITTER_DATE, 2026-01-01T00:00:00Z


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"show_epoch.py": PRINT + "\n"})


def epoch_seen(root: Path, *args: str, env: dict[str, str] | None = None, status: int = 0) -> str:
    done = repro(root, *args, env=env)
    assert done.returncode == status, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    return line.removeprefix("epoch ")


def test_the_child_gets_the_commits_committer_time(project: Path) -> None:
    assert git(project, "log", "-1", "--format=%ct").strip() == COMMIT_TIME
    assert epoch_seen(project, "run", "show_epoch.py") == COMMIT_TIME
    determinism = record_of(project)["determinism"]
    assert determinism["injected"]["SOURCE_DATE_EPOCH"] == COMMIT_TIME
    assert "SOURCE_DATE_EPOCH" not in determinism["user_set"]


def test_a_value_of_the_users_wins_and_is_recorded_as_theirs(project: Path) -> None:
    seen = epoch_seen(project, "run", "show_epoch.py", env={"SOURCE_DATE_EPOCH": "12345"})
    assert seen == "12345"
    determinism = record_of(project)["determinism"]
    assert determinism["user_set"]["SOURCE_DATE_EPOCH"] == "12345"
    assert "SOURCE_DATE_EPOCH" not in determinism["injected"]


def test_a_rerun_replays_the_users_value_when_it_is_no_longer_set(project: Path) -> None:
    epoch_seen(project, "run", "show_epoch.py", env={"SOURCE_DATE_EPOCH": "12345"})
    original = str(record_of(project)["id"])
    assert epoch_seen(project, "rerun", original) == "12345"
    assert record_of(project)["determinism"]["user_set"]["SOURCE_DATE_EPOCH"] == "12345"


def test_a_rerun_sets_the_recorded_value_over_one_set_now(project: Path) -> None:
    epoch_seen(project, "run", "show_epoch.py")
    original = str(record_of(project)["id"])
    assert epoch_seen(project, "rerun", original, env={"SOURCE_DATE_EPOCH": "1"}) == COMMIT_TIME


def test_a_run_recorded_without_it_reruns_without_it(project: Path) -> None:
    epoch_seen(project, "run", "show_epoch.py")
    (path,) = (project / ".repro" / "runs").glob("*/run.json")
    document = json.loads(path.read_text())  # as repro < 16 recorded it
    del document["determinism"]["injected"]["SOURCE_DATE_EPOCH"]
    path.write_text(json.dumps(document))
    # The log differs (the epoch printed): DIVERGED, with nothing set that was not set at first.
    assert epoch_seen(project, "rerun", str(document["id"]), status=21) == "None"


def test_runs_of_two_commits_differ_in_code_not_in_determinism(project: Path) -> None:
    epoch_seen(project, "run", "show_epoch.py")
    (project / "show_epoch.py").write_text(PRINT + "  # edited\n")
    later = {**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": "2026-02-01T00:00:00Z"}
    for argv in (["add", "-A"], ["commit", "-q", "-m", "later"]):
        subprocess.run(["git", *argv], cwd=project, env=later, check=True)
    assert epoch_seen(project, "run", "show_epoch.py") != COMMIT_TIME
    diffed = json.loads(repro(project, "diff", "--json", "@~1", "@").stdout)
    sections = {s["name"]: s for s in diffed["sections"]}
    assert sections["code"]["status"] == "differs"
    assert sections["determinism"]["status"] == "equal"


def test_a_knob_of_the_users_is_kept_and_recorded_as_theirs() -> None:
    env, record = child_environment(
        {"SOURCE_DATE_EPOCH": "7"},
        seed=1,
        seed_source="cli",
        run_id="r",
        run_dir="/tmp/r",
        source_date_epoch=COMMIT_TIME,
    )
    assert env["SOURCE_DATE_EPOCH"] == "7" and record.user_set == {"SOURCE_DATE_EPOCH": "7"}


def test_a_shallow_clone_is_recorded_shallow_with_its_commit_time(
    project: Path, tmp_path: Path
) -> None:
    # The commit's time shares a git call with the shallow check: both still answered.
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{project}", str(clone))
    assert epoch_seen(clone, "run", "show_epoch.py") == COMMIT_TIME
    assert record_of(clone)["code"]["is_shallow"] is True
