"""`repro list` and `repro diff` of runs several supervisors recorded: the parts count and the
combined status in the list, and a diff that compares part by part where the shapes match
(real `repro run --join NAME` supervisors started at once; no Slurm needed)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import record_of, repro
from helpers.parts import AWAIT_PARTS, join_commands
from helpers.repos import GIT_ENV, commit_all, git, write_files

pytestmark = pytest.mark.slow  # four runs, eight supervisors

FILES = {
    "x.py": AWAIT_PARTS + "print('x')\n",
    "y.py": AWAIT_PARTS + "print('y')\n",
    "bad.py": AWAIT_PARTS + "raise SystemExit(3)\n",
    "plain.py": "print('alone')\n",
}


class Runs:
    """Recorded once for the module: a plain run, and three runs of two parts each."""

    def __init__(self, root: Path, ids: dict[str, str]) -> None:
        self.root, self.ids = root, ids

    def part_running(self, run: str, script: str) -> str:
        """The name of the part of run `run` that ran `script`."""
        for path in (self.root / ".repro" / "runs" / self.ids[run] / "parts").glob("*.json"):
            if json.loads(path.read_text())["command"]["argv"] == [script]:
                return path.stem
        raise AssertionError(f"no part of {run} ran {script}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """(conftest's autouse env isolation is function-scoped: repeated here.)"""
    with pytest.MonkeyPatch.context() as env:
        for name, value in GIT_ENV.items():
            env.setenv(name, value)
        for name in ("REPRO_HOME", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"):
            env.delenv(name, raising=False)
        env.setenv("REPRO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        root = tmp_path_factory.mktemp("runs")
        git(root, "init", "-q", "-b", "main")
        write_files(root, FILES)
        commit_all(root, "initial")
        assert repro(root, "run", "plain.py").returncode == 0
        ids = {"plain": str(record_of(root)["id"])}
        for run, scripts in (("same", "x.py x.py"), ("other", "x.py y.py"), ("bad", "x.py bad.py")):
            join_commands(root, [[script] for script in scripts.split()], name=run)
            ids[run] = str(record_of(root)["id"])
        yield Runs(root, ids)


def _listed(runs: Runs, run: str) -> dict[str, Any]:
    done = repro(runs.root, "list", "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    (row,) = (row for row in rows if row["id"] == runs.ids[run])
    return row


def test_list_shows_how_many_parts_share_a_runs_status(runs: Runs) -> None:
    done = repro(runs.root, "list")
    assert done.returncode == 0, done.stderr
    lines = {line[:10]: line for line in done.stdout.splitlines()}
    assert "failed (1 of 2 parts)" in lines[runs.ids["bad"][:10]]
    assert "succeeded (2 parts)" in lines[runs.ids["same"][:10]]
    assert "parts" not in lines[runs.ids["plain"][:10]]


def test_list_json_gives_each_parts_status_by_name(runs: Runs) -> None:
    row = _listed(runs, "bad")
    assert row["status"] == "failed"
    assert row["parts"] == {
        runs.part_running("bad", "x.py"): "succeeded",
        runs.part_running("bad", "bad.py"): "failed",
    }
    assert _listed(runs, "plain")["parts"] == {}


def test_an_index_of_an_older_repro_is_rebuilt_with_the_parts(runs: Runs, tmp_path: Path) -> None:
    copied = tmp_path / "copy"
    shutil.copytree(runs.root, copied, symlinks=True)
    index = copied / ".repro" / "index.sqlite"
    with sqlite3.connect(index) as db:  # what repro's index was before it had parts
        db.execute("UPDATE meta SET value = '3' WHERE key = 'index_version'")
        db.execute("ALTER TABLE runs DROP COLUMN parts")
    done = repro(copied, "list")
    assert done.returncode == 0, done.stderr
    assert "failed (1 of 2 parts)" in done.stdout


def _parts_section(runs: Runs, a: str, b: str) -> dict[str, Any]:
    done = repro(runs.root, "diff", "--json", "--all", runs.ids[a], runs.ids[b])
    assert done.returncode in (0, 1), done.stderr
    document = json.loads(done.stdout)
    (section,) = (s for s in document["sections"] if s["name"] == "parts")
    return dict(section)


def test_diff_names_the_part_that_differs_when_the_shapes_match(runs: Runs) -> None:
    section = _parts_section(runs, "same", "other")
    pairs = {f["key"]: f for f in section["changes"] if f["key"] != "shape"}
    assert sorted(pairs) == ["part 1", "part 2"]
    in_command = [f for f in pairs.values() if "command" in f["extra"]["sections"]]
    assert [f["new"] for f in in_command] == [runs.part_running("other", "y.py")]
    assert section["status"] == "differs"
    assert "differs in" in section["summary"] and "command" in section["summary"]


def test_diff_says_when_the_shapes_differ_and_compares_no_part(runs: Runs) -> None:
    section = _parts_section(runs, "same", "plain")
    assert section["status"] == "differs"
    assert section["summary"] == "shapes differ: 2 parts → one supervisor; no part compared"
    assert [f["key"] for f in section["changes"]] == ["shape"]


def test_diff_of_two_plain_runs_has_no_parts_to_compare(runs: Runs) -> None:
    section = _parts_section(runs, "plain", "plain")
    assert section["status"] == "equal"
