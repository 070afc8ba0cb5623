"""Hostile or damaged run records: refused by import before they are placed, and never able to
break a command about other runs (issue 14, item 1)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import rebuild_bundle
from helpers.cli import assert_one_line_error, repro, run_dirs
from helpers.repos import MakeRepo

from repro_run.fingerprint.manifest import MANIFEST_HEADER
from repro_run.store import Store

TRAIN = """\
import os
import repro_run
os.makedirs("out", exist_ok=True)
open("out/a.txt", "w").write("a")
repro_run.log_metrics(step=0, loss=0.5)
"""


def _project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN, ".gitignore": "out/\n"})


def _run(root: Path, *args: str) -> str:
    """A run's ID, read from runs/ (not through a command that would index it)."""
    before = set(map(str, run_dirs(root)))
    done = repro(root, "run", *args, "train.py")
    assert done.returncode == 0, done.stderr
    (new,) = set(map(str, run_dirs(root))) - before
    return Path(new).name


def _edit(root: Path, run_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change run.json by hand, as a crafted import or a hand edit would leave it."""
    path = root / ".repro" / "runs" / run_id / "run.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _exit_code(value: int) -> Callable[[dict[str, Any]], None]:
    def change(record: dict[str, Any]) -> None:
        record["process"]["exit_code"] = value

    return change


def test_import_of_a_record_with_an_out_of_range_exit_code_is_exit_32_naming_the_field(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    source = _project(make_repo)
    _run(source)
    bundle = tmp_path / "b.tar.gz"
    assert repro(source, "export", "@", "-o", str(bundle)).returncode == 0

    def huge_exit_code(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.endswith("run.json"))
        record = json.loads(members[name])
        _exit_code(10**40)(record)
        members[name] = json.dumps(record).encode()

    rebuild_bundle(bundle, huge_exit_code)
    target = make_repo()
    done = repro(target, "import", str(bundle))
    assert_one_line_error(done, 32, "process.exit_code")
    assert list((target / ".repro" / "runs").iterdir()) == []  # refused before its commit point
    assert repro(target, "list", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(
    "command",
    [
        ("list",),
        ("list", "--json"),
        ("show", "@"),
        ("show", "GOOD"),
        ("report", "GOOD", "-o", "report.html"),
        ("doctor",),
        ("stats", "GOOD"),
    ],
)
def test_a_record_out_of_range_is_skipped_with_a_warning_by_commands_about_other_runs(
    make_repo: MakeRepo, command: tuple[str, ...]
) -> None:
    root = _project(make_repo)
    bad = _run(root)
    good = _run(root)
    _edit(root, bad, _exit_code(10**40))
    done = repro(root, *(good if arg == "GOOD" else arg for arg in command))
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if bad in line]
    assert len(warnings) == 1 and warnings[0].startswith("repro: warning: run "), done.stderr
    assert "exit_code" in warnings[0] and "Traceback" not in done.stderr


def test_fsck_reports_an_unreadable_record_as_damage_and_exits_9(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    bad = _run(root)
    _run(root)
    _edit(root, bad, _exit_code(10**40))
    done = repro(root, "fsck")
    assert done.returncode == 9, done.stderr
    assert f"run {bad}: the record cannot be read" in done.stdout + done.stderr
    assert (root / ".repro" / "runs" / bad / "run.json").exists()  # reported, never removed


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_show_of_a_record_whose_wall_time_is_not_finite_is_a_one_line_exit_8(
    make_repo: MakeRepo, value: str
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    path = root / ".repro" / "runs" / run_id / "run.json"
    text = path.read_text()
    wall_time = json.dumps(json.loads(text)["process"]["wall_time"])
    path.write_text(text.replace(f'"wall_time": {wall_time}', f'"wall_time": {value}', 1))
    assert_one_line_error(repro(root, "show", run_id), 8, run_id, "wall_time")


def _strict_json(text: str) -> Any:
    """Parse as a strict JSON parser would: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("command", [("show", "--json", "@"), ("list", "--json")])
def test_nan_and_infinite_metrics_are_written_as_valid_json(
    make_repo: MakeRepo, command: tuple[str, ...]
) -> None:
    root = _project(make_repo)
    run_id = _run(root)

    def diverged(record: dict[str, Any]) -> None:
        record["metrics"]["final"] = {"loss": math.nan, "gain": math.inf, "cost": -math.inf}

    _edit(root, run_id, diverged)
    done = repro(root, *command)
    assert done.returncode == 0, done.stderr
    document = _strict_json(done.stdout)
    finals = document[0]["metrics"] if command[0] == "list" else document["metrics"]["final"]
    assert finals == {"loss": "NaN", "gain": "Infinity", "cost": "-Infinity"}


@pytest.mark.parametrize(
    "content",
    [MANIFEST_HEADER + b'{"a": 1}\n', MANIFEST_HEADER + b"[1, 2, 3, 4, 5]\n", b'{"a": 1}\n'],
    ids=["an object per line", "wrong types", "no manifest at all"],
)
def test_rerun_of_a_run_whose_output_manifest_is_of_the_wrong_type_is_one_line_exit_8(
    make_repo: MakeRepo, content: bytes
) -> None:
    root = _project(make_repo)
    run_id = _run(root, "--outputs", "out")
    crafted = Store.open(root / ".repro").put_bytes(content)  # a valid object, by its hash

    def point_at_crafted(record: dict[str, Any]) -> None:
        record["outputs"][0].update(manifest_object=crafted, digest=crafted)

    _edit(root, run_id, point_at_crafted)
    done = repro(root, "rerun", run_id)
    assert_one_line_error(done, 8, run_id, "manifest of outputs out")
    assert len(list((root / ".repro" / "runs").iterdir())) == 1  # refused before it ran
