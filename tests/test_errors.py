"""The error table: each bad input is one line, a documented exit code, no traceback, no record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import REPRO, assert_one_line_error, repro, run_dirs
from helpers.repos import MakeRepo, git


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": "print('ran')\n", "tool.sh": "#!/bin/sh\necho hi\n"})


def test_outside_a_git_repository(tmp_path: Path) -> None:
    done = repro(tmp_path, "run", "--", "true")
    assert_one_line_error(done, 3, "not inside a git repository", "git init")


def test_repository_without_commits(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "x"}, commit=False)
    done = repro(root, "run", "train.py")
    assert_one_line_error(done, 3, "no commits")
    assert not (root / ".repro").exists()


def test_dirty_tree(project: Path) -> None:
    (project / "train.py").write_text("print('edited')\n")
    done = repro(project, "run", "train.py")
    assert done.returncode == 4
    assert done.stderr.startswith("repro: error: working tree has uncommitted changes")
    assert "Traceback" not in done.stderr and run_dirs(project) == []


def test_command_not_found(project: Path) -> None:
    done = repro(project, "run", "--", "no-such-command-xyz")
    assert_one_line_error(done, 127, "no-such-command-xyz")
    assert run_dirs(project) == []


def test_script_not_found(project: Path) -> None:
    done = repro(project, "run", "missing.py")
    assert_one_line_error(done, 127, "missing.py")
    assert run_dirs(project) == []


def test_command_not_executable(project: Path) -> None:
    done = repro(project, "run", "--", "./tool.sh")  # committed without the exec bit
    assert_one_line_error(done, 126, "tool.sh")
    assert run_dirs(project) == []


def test_config_missing(project: Path) -> None:
    done = repro(project, "run", "train.py", "--config", "nope.yaml")
    assert_one_line_error(done, 5, "nope.yaml")
    assert run_dirs(project) == []


def test_config_invalid_names_file_and_line(project: Path) -> None:
    (project / "bad.yaml").write_text("a: 1\nb: [1, 2\n")
    git(project, "add", "bad.yaml")
    git(project, "commit", "-q", "-m", "bad config")
    done = repro(project, "run", "train.py", "--config", "bad.yaml")
    assert_one_line_error(done, 5, "bad.yaml line")
    assert "ran" not in done.stdout and run_dirs(project) == []


def test_data_path_missing(project: Path) -> None:
    done = repro(project, "run", "--data", "no/such/dir", "train.py")
    assert_one_line_error(done, 6, "no/such/dir")
    assert run_dirs(project) == []


def test_seed_out_of_range(project: Path) -> None:
    done = repro(project, "run", "--seed", str(2**32), "train.py")
    assert_one_line_error(done, 2, "out of range")


def test_unknown_run_id(project: Path) -> None:
    repro(project, "run", "train.py")
    done = repro(project, "show", "zzzz")
    assert_one_line_error(done, 7, "zzzz", "repro list")


def test_ambiguous_run_id_lists_the_candidates(project: Path) -> None:
    for _ in range(2):
        assert repro(project, "run", "train.py").returncode == 0
    ids = [p.name for p in run_dirs(project)]
    common = os.path.commonprefix(ids)  # noqa: RUF071 - IDs are strings, not paths
    done = repro(project, "show", common)
    assert done.returncode == 7 and "Traceback" not in done.stderr
    assert all(run_id in done.stderr for run_id in ids)


def test_corrupted_record(project: Path) -> None:
    repro(project, "run", "train.py")
    (run_dir,) = run_dirs(project)
    (run_dir / "run.json").write_text('{"id": "trunc')
    done = repro(project, "show", "@")
    assert_one_line_error(done, 8, run_dir.name, "cannot be read")


def test_record_from_a_newer_schema(project: Path) -> None:
    repro(project, "run", "train.py")
    (run_dir,) = run_dirs(project)
    record = json.loads((run_dir / "run.json").read_text())
    record["schema_version"] = 99
    (run_dir / "run.json").write_text(json.dumps(record))
    done = repro(project, "show", "@")
    assert_one_line_error(done, 8, "newer repro", "upgrade")


def test_store_from_a_newer_repro(project: Path) -> None:
    repro(project, "run", "train.py")
    (project / ".repro" / "store.json").write_text('{"store_version": 99}')
    done = repro(project, "list")
    assert_one_line_error(done, 8, "upgrade")


def test_unknown_option_is_a_usage_error(project: Path) -> None:
    done = repro(project, "list", "--bogus")
    assert done.returncode == 2 and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [["run", "--", "true"], ["run", "--seed", "3", "true"]],
    ids=["plain run (no click)", "through click"],
)
def test_unexpected_crash_writes_a_log_and_prints_its_path(
    project: Path, tmp_path: Path, argv: list[str]
) -> None:
    """An internal bug (here: one injected into the run's preflight) is exit 70."""
    code = (
        "import importlib, sys; from repro_run.cli import main\n"
        "run_verb = importlib.import_module('repro_run.app.run.run')\n"
        "def boom(*a, **k): raise RuntimeError('simulated bug')\n"
        f"run_verb._preflight = boom\nsys.argv = ['repro', *{argv!r}]\nmain.main()\n"
    )
    env = {**os.environ, "REPRO_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 70
    assert "internal error: RuntimeError: simulated bug" in done.stderr
    assert "Traceback" not in done.stderr
    assert "simulated bug" in (tmp_path / "cache" / "crash.log").read_text()
    debug = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        env={**env, "REPRO_DEBUG": "1"},
        capture_output=True,
        text=True,
    )
    assert "Traceback" in debug.stderr


def test_repro_entry_point_is_installed() -> None:
    assert Path(REPRO).exists()
