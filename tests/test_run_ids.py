"""Runs named by the first format's IDs (10 characters) beside today's (18), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import record_of, repro, run_first_format
from helpers.report import TRAIN, Page
from helpers.repos import MakeRepo


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN})


def _runs(root: Path) -> tuple[str, str]:
    """(a run with a first-format ID, then one with today's), both of `train.py`."""
    args = ("--seed", "3", "train.py")
    legacy = run_first_format(root, *args)
    assert repro(root, "run", *args).returncode == 0
    new = str(record_of(root)["id"])
    assert (len(legacy), len(new)) == (10, 18)
    return legacy, new


def _listed(root: Path) -> set[str]:
    done = repro(root, "list", "--json")
    assert done.returncode == 0, done.stderr
    return {row["id"] for row in json.loads(done.stdout)}


@pytest.mark.slow
def test_a_first_format_run_is_listed_shown_and_reported_beside_a_new_one(
    project: Path, tmp_path: Path
) -> None:
    legacy, new = _runs(project)
    assert _listed(project) == {legacy, new}
    # The shortest prefix of the old ID that the new one does not share names it alone.
    prefix = next(legacy[:n] for n in range(1, 11) if not new.startswith(legacy[:n]))
    for ref in (legacy, prefix.upper()):
        assert record_of(project, ref)["id"] == legacy
    assert "args []" in repro(project, "log", legacy).stdout
    done = repro(project, "diff", legacy, new)
    assert done.returncode == 0, done.stdout
    page = tmp_path / "report.html"
    assert repro(project, "report", legacy, new, "-o", str(page)).returncode == 0
    parser = Page()
    parser.feed(page.read_text())
    assert legacy in "".join(parser.text) and new in "".join(parser.text)


def test_a_first_format_run_reruns_identical_under_a_new_id(project: Path) -> None:
    legacy, _ = _runs(project)
    done = repro(project, "rerun", legacy)
    assert done.returncode == 0, done.stderr
    assert "IDENTICAL" in done.stdout
    rerun = record_of(project)
    assert rerun["rerun_of"] == legacy and len(rerun["id"]) == 18


@pytest.mark.slow
def test_a_first_format_run_exports_imports_and_survives_fsck_and_gc_beside_a_new_one(
    project: Path, make_repo: MakeRepo, tmp_path: Path
) -> None:
    legacy, new = _runs(project)
    other = make_repo({"NOTES.md": "another clone\n"})
    for run_id in (legacy, new):
        bundle = tmp_path / f"{run_id}.tar.gz"
        assert repro(project, "export", run_id, "-o", str(bundle)).returncode == 0
        done = repro(other, "import", str(bundle))
        assert done.returncode == 0, done.stderr
    assert _listed(other) == {legacy, new}
    for command in ("fsck", "gc", "fsck"):
        done = repro(other, command)
        assert done.returncode == 0, done.stdout + done.stderr
    assert _listed(other) == {legacy, new}
    assert record_of(other, legacy)["id"] == legacy
