"""A Lightning program with the real library: its `version_N` folder paired across run and
rerun, and a `--metrics-file` naming the original's version read from the rerun's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.cli import repro
from helpers.programs import LIGHTNING
from helpers.repos import MakeRepo

VERSION_1 = "logs/lightning_logs/version_1"


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    root = make_repo({"lt.py": LIGHTNING, ".gitignore": "logs/\n"})
    # An earlier version's folder: the original writes version_1, the rerun's worktree version_0.
    (root / "logs/lightning_logs/version_0").mkdir(parents=True)
    return root


def _rerun_of(project: Path, *options: str) -> str:
    done = repro(project, "run", *options, "--", sys.executable, "lt.py", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / VERSION_1 / "metrics.csv").is_file()
    rerun = repro(project, "rerun", "@", timeout=180)
    return rerun.stdout + rerun.stderr


@pytest.mark.slow
def test_a_lightning_rerun_pairs_its_version_folder_and_is_identical(project: Path) -> None:
    out = _rerun_of(project, "--outputs", "logs")
    assert "IDENTICAL" in out, out
    assert f"{VERSION_1}/ ↔ logs/lightning_logs/version_0/" in out


@pytest.mark.slow
def test_a_metrics_file_named_by_the_originals_version_is_read_from_the_reruns(
    project: Path,
) -> None:
    out = _rerun_of(project, "--metrics-file", f"{VERSION_1}/metrics.csv")
    assert "IDENTICAL" in out and "not found" not in out, out
