"""`repro diff` end to end: real runs through the real CLI, then what a user types and reads."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from helpers.cli import on_terminal, repro
from helpers.repos import GIT_ENV, MakeRepo, commit_all, git, write_files

from repro_run.cli.views import DIFF_SECTIONS_HELP
from repro_run.models.comparison import SECTION_NAMES
from repro_run.store import Store

SCRIPT = """\
import os, pathlib, sys
pathlib.Path("out").mkdir(exist_ok=True)
config = open(sys.argv[sys.argv.index("--config") + 1]).read()
pathlib.Path("out/model.bin").write_text(os.environ["REPRO_SEED"] + config)
print("trained")
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""
FILES = {
    "train.py": SCRIPT,
    "cfg.yaml": "optim:\n  lr: 0.1\n  epochs: 3\n",
    ".gitignore": "data/\nout/\n",
}
RUN = (
    "run",
    "--seed",
    "7",
    "--data",
    "data",
    "--outputs",
    "out",
    "train.py",
    "--config",
    "cfg.yaml",
)


class Runs(NamedTuple):
    root: Path
    a: str  # lr 0.1, one data file
    b: str  # lr 0.05 (a new commit), a data file added
    c: str  # as b, with more env vars, and the script failing


def _run(root: Path, env: dict[str, str] | None = None, code: int = 0) -> str:
    done = repro(root, *RUN, env=env)
    assert done.returncode == code, done.stderr
    return json.loads(repro(root, "show", "--json", "@").stdout)["id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Three runs built once for the tests that only read them (the autouse env isolation of
    conftest is function-scoped, so it is repeated here)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in GIT_ENV.items():
            env.setenv(name, value)
        for name in ("REPRO_HOME", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "NO_COLOR"):
            env.delenv(name, raising=False)
        env.setenv("REPRO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        root = tmp_path_factory.mktemp("diff") / "project"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        write_files(root, {**FILES, "data/a.csv": "1,2\n"})
        commit_all(root, "initial")
        a = _run(root)
        write_files(root, {"cfg.yaml": "optim:\n  lr: 0.05\n  epochs: 3\n", "data/b.csv": "3,4\n"})
        commit_all(root, "lower the learning rate")
        b = _run(root)
        c = _run(
            root, {"OMP_NUM_THREADS": "3", "MY_API_TOKEN": "rpr_CANARY_diff", "EXIT_WITH": "2"}, 2
        )
        yield Runs(root, a, b, c)


def diff_json(root: Path, *args: str) -> dict[str, Any]:
    done = repro(root, "diff", "--json", *args)
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def changes(document: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    (found,) = [s for s in document["sections"] if s["name"] == section]
    return {c["key"]: c for c in found["changes"]}


def flat(text: str) -> str:
    """Text without its line breaks: the renderer wraps at the terminal's width (80 here)."""
    return " ".join(text.split())


def copy_of(runs: Runs, tmp_path: Path) -> Path:
    """A private copy of the project and its store, for tests that edit records."""
    return Path(shutil.copytree(runs.root, tmp_path / "project", symlinks=True))


def edit_record(root: Path, run_id: str, edit: Any) -> None:
    path = root / ".repro" / "runs" / run_id / "run.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


# --- what a user sees ----------------------------------------------------------------------------
def test_runs_differing_in_config_and_data_show_data_first_and_exit_1(runs: Runs) -> None:
    done = repro(runs.root, "diff", runs.a, runs.b)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    headings = [
        line for line in out.splitlines() if line and not line.startswith((" ", "A ", "B "))
    ]
    assert headings[:4] == ["Data", "Code", "Config", "Outputs"]
    assert "+ b.csv" in out and "1 → 2 files" in out
    assert "git diff --stat: 1 file changed, +1 -1" in out and "cfg.yaml  +1 -1" in out
    assert "~ optim.lr" in out and "0.1 → 0.05" in out
    assert "~ model.bin" in out
    assert "most likely cause first: data, code, config, outputs" in flat(out)
    assert "Seed" not in headings  # by default only what differs


def test_a_run_compared_with_itself_is_equal_and_exits_0(runs: Runs) -> None:
    done = repro(runs.root, "diff", runs.a, runs.a)
    assert done.returncode == 0, done.stderr
    assert "No differences in the compared sections." in done.stdout


def test_env_values_and_secret_names_and_a_failed_run(runs: Runs) -> None:
    document = diff_json(runs.root, runs.b, runs.c)
    env = changes(document, "env")
    assert (env["OMP_NUM_THREADS"]["change"], env["OMP_NUM_THREADS"]["new"]) == ("added", "3")
    assert env["MY_API_TOKEN"]["new"] == "(secret; by name only)"
    resources = changes(document, "resources")
    assert (resources["status"]["old"], resources["status"]["new"]) == ("succeeded", "failed")
    assert resources["exit code"]["new"] == 2
    assert "rpr_CANARY_diff" not in repro(runs.root, "diff", "--all", runs.b, runs.c).stdout


# --- references ----------------------------------------------------------------------------------
def test_prefixes_newest_and_relative_references(runs: Runs) -> None:
    prefix = next(
        runs.a[:n]
        for n in range(1, 11)
        if not runs.b.startswith(runs.a[:n]) and not runs.c.startswith(runs.a[:n])
    )
    document = diff_json(runs.root, prefix, "@")
    assert (document["a"]["id"], document["b"]["id"]) == (runs.a, runs.c)
    document = diff_json(runs.root, "@~2", "@~1")
    assert (document["a"]["id"], document["b"]["id"]) == (runs.a, runs.b)
    assert diff_json(runs.root, "@~1", "latest")["b"]["id"] == runs.c


def test_unknown_run_is_exit_7(runs: Runs) -> None:
    done = repro(runs.root, "diff", "zzzzzz", "@")
    assert done.returncode == 7
    assert done.stderr == "repro: error: no run matches 'zzzzzz' (repro list shows run IDs)\n"
    assert repro(runs.root, "diff", "@", "@~9").returncode == 7


def test_ambiguous_prefix_is_exit_7_and_lists_the_candidates(runs: Runs) -> None:
    common = os.path.commonprefix([runs.a, runs.b, runs.c])  # noqa: RUF071 - IDs, not paths
    done = repro(runs.root, "diff", common, "@")
    assert done.returncode == 7
    assert "is ambiguous" in done.stderr and runs.a in done.stderr and runs.b in done.stderr


# --- flags ---------------------------------------------------------------------------------------
def test_section_filter_limits_the_sections_and_the_exit_code(runs: Runs) -> None:
    done = repro(runs.root, "diff", "--json", "--section", "seed,packages", runs.a, runs.b)
    assert done.returncode == 0
    assert [s["name"] for s in json.loads(done.stdout)["sections"]] == ["seed", "packages"]
    done = repro(runs.root, "diff", "--section", "config", "--section", "data", runs.a, runs.b)
    assert done.returncode == 1 and "Data" in done.stdout and "Code" not in done.stdout


def test_unknown_section_is_a_usage_error(runs: Runs) -> None:
    done = repro(runs.root, "diff", "--section", "data,weather", runs.a, runs.b)
    assert done.returncode == 2
    assert done.stderr.startswith("repro: error: unknown section 'weather': choose from data, code")


def test_help_lists_every_section() -> None:
    for name in SECTION_NAMES:
        assert f" {name}," in DIFF_SECTIONS_HELP or f" {name}." in DIFF_SECTIONS_HELP


def test_json_document_has_the_documented_shape(runs: Runs) -> None:
    document = diff_json(runs.root, runs.a, runs.b)
    assert set(document) == {"format", "version", "a", "b", "differs", "sections"}
    assert (document["format"], document["version"], document["differs"]) == ("repro-diff", 1, True)
    assert set(document["a"]) == {"kind", "id", "created", "status", "command"}
    sections = document["sections"]
    assert [s["name"] for s in sections] == list(SECTION_NAMES)
    assert [s["rank"] for s in sections] == list(range(1, len(SECTION_NAMES) + 1))
    for s in sections:
        assert set(s) == {"name", "title", "rank", "role", "status", "summary", "notes", "changes"}
        for c in s["changes"]:
            assert set(c) == {"key", "change", "old", "new", "unit", "details", "extra"}
            assert c["change"] != "equal"
    assert changes(document, "data")["data"]["extra"]["files"]["first_paths"] == ["+ b.csv"]
    everything = diff_json(runs.root, "--all", runs.a, runs.b)
    assert changes(everything, "config")["optim.epochs"]["change"] == "equal"


# --- rendering -----------------------------------------------------------------------------------
def test_plain_text_off_a_terminal_fits_80_columns(runs: Runs) -> None:
    done = repro(runs.root, "diff", "--all", runs.a, runs.c, env={"COLUMNS": "80"})
    assert done.returncode == 1
    assert "\x1b" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    assert all(line == line.rstrip() for line in done.stdout.splitlines())


def test_long_keys_are_not_broken_where_the_screen_has_room(runs: Runs) -> None:
    done = repro(runs.root, "diff", "--all", runs.a, runs.c, env={"COLUMNS": "100"})
    (line,) = [line for line in done.stdout.splitlines() if "NVTE_ALLOW" in line]
    assert line.split()[:3] == ["=", "NVTE_ALLOW_NONDETERMINISTIC_ALGO", "0"]


def test_colour_on_a_terminal_and_plain_text_with_no_color(runs: Runs) -> None:
    coloured = on_terminal(runs.root, "diff", runs.a, runs.b, env={"TERM": "xterm-256color"})
    assert "\x1b[" in coloured and "optim.lr" in coloured
    plain = on_terminal(
        runs.root, "diff", runs.a, runs.b, env={"TERM": "xterm-256color", "NO_COLOR": "1"}
    )
    assert "\x1b[" not in plain and "optim.lr" in plain


# --- records that are not what they were ----------------------------------------------------------
def test_a_record_written_by_an_older_schema_still_compares(runs: Runs, tmp_path: Path) -> None:
    """Schema 0 predates configs, data, outputs and process results: they read as absent."""
    root = copy_of(runs, tmp_path)

    def older(document: dict[str, Any]) -> None:
        document["schema_version"] = 0
        for key in (
            "configs",
            "data",
            "outputs",
            "output_paths",
            "started",
            "ended",
            "process",
            "problems",
        ):
            del document[key]
        for key in ("dirty_paths", "patch_object", "is_shallow", "missing"):
            del document["code"][key]

    edit_record(root, runs.a, older)
    document = diff_json(root, runs.a, runs.b)
    assert changes(document, "data")["data"]["change"] == "added"
    assert changes(document, "config")["optim.lr"]["change"] == "added"
    assert changes(document, "resources")["exit code"]["change"] == "added"


def test_a_record_from_a_newer_repro_is_exit_8(runs: Runs, tmp_path: Path) -> None:
    root = copy_of(runs, tmp_path)
    edit_record(root, runs.b, lambda d: d.update(schema_version=99))
    done = repro(root, "diff", runs.a, runs.b)
    assert done.returncode == 8 and "newer repro" in done.stderr


def test_a_commit_gone_from_the_repository_is_named(runs: Runs, tmp_path: Path) -> None:
    root = copy_of(runs, tmp_path)
    edit_record(root, runs.a, lambda d: d["code"].update(commit="f" * 40))
    done = repro(root, "diff", "--section", "code", runs.a, runs.b)
    assert done.returncode == 1
    assert "commit ffffffffffff is not in this repository (rebased or force-pushed?)" in flat(
        done.stdout
    )


def test_packages_are_read_from_the_store(runs: Runs, tmp_path: Path) -> None:
    root = copy_of(runs, tmp_path)
    store = Store.open(root / ".repro")
    record = json.loads((root / ".repro" / "runs" / runs.b / "run.json").read_text())
    packages = json.loads(store.get_bytes(record["packages"]["object"]))
    click = next(p for p in packages["packages"] if p["name"].lower() == "click")
    click["version"] = "99.0"
    packages["packages"] = [p for p in packages["packages"] if p["name"].lower() != "pyyaml"]
    packages["packages"].append({"name": "left-pad", "version": "1.3.0"})
    digest = store.put_bytes(json.dumps(packages).encode())
    edit_record(root, runs.b, lambda d: d["packages"].update(object=digest))
    found = changes(diff_json(root, "--section", "packages", runs.a, runs.b), "packages")
    assert {k: v["change"] for k, v in found.items()} == {
        "click": "upgraded",
        "pyyaml": "removed",
        "left-pad": "added",
    }


# --- one run against the current environment ------------------------------------------------------
@pytest.fixture
def one_run(make_repo: MakeRepo) -> Path:
    root = make_repo(FILES)
    write_files(root, {"data/a.csv": "1,2\n"})
    _run(root)
    return root


def test_one_run_right_after_it_ran_equals_the_current_environment(one_run: Path) -> None:
    done = repro(one_run, "diff", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "B  the current environment and working tree" in done.stdout
    assert "not compared: command, seed, framework, nodes, determinism, metrics," in done.stdout


def test_one_run_against_what_changed_since(one_run: Path) -> None:
    write_files(one_run, {"cfg.yaml": "optim:\n  lr: 0.3\n  epochs: 3\n", "data/new.csv": "5,6\n"})
    document = diff_json(one_run, "@")
    assert document["b"] == {"kind": "current"}
    assert changes(document, "data")["data"]["extra"]["files"]["first_paths"] == ["+ new.csv"]
    assert changes(document, "config")["optim.lr"]["new"] == 0.3
    patch = changes(document, "code")["patch"]
    assert patch["change"] == "added" and patch["details"] == ["B: modified cfg.yaml"]
    assert repro(one_run, "diff", "@").returncode == 1


def test_one_run_whose_config_file_is_gone_says_so(one_run: Path) -> None:
    (one_run / "cfg.yaml").unlink()
    document = diff_json(one_run, "--section", "config", "@")
    (config,) = document["sections"]
    assert config["notes"][0].startswith("cfg.yaml: ")
    assert changes(document, "config")["optim.lr"]["change"] == "removed"


def test_one_run_whose_config_was_reformatted_differs_in_config(one_run: Path) -> None:
    write_files(one_run, {"cfg.yaml": "optim: {lr: 0.1, epochs: 3}\n"})  # the same parameters
    document = diff_json(one_run, "--section", "config", "@")
    assert document["differs"] is True
    (content,) = changes(document, "config").values()
    assert (content["key"], content["change"]) == ("file content", "changed")
    done = repro(one_run, "diff", "--section", "config", "@")
    assert done.returncode == 1
    assert "cfg.yaml: content differs (no parameter changed)" in flat(done.stdout)


def test_diff_outside_a_repository_is_exit_3(tmp_path: Path) -> None:
    done = repro(tmp_path, "diff", "@")
    assert done.returncode == 3 and "not inside a git repository" in done.stderr
