"""`repro list` and `repro show`: what a user reads after a run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from helpers.cli import record_of, repro, run_dirs, start_run
from helpers.repos import MakeRepo


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
    assert newest.startswith(rows[0].split()[0]) and "failed" in rows[0] and "bad.py" in rows[0]
    assert oldest.startswith(rows[1].split()[0]) and "succeeded" in rows[1] and " 5 " in rows[1]


def test_list_shows_each_id_by_a_prefix_that_names_it_alone(project: Path) -> None:
    rows = [line for line in repro(project, "list").stdout.splitlines() if line.strip()][1:]
    for row, run_id in zip(rows, ids_newest_first(project), strict=True):
        shown = row.split()[0]
        assert 10 <= len(shown) < len(run_id) and run_id.startswith(shown)
        assert record_of(project, shown)["id"] == run_id


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


def test_list_shows_the_newest_twenty_unless_asked_for_more(make_repo: MakeRepo) -> None:
    root = make_repo({"ok.py": "print('ok')\n"})
    for _ in range(22):
        assert repro(root, "run", "ok.py").returncode == 0
    default = repro(root, "list")
    assert default.returncode == 0
    assert default.stdout.count("succeeded") == 20
    assert "the newest 20 shown: --limit N or --all for more" in default.stderr
    assert len(json.loads(repro(root, "list", "--json").stdout)) == 20
    assert len(json.loads(repro(root, "list", "--json", "--all").stdout)) == 22
    three = repro(root, "list", "--limit", "3")
    assert three.stdout.count("succeeded") == 3 and "--all for more" in three.stderr
    assert "for more" not in repro(root, "list", "--limit", "22").stderr


def _as_if_from_another_host(root: Path, heartbeat_age: float) -> str:
    """A running record whose supervisor is on host-b (a shared store), its last heartbeat
    `heartbeat_age` seconds ago: what this host reads of another host's run."""
    before = set(run_dirs(root))
    proc = start_run(root, "import time; print('up', flush=True); time.sleep(60)", b"up")
    (run_dir,) = set(run_dirs(root)) - before
    deadline = time.monotonic() + 10
    while not (run_dir / "run.json").exists():  # the running record follows the launch
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    record = json.loads((run_dir / "run.json").read_text())
    record["supervisor"]["hostname"] = "host-b"
    (run_dir / "run.json").write_text(json.dumps(record))
    beat = time.time() - heartbeat_age
    os.utime(run_dir / "lock", (beat, beat))
    return run_dir.name


@pytest.mark.parametrize(("age", "status"), [(0.0, "unknown (remote)"), (3600.0, "presumed dead")])
def test_list_filters_on_every_status_it_can_show(
    make_repo: MakeRepo, age: float, status: str
) -> None:
    root = make_repo({"ok.py": "print('ok')\n"})
    assert repro(root, "run", "ok.py").returncode == 0
    run_id = _as_if_from_another_host(root, age)
    listed = repro(root, "list", "--json", "--status", status)
    assert listed.returncode == 0, listed.stderr
    assert [row["id"] for row in json.loads(listed.stdout)] == [run_id]


def test_the_status_choices_are_every_status_list_can_show() -> None:
    from repro_run.cli.views import STATUS_CHOICES
    from repro_run.models import LISTED_STATUSES

    assert sorted(STATUS_CHOICES) == sorted(LISTED_STATUSES)


@pytest.mark.parametrize("width", [60, 80, 100])
def test_list_fits_a_narrow_terminal_keeping_ids_and_commands_whole_lines(
    make_repo: MakeRepo, width: int
) -> None:
    """Columns give way by priority (seed first), never the ID or the COMMAND column."""
    import io

    from rich.console import Console

    from repro_run.app.query import list_runs
    from repro_run.app.workspace import Workspace
    from repro_run.ui.runs import render_list

    root = make_repo({"ok.py": "import repro_run\nrepro_run.log_metrics(step=0, loss=0.25)\n"})
    long = ["ok.py", *[f"--option-{n}=value" for n in range(12)]]
    assert repro(root, "run", "--repeat", "2", *long).returncode == 0
    out = io.StringIO()
    terminal = Console(file=out, width=width, color_system=None, force_terminal=True)
    render_list(list_runs(Workspace.find(root)), terminal)
    lines = out.getvalue().splitlines()
    assert all(len(line) <= width for line in lines)
    assert "COMMAND" in lines[0] and "ID" in lines[0]
    for run in json.loads(repro(root, "list", "--json").stdout):
        row = next(line for line in lines if line.startswith(run["id"]))
        assert "ok.py --option-0" in row


def test_show_off_a_terminal_never_cuts_a_path_or_command_mid_word(make_repo: MakeRepo) -> None:
    long_dir = "a-rather-long-directory-name/" * 4
    root = make_repo({f"{long_dir}train.py": "print('ok')\n", "cfg.yaml": "lr: 0.1\n"})
    argv = [f"{long_dir}train.py", "--config", "cfg.yaml", "--note", "x" * 120]
    assert repro(root, "run", *argv).returncode == 0
    shown = repro(root, "show", "@").stdout
    assert f"{long_dir}train.py --config cfg.yaml --note {'x' * 120}" in shown
    assert "cfg.yaml  yaml, 1 parameter," in shown
