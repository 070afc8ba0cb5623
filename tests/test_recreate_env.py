"""`repro rerun --recreate-env`: the recorded environment rebuilt with the real uv from a simple
index of the test's own wheels on disk (no network), checked, cached and reused; the user's
environment never touched. Slow: each builds real virtual environments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import REPRO, assert_one_line_error, record_of, repro
from helpers.repos import MakeRepo, commit_all
from helpers.wheels import (
    install,
    install_project_editable,
    installed_version,
    make_venv,
    simple_index,
    user_env,
    write_project,
    write_wheel,
)

from repro_run.core.humanize import format_bytes

pytestmark = pytest.mark.slow

TRAIN = (
    "import tinypkg\nprint('value', tinypkg.VERSION)\nopen('out.txt', 'w').write(tinypkg.VERSION)\n"
)


class Project:
    def __init__(self, root: Path, venv: Path, wheels: Path, env: dict[str, str]) -> None:
        self.root, self.venv, self.wheels, self.env = root, venv, wheels, env

    def repro(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return repro(self.root, *args, env={**self.env, **extra}, timeout=180)

    def upgrade(self) -> None:
        install(self.venv / "bin" / "python", self.wheels, "tinypkg==2.0")


@pytest.fixture
def project(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, make_repo: MakeRepo
) -> Project:
    """A run recorded under tinypkg 1.0 in the user's venv, then the venv left as it was."""
    # Not under tmp_path: an index URL's random-looking path segment (this test's name) is
    # masked as a token when recorded.
    wheels = tmp_path_factory.mktemp("wheels")
    write_wheel(wheels, "tinypkg", "1.0")
    write_wheel(wheels, "tinypkg", "2.0")
    index = simple_index(tmp_path_factory.mktemp("index") / "simple", wheels)
    venv = tmp_path / "venv"
    make_venv(venv, sys.executable, wheels, "tinypkg==1.0")
    root = make_repo({"train.py": TRAIN, ".gitignore": "out.txt\n"})
    made = Project(root, venv, wheels, user_env(venv, index))
    done = made.repro("run", "--outputs", "out.txt", "--", "python", "train.py")
    assert done.returncode == 0, done.stderr
    return made


def test_plain_rerun_after_an_upgrade_diverges_naming_the_package_and_suggests_recreate_env(
    project: Project,
) -> None:
    run_id = record_of(project.root)["id"]
    project.upgrade()
    done = project.repro("rerun", run_id)
    assert done.returncode == 21, done.stderr
    assert "DIVERGED" in done.stdout
    causes = done.stdout.split("likely causes, most likely first:")[1].strip().splitlines()
    assert causes[0].strip() == "1. packages: tinypkg 1.0 → 2.0 (upgraded)"
    assert (
        causes[-1].strip()
        == f"repro rerun --recreate-env {run_id} runs it in the recorded packages"
    )
    assert "packages: tinypkg 1.0 → 2.0" in done.stderr  # before the run too
    assert f"repro rerun --recreate-env {run_id}" in done.stderr


