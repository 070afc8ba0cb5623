"""`repro list` and `repro show`: what a user reads after a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import repro, run_dirs, start_run
from conftest import MakeRepo


def ids_newest_first(root: Path) -> list[str]:
    """Run IDs sort by time to the second; within a second `list` orders by creation time."""
    return [run["id"] for run in json.loads(repro(root, "list", "--json").stdout)]


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {"ok.py": "print('ok')\n", "bad.py": "raise SystemExit(2)\n", "cfg.yaml": "lr: 0.1\n"}
    )
    assert repro(root, "run", "--seed", "5", "ok.py", "--config", "cfg.yaml").returncode == 0
    assert repro(root, "run", "bad.py").returncode == 2
    return root


def test_list_shows_runs_newest_first_with_their_columns(project: Path) -> None:
    done = repro(project, "list")
    assert done.returncode == 0
    header, *rows = [line for line in done.stdout.splitlines() if line.strip()]
    for column in ("ID", "STARTED", "STATUS", "DURATION", "COMMAND", "COMMIT", "SEED", "EXIT"):
        assert column in header
    newest, oldest = ids_newest_first(project)
    assert sorted([newest, oldest]) == sorted(p.name for p in run_dirs(project))
    assert rows[0].startswith(newest) and "failed" in rows[0] and "bad.py" in rows[0]
    assert rows[1].startswith(oldest) and "succeeded" in rows[1] and " 5 " in rows[1]


def test_list_json_filters_by_status_and_limit(project: Path) -> None:
    runs = json.loads(repro(project, "list", "--json").stdout)
    assert [r["status"] for r in runs] == ["failed", "succeeded"]
    assert set(runs[0]) >= {
        "id",
        "created",
        "status",
        "duration",
        "command",
        "commit",
        "seed",
        "exit_code",
    }
    succeeded = json.loads(repro(project, "list", "--json", "--status", "succeeded").stdout)
    assert [r["seed"] for r in succeeded] == [5]
    assert len(json.loads(repro(project, "list", "--json", "--limit", "1").stdout)) == 1


def test_a_run_listed_while_running_is_listed_by_its_final_status(project: Path) -> None:
    """`repro run` leaves indexing to `list`: a run indexed as running by a `list` during it
    is found by its final status afterwards, also by a status filter."""
    script = (
        "import os, time\nprint('up', flush=True)\nwhile not os.path.exists('go'): time.sleep(0.01)"
    )
    proc = start_run(project, script, b"up")
    (running,) = json.loads(repro(project, "list", "--json", "--status", "running").stdout)
    (project / "go").write_text("")
    assert proc.wait(timeout=30) == 0
    listed = json.loads(repro(project, "list", "--json", "--status", "succeeded").stdout)
    assert running["id"] in [row["id"] for row in listed]
    assert json.loads(repro(project, "list", "--json", "--status", "running").stdout) == []


def test_list_in_a_project_without_runs_says_how_to_start(make_repo: MakeRepo) -> None:
    done = repro(make_repo(), "list")
    assert done.returncode == 0 and "repro run" in done.stdout


def test_list_survives_a_deleted_index(project: Path) -> None:
    repro(project, "list")  # `list` builds the index (`repro run` leaves it to list)
    (project / ".repro" / "index.sqlite").unlink()
    assert len(json.loads(repro(project, "list", "--json").stdout)) == 2


@pytest.mark.parametrize("ref", ["@", "latest", "@~0"])
def test_newest_run_aliases(project: Path, ref: str) -> None:
    newest = ids_newest_first(project)[0]
    assert json.loads(repro(project, "show", "--json", ref).stdout)["id"] == newest


def test_show_accepts_any_unique_prefix(project: Path) -> None:
    newest, oldest = ids_newest_first(project)
    prefix = next(
        oldest[:n] for n in range(1, len(oldest) + 1) if not newest.startswith(oldest[:n])
    )
    assert json.loads(repro(project, "show", "--json", prefix).stdout)["id"] == oldest
    assert json.loads(repro(project, "show", "--json", "@~1").stdout)["id"] == oldest


def test_show_summarises_every_captured_section(project: Path) -> None:
    done = repro(project, "show", "@~1")
    assert done.returncode == 0
    for section in (
        "Run",
        "Code",
        "Command",
        "Config",
        "Seed",
        "Environment",
        "Packages",
        "System",
        "GPU",
        "CUDA libraries",
        "Resources",
    ):
        assert f"\n{section}\n" in f"\n{done.stdout}", section
    assert "lr" in done.stdout and "0.1" in done.stdout
    assert "5 (cli)" in done.stdout


def test_show_json_is_the_whole_record(project: Path) -> None:
    record = json.loads(repro(project, "show", "--json", "@").stdout)
    for key in (
        "id",
        "status",
        "code",
        "command",
        "determinism",
        "env",
        "system",
        "packages",
        "gpu",
        "cuda",
        "process",
        "schema_version",
    ):
        assert key in record
    assert record["process"]["exit_code"] == 2


def test_plain_output_off_a_terminal_has_no_colour_codes(project: Path) -> None:
    for args in (("list",), ("show", "@")):
        assert "\x1b[" not in repro(project, *args).stdout


def test_counts_of_one_read_in_the_singular(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print('ok')\n", ".gitignore": "data/\n"})
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("1\n")
    assert repro(root, "run", "--data", "data", "train.py").returncode == 0
    shown = repro(root, "show", "@").stdout
    assert "1 file," in shown and "1 files" not in shown
