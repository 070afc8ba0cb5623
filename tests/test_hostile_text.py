"""Recorded text is data: argv, file names, config and env values and metric names holding rich
markup (`[/]`, `[bold]`, `:smile:`) or terminal escapes (OSC `\\x1b]0;x\\x07`, SGR `\\x1b[31m`)
reach every view as visible text: no crash, no raw ESC or BEL byte on the terminal (issue 14).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from helpers.cli import on_terminal, repro
from helpers.repos import GIT_ENV, commit_all, git, write_files

MARKUP = "[/] [bold] :smile:"
HOSTILE = f"{MARKUP} \x1b]0;x\x07 \x1b[31m"
NAME = "[bold]n :smile: \x1b]0;x\x07\x1b[31m"  # a file name: no slash
SHOWN = ("\\x1b]0;x\\x07", "\\x1b[31m")  # how the escapes read on the screen

SCRIPT = """\
import json, os, pathlib, sys
name = sys.argv[2]
pathlib.Path("out").mkdir(exist_ok=True)
(pathlib.Path("out") / name).write_bytes(os.urandom(16))  # a rerun's output differs
pathlib.Path("metrics.jsonl").write_text(json.dumps({"step": 1, name: 0.5}) + "\\n")
print("trained", sys.argv[1], os.urandom(4).hex())
"""
CODE = "import random\nrng = random.Random()\n"  # a doctor finding, in a file named NAME


class Hostile(NamedTuple):
    root: Path
    a: str
    b: str
    run_output: str  # stdout and stderr of `repro run` (b, whose data changed since a)


def _run(root: Path, schedule: str) -> subprocess.CompletedProcess[str]:
    argv = ["--data", "data", "--outputs", "out", "--metrics-file", "metrics.jsonl"]
    argv += ["train.py", HOSTILE, NAME, "tags=[exp1,fast]", "--config", "cfg.yaml"]
    done = repro(root, "run", *argv, env={"OMP_SCHEDULE": schedule})
    assert done.returncode == 0, done.stderr
    return done


def _newest(root: Path) -> str:
    return json.loads(repro(root, "show", "--json", "@").stdout)["id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    """Two runs built once (conftest's autouse env isolation is function-scoped: repeated here)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in GIT_ENV.items():
            env.setenv(name, value)
        for name in ("REPRO_HOME", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"):
            env.delenv(name, raising=False)
        env.setenv("REPRO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        root = tmp_path_factory.mktemp("hostile") / "project"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        config = 'name: "[/] [bold] :smile: \\e]0;x\\a \\e[31m"\n'
        files = {"train.py": SCRIPT, "cfg.yaml": config, f"{NAME}.py": CODE}
        write_files(root, {**files, ".gitignore": "data/\nout/\nmetrics.jsonl\n"})
        write_files(root, {f"data/{NAME}.csv": "1\n"})
        commit_all(root)
        _run(root, HOSTILE)
        a = _newest(root)
        write_files(root, {f"data/{NAME}.new.csv": "2\n"})
        done = _run(root, f"{HOSTILE} b")
        yield Hostile(root, a, _newest(root), done.stdout + done.stderr)


def assert_shown_as_text(output: str, *expected: str) -> None:
    assert "\x1b" not in output and "\x07" not in output, output
    for text in expected:
        assert text in output, output


def test_run_lines_show_the_command_and_changed_file_names_as_text(hostile: Hostile) -> None:
    lines = hostile.run_output.replace(hostile.root.name, "")
    # The child's own stdout passes through untouched: only repro's lines are checked.
    ours = "\n".join(line for line in lines.splitlines() if line.startswith(("repro:", "    ")))
    assert_shown_as_text(ours, "tags=[exp1,fast]", MARKUP, *SHOWN, ".new.csv")


def test_list_shows_markup_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "list")
    assert done.returncode == 0, done.stderr
    assert_shown_as_text(done.stdout + done.stderr, "[/] [bold]")


def test_list_shows_a_tag_list_in_brackets(hostile: Hostile) -> None:
    done = repro(hostile.root, "run", "--", "echo", "tags=[exp1,fast]")
    assert done.returncode == 0, done.stderr
    listed = repro(hostile.root, "list")
    assert listed.returncode == 0, listed.stderr
    assert_shown_as_text(listed.stdout + listed.stderr, "echo 'tags=[exp1,fast]'")


def test_show_shows_argv_config_metrics_and_outputs_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "show", hostile.b)
    assert done.returncode == 0, done.stderr
    assert_shown_as_text(done.stdout + done.stderr, "tags=[exp1,fast]", MARKUP, *SHOWN)


def test_diff_shows_env_config_data_and_metric_names_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "diff", "--all", hostile.a, hostile.b, env={"COLUMNS": "200"})
    assert done.returncode == 1, done.stderr
    assert_shown_as_text(done.stdout + done.stderr, "OMP_SCHEDULE", MARKUP, *SHOWN)


def test_stats_shows_metric_names_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "stats", hostile.a, hostile.b)
    assert done.returncode == 0, done.stderr
    assert_shown_as_text(done.stdout + done.stderr, "[bold]n :smile:", *SHOWN)


def test_doctor_shows_file_names_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "doctor")
    assert done.returncode == 0, done.stderr
    assert_shown_as_text(done.stdout + done.stderr, "[bold]n :smile:", *SHOWN)


def test_rerun_verdict_names_differing_outputs_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "rerun", hostile.b, "--allow-data-drift")
    assert done.returncode == 21, done.stdout + done.stderr  # an output differs, metrics equal
    shown = done.stdout + done.stderr.replace(hostile.root.name, "")
    ours = "\n".join(line for line in shown.splitlines() if not line.startswith("trained"))
    assert_shown_as_text(ours, "[bold]n :smile:", *SHOWN)


def test_html_report_shows_escapes_as_visible_text(hostile: Hostile, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = repro(hostile.root, "report", hostile.a, hostile.b, "-o", str(page))
    assert done.returncode == 0, done.stderr
    assert_shown_as_text(page.read_text(), "tags=[exp1,fast]", *SHOWN)


def test_json_keeps_the_recorded_text_exact(hostile: Hostile) -> None:
    done = repro(hostile.root, "show", "--json", hostile.b)
    assert json.loads(done.stdout)["command"]["argv"][-5:-2] == [HOSTILE, NAME, "tags=[exp1,fast]"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux PTYs")
@pytest.mark.parametrize("view", ["list", "show", "diff", "doctor"])
def test_on_a_colour_terminal_recorded_escapes_stay_text(hostile: Hostile, view: str) -> None:
    args = {"list": ["list"], "show": ["show", hostile.b], "diff": ["diff", hostile.a, hostile.b]}
    output = on_terminal(
        hostile.root, *args.get(view, [view]), env={"TERM": "xterm-256color", "COLUMNS": "200"}
    )
    assert "\x1b[" in output  # colour is on
    assert "\x1b]" not in output and "\x07" not in output and "\x1b[31m" not in output, output
    assert "\\x1b]0;x\\x07" in output


def test_an_error_message_shows_the_text_it_quotes_as_text(hostile: Hostile) -> None:
    done = repro(hostile.root, "show", f"x{HOSTILE}")
    assert done.returncode == 7, done.stderr  # no such run
    assert_shown_as_text(done.stderr, "repro: error:", *SHOWN)