def test_recreate_env_reproduces_the_run_and_leaves_the_users_venv_as_it_is(
    project: Project,
) -> None:
    run_id = record_of(project.root)["id"]
    project.upgrade()
    done = project.repro("rerun", "--recreate-env", run_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("value 1.0\nIDENTICAL")
    assert installed_version(project.venv / "bin" / "python", "tinypkg") == "2.0"
    rerun = record_of(project.root)
    assert rerun["rerun"]["recreated_env"]
    assert not rerun["rerun"]["environment_drift"]


def test_recreate_env_reuses_the_environment_it_built_on_the_second_call(
    project: Project,
) -> None:
    run_id = record_of(project.root)["id"]
    first = project.repro("rerun", "--recreate-env", run_id)
    assert first.returncode == 0, first.stderr
    assert f"environment of run {run_id} built: " in first.stderr
    envs = Path(os.environ["REPRO_CACHE_DIR"], "envs")
    [built] = [p for p in envs.iterdir() if p.is_dir()]
    stamp = built.stat().st_mtime_ns
    second = project.repro("rerun", "--recreate-env", run_id)
    assert second.returncode == 0, second.stderr
    assert f"environment of run {run_id} reused: {built}" in second.stderr
    assert [p for p in envs.iterdir() if p.is_dir()] == [built]
    assert built.stat().st_mtime_ns == stamp


def test_a_package_installed_from_a_local_file_is_refused_naming_it(
    tmp_path: Path, project: Project
) -> None:
    local = write_wheel(tmp_path / "elsewhere", "localpkg", "0.1")
    install(project.venv / "bin" / "python", project.wheels, str(local))
    assert project.repro("run", "--", "python", "train.py").returncode == 0
    done = project.repro("rerun", "--recreate-env", "@")
    assert_one_line_error(done, 41, "localpkg==0.1", "local file", "--allow-partial-env")


def test_allow_partial_env_rebuilds_the_rest_and_records_what_it_left_out(
    tmp_path: Path, project: Project
) -> None:
    local = write_wheel(tmp_path / "elsewhere", "localpkg", "0.1")
    install(project.venv / "bin" / "python", project.wheels, str(local))
    assert project.repro("run", "--", "python", "train.py").returncode == 0
    done = project.repro("rerun", "--recreate-env", "--allow-partial-env", "@")
    assert done.returncode == 0, done.stderr
    assert "not rebuilt (--allow-partial-env): localpkg==0.1" in done.stderr
    assert "the rebuilt environment differs" in done.stderr and "localpkg" in done.stderr
    rerun = record_of(project.root)["rerun"]
    assert rerun["env_left_out"][0].startswith("localpkg==0.1: installed from a local file")


def test_an_index_that_refuses_is_one_line_naming_the_index_and_the_package(
    project: Project,
) -> None:
    refusing = "http://127.0.0.1:9/simple"  # the discard port: nothing listens, connect refused
    assert project.repro("run", "--", "python", "train.py", PIP_INDEX_URL=refusing).returncode == 0
    done = project.repro("rerun", "--recreate-env", "@")
    assert_one_line_error(done, 40, "tinypkg==1.0", refusing)


def test_a_record_without_package_sources_rebuilds_from_the_indexes_configured_here(
    project: Project,
) -> None:
    run_id = _without_sources(project.root)
    done = project.repro("rerun", "--recreate-env", run_id)
    assert done.returncode == 0, done.stderr
    assert "record has no package sources (an older repro)" in done.stderr
    assert project.env["PIP_INDEX_URL"] in done.stderr
    assert done.stdout.startswith("value 1.0\nIDENTICAL")


def test_gc_envs_removes_the_cached_environments_no_rerun_is_using(project: Project) -> None:
    run_id = record_of(project.root)["id"]
    assert project.repro("rerun", "--recreate-env", run_id).returncode == 0
    envs = Path(os.environ["REPRO_CACHE_DIR"], "envs")
    assert [p for p in envs.iterdir() if p.is_dir()]
    done = project.repro("gc", "--envs", "--grace", "0")
    assert done.returncode == 0, done.stderr
    assert "removed 1 rebuilt environment(s)" in done.stdout
    assert not [p for p in envs.iterdir() if p.is_dir()]


EIGHT_DAYS_S = 8 * 24 * 3600


def _built_and_left_unused_for_eight_days(project: Project) -> Path:
    """The environment a rerun built, its last use (its lock's mtime) set eight days back."""
    assert project.repro("rerun", "--recreate-env", "@").returncode == 0
    envs = Path(os.environ["REPRO_CACHE_DIR"], "envs")
    [built] = [p for p in envs.iterdir() if p.is_dir()]
    lock = envs / f"{built.name}.lock"
    past = time.time() - EIGHT_DAYS_S
    os.utime(lock, (past, past))
    return built


def test_gc_envs_removes_one_unused_for_longer_than_a_week_saying_what_it_freed(
    project: Project,
) -> None:
    built = _built_and_left_unused_for_eight_days(project)
    size = format_bytes(sum(f.lstat().st_size for f in built.rglob("*") if not f.is_dir()))
    done = project.repro("gc", "--envs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"removed {built.name} ({size}, last used 8 days ago)",
        f"removed 1 rebuilt environment(s), freed {size}; kept 0 in use by a rerun and 0 used "
        "within 7 days (--grace SECONDS)",
    ]
    assert not built.exists()


def test_gc_envs_keeps_one_a_rerun_used_within_a_week(project: Project) -> None:
    built = _built_and_left_unused_for_eight_days(project)
    again = project.repro("rerun", "--recreate-env", "@~1")
    assert again.returncode == 0, again.stderr
    assert f"reused: {built}" in again.stderr
    done = project.repro("gc", "--envs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(
        "kept 0 in use by a rerun and 1 used within 7 days (--grace SECONDS)\n"
    )
    assert built.is_dir()


def _without_sources(root: Path) -> str:
    """The last run's record made as an older repro wrote it: its package list has no indexes,
    no Python implementation, no project (stored as a new object, the record pointing to it)."""
    from repro_run.store import Store

    record = record_of(root)
    listed = json.loads(repro(root, "show", "--packages", "--json", record["id"]).stdout)
    for key in ("indexes", "python_implementation"):
        listed.pop(key, None)
    store = Store(root / ".repro")
    digest = store.put_bytes(json.dumps(listed, sort_keys=True).encode())
    path = root / ".repro" / "runs" / record["id"] / "run.json"
    document = json.loads(path.read_text())
    document["packages"]["object"] = digest
    path.write_text(json.dumps(document))
    return str(record["id"])


def test_show_packages_as_requirements_names_the_recorded_index(project: Project) -> None:
    done = project.repro("show", "--packages", "--format", "requirements", "@")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"--index-url {project.env['PIP_INDEX_URL']}",
        "tinypkg==1.0",
    ]


