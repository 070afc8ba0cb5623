"""The console script: a plain `repro run COMMAND...` skips click; everything else goes to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

from repro_run.cli.commands import cli
from repro_run.cli.main import plain_run_command

ARGVS = [
    ["run", "train.py", "--config", "c.yaml"],
    ["run", "--", "python", "-m", "pkg", "--lr", "0.1"],
    ["run", "--", "-odd-name"],
    ["run", "train.py", "--", "x"],
    ["run", "python", "--seed", "3"],  # the command's own --seed
    ["run", "--seed", "3", "train.py"],  # repro's --seed: click's
    ["run", "-h"],
    ["run", "--"],
    ["run"],
    ["list"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=[" ".join(a) or "-" for a in ARGVS])
def test_the_plain_form_is_read_as_click_reads_it(argv: list[str]) -> None:
    """Where the shortcut takes a command line, click would have run that same command with
    every option at its default; anything else is left to click."""
    shortcut = plain_run_command(argv)
    if shortcut is None:
        return  # click parses it (and reports its errors)
    parsed, defaults = _click_params(argv[1:]), _click_params(["--", "x"])
    assert parsed.pop("command") == shortcut
    defaults.pop("command")
    assert parsed == defaults


def _click_params(args: list[str]) -> dict[str, object]:
    command = cli.commands["run"]
    return dict(command.make_context("run", args, parent=click.Context(cli)).params)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": "print('hi')\n"})


def _plain_run(project: Path, before: str = "", after: str = "") -> str:
    """Run `repro run -- true` through cli/main.py in a fresh interpreter; what `after` prints."""
    probe = (
        f"import sys\n{before}from repro_run.cli import main\n"
        "try:\n    main.dispatch(['run', '--', 'true'])\n"
        f"except SystemExit as exc:\n    code = exc.code\n{after}"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_a_plain_run_never_imports_click(project: Path) -> None:
    assert _plain_run(project, after="print(code, 'click' in sys.modules)\n").split() == [
        "0",
        "False",
    ]
    assert record_of(project)["status"] == "succeeded"


def test_both_paths_record_the_same_command(project: Path) -> None:
    repro(project, "run", "--", "python", "-c", "pass")
    plain = record_of(project)
    repro(project, "run", "--no-auto-data", "--", "python", "-c", "pass")
    clicked = record_of(project)
    assert plain["command"]["argv"] == clicked["command"]["argv"] == ["python", "-c", "pass"]
    assert plain["determinism"]["injected"].keys() == clicked["determinism"]["injected"].keys()


def test_exit_status_and_missing_command_errors_keep_their_codes(project: Path) -> None:
    assert repro(project, "run", "--", "python", "-c", "raise SystemExit(3)").returncode == 3
    missing = repro(project, "run", "no-such-command-xyz")
    assert missing.returncode == 127 and "Traceback" not in missing.stderr
    assert repro(project, "run", "--").returncode == 2  # click: the command is missing


def test_a_mistyped_option_before_the_command_is_a_usage_error(project: Path) -> None:
    """`--output` is not run as a command: click names it and suggests `--outputs`."""
    done = repro(project, "run", "--output", "out", "train.py")
    assert done.returncode == 2
    assert "No such option '--output'" in done.stderr and "--outputs" in done.stderr
    assert not (project / ".repro" / "runs").exists() or not list(
        (project / ".repro" / "runs").iterdir()
    )


def test_options_after_the_command_and_after_a_double_dash_are_the_commands(
    project: Path,
) -> None:
    assert repro(project, "run", "--seed", "3", "train.py", "--output", "x").returncode == 0
    assert record_of(project)["command"]["argv"] == ["train.py", "--output", "x"]
    missing = repro(project, "run", "--seed", "3", "--", "--odd-command")
    assert missing.returncode == 127 and "command not found: --odd-command" in missing.stderr


def test_a_plain_run_launches_the_command_before_loading_what_it_does_not_need(
    project: Path,
) -> None:
    """The launch path's imports are the wrapper's overhead (bench/overhead.py): what only the
    capture, the end of the run or other commands need must not be loaded before the child."""
    hook = (
        "seen = []\n"
        "AT_START = set(sys.modules)\n"  # what site loaded (some .pth files import a lot)
        "def hook(event, args):\n"
        "    if event == 'subprocess.Popen' and args[1][0] == 'true' and not seen:\n"
        "        seen.append(sorted(m for m in LATE if m in sys.modules and m not in AT_START))\n"
        "LATE = ('click', 'psutil', 'concurrent.futures', 'logging', 'tempfile', 'csv',\n"
        "        'tomllib', 'platform', 'yaml', 'rich', 'git', 'pynvml', 'sqlite3', 'datetime',\n"
        "        'shutil', 'bz2', 'lzma', 'typing',\n"
        "        'repro_run.capture.system', 'repro_run.capture.packages',\n"
        "        'repro_run.capture.child_facts', 'repro_run.fingerprint.tree')\n"
        "sys.addaudithook(hook)\n"
    )
    assert _plain_run(project, before=hook, after="print(seen)\n").strip() == "[[]]"


def test_the_record_times_are_utc_iso_timestamps_in_order(project: Path) -> None:
    import datetime as dt

    repro(project, "run", "--", "python", "-c", "pass")
    record = record_of(project)
    times = [dt.datetime.fromisoformat(record[k]) for k in ("created", "started", "ended")]
    assert all(t.utcoffset() == dt.timedelta(0) for t in times)
    assert times[0] <= times[1] <= times[2] and record["started"][-10:-6].startswith(".")
