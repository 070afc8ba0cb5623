"""Records written by older repros still read: the schema migration chain (models/migrations.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import repro
from helpers.repos import MakeRepo

from repro_run.models import SCHEMA_VERSION
from repro_run.models.migrations import SchemaError, upgrade

# A real record of schema 1, as repro 0.1.0 wrote it (host-specific values neutralised).
SCHEMA_1 = Path(__file__).resolve().parent / "data" / "run-schema-1.json"


def test_a_schema_1_record_reads_through_the_cli(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print('ok')\n"})
    assert repro(root, "run", "train.py").returncode == 0  # creates the store
    document = json.loads(SCHEMA_1.read_text())
    run_dir = root / ".repro" / "runs" / document["id"]
    run_dir.mkdir()
    shutil.copyfile(SCHEMA_1, run_dir / "run.json")
    shown = repro(root, "show", "--json", document["id"])
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["command"]["argv"] == ["train.py", "--config", "cfg.yaml"]
    assert record["determinism"]["seed"] == 7
    assert record["metrics"]["final"] == {"loss": 0.5}
    assert record["schema_version"] == SCHEMA_VERSION
    listed = json.loads(repro(root, "list", "--json").stdout)
    assert document["id"] in [row["id"] for row in listed]


def _rename_lr(document: dict[str, Any]) -> dict[str, Any]:
    document["learning_rate"] = document.pop("lr")
    return document


def _add_unit(document: dict[str, Any]) -> dict[str, Any]:
    document["unit"] = "s"
    return document


def test_the_chain_applies_each_step_in_order() -> None:
    steps = {1: _rename_lr, 2: _add_unit}
    upgraded = upgrade({"schema_version": 1, "lr": 0.1}, steps, target=3)
    assert upgraded == {"learning_rate": 0.1, "unit": "s", "schema_version": 3}
    assert upgrade({"schema_version": 2, "x": 1}, steps, target=3) == {
        "schema_version": 3,
        "x": 1,
        "unit": "s",
    }


def test_a_record_at_the_current_schema_is_left_as_it_is() -> None:
    document = {"schema_version": 3, "x": 1}
    assert upgrade(document, {1: _rename_lr}, target=3) is document


@pytest.mark.parametrize(
    ("version", "newer", "message"),
    [(4, True, "newer repro"), (-1, False, "not a version"), ("2", False, "not a version")],
)
def test_versions_that_cannot_be_read_are_refused(
    version: object, newer: bool, message: str
) -> None:
    with pytest.raises(SchemaError, match=message) as raised:
        upgrade({"schema_version": version}, {}, target=3)
    assert raised.value.newer is newer


def test_a_gap_in_the_chain_is_an_error_not_a_guess() -> None:
    with pytest.raises(SchemaError, match="no upgrade from schema 2"):
        upgrade({"schema_version": 1}, {1: _add_unit}, target=3)


def test_a_record_without_a_version_is_read_as_schema_0() -> None:
    assert upgrade({"id": "x"}) == {"id": "x", "schema_version": SCHEMA_VERSION}


def test_a_record_from_before_conda_and_container_capture_compares_with_a_new_one(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"train.py": "print('ok')\n"})
    assert repro(root, "run", "train.py", env={"CONDA_PREFIX": ""}).returncode == 0
    document = json.loads(SCHEMA_1.read_text())
    run_dir = root / ".repro" / "runs" / document["id"]
    run_dir.mkdir()
    shutil.copyfile(SCHEMA_1, run_dir / "run.json")
    record = json.loads(repro(root, "show", "--json", document["id"]).stdout)
    assert (record["conda"], record["container"], record["system"]["glibc"]) == (None, None, None)
    done = repro(root, "diff", "--json", "--section", "conda", document["id"], "@")
    assert done.returncode in (0, 1), done.stderr
    (conda,) = json.loads(done.stdout)["sections"]
    assert conda["status"] == "equal"  # neither side recorded a conda environment
    glibc = repro(root, "diff", "--json", "--section", "system", document["id"], "@").stdout
    assert "glibc" not in glibc  # unknown on one side is no difference