MINE = """from importlib.metadata import version

import tinypkg

VERSION = "committed"


def main():
    print("mine-say", version("mine"), "tinypkg", tinypkg.VERSION)
"""
TRAIN_MINE = f"""{TRAIN}import subprocess
from importlib.metadata import entry_points, version

import mine

print("mine", mine.VERSION, version("mine"), entry_points(name="mine-say")["mine-say"].value)
subprocess.run(["mine-say"], check=True)
"""


def _install_mine(project: Project, *, import_hook: bool = False) -> None:
    """The project itself, `mine` 0.3 with a console script, installed editable in the venv."""
    scripts = {"mine-say": "mine:main"}
    write_project(project.root, "mine", "0.3", MINE, scripts, import_hook=import_hook)
    (project.root / "train.py").write_text(TRAIN_MINE)
    commit_all(project.root, "the project as a package")
    install_project_editable(project.venv, project.root)


def test_the_editable_project_is_installed_from_the_reruns_worktree_with_its_metadata_and_scripts(
    project: Project,
) -> None:
    _install_mine(project)
    original = project.repro("run", "--", "python", "train.py")
    assert original.returncode == 0, original.stderr
    assert "mine committed 0.3 mine:main\nmine-say 0.3 tinypkg 1.0\n" in original.stdout
    project.upgrade()  # the user's own `mine-say` now imports tinypkg 2.0
    done = project.repro("rerun", "--recreate-env", "@")
    assert done.returncode == 0, done.stderr
    assert "mine committed 0.3 mine:main\nmine-say 0.3 tinypkg 1.0\nIDENTICAL" in done.stdout
    assert "the project (mine) is installed from the rerun's worktree" in done.stderr
    envs = Path(os.environ["REPRO_CACHE_DIR"], "envs")
    [built] = [p for p in envs.iterdir() if p.is_dir()]
    assert not list(built.glob("lib/python*/site-packages/mine*"))  # the shared env untouched
    assert not list(built.glob("bin/mine-say"))


def test_an_editable_project_whose_pth_runs_code_is_installed_as_a_wheel_from_the_worktree(
    project: Project,
) -> None:
    _install_mine(project, import_hook=True)
    assert project.repro("run", "--", "python", "train.py").returncode == 0
    done = project.repro("rerun", "--recreate-env", "@")
    assert done.returncode == 0, done.stderr
    assert "mine committed 0.3 mine:main\nmine-say 0.3 tinypkg 1.0\nIDENTICAL" in done.stdout


def test_the_editable_project_runs_the_commits_code_not_the_checkouts(project: Project) -> None:
    _install_mine(project)
    assert project.repro("run", "--", "python", "train.py").returncode == 0
    mine = project.root / "src" / "mine" / "__init__.py"
    mine.write_text(MINE.replace("committed", "uncommitted"))
    done = project.repro("rerun", "--recreate-env", "@")
    assert done.returncode == 0, done.stderr
    assert "mine committed" in done.stdout
    assert "differs" not in done.stderr


def test_two_reruns_building_the_same_environment_at_once_both_run_in_it(
    project: Project,
) -> None:
    run_id = record_of(project.root)["id"]
    env = {**os.environ, **project.env}
    both = [
        subprocess.Popen([REPRO, "rerun", "--recreate-env", run_id], cwd=project.root, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    for process in both:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        assert out.startswith("value 1.0\nIDENTICAL")
    envs = Path(os.environ["REPRO_CACHE_DIR"], "envs")
    assert len([p for p in envs.iterdir() if p.is_dir()]) == 1  # the loser's build is gone
