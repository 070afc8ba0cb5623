"""`repro run train.py` runs the script under the Python the user works in, not repro's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

from repro_run.execute import user_python

REPO_ROOT = Path(__file__).resolve().parent.parent
NUMPY_SCRIPT = "import numpy, sys\nprint('python', sys.executable, numpy.__name__)\n"


def _python_in(prefix: Path) -> Path:
    """A real executable at PREFIX/bin/python (a copy of the shell's true, enough to be found)."""
    (prefix / "bin").mkdir(parents=True)
    python = prefix / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 0\n")
    python.chmod(0o755)
    return python


def _tool_env(root: Path, marker: str) -> Path:
    """An environment laid out as pipx or `uv tool install` leaves one; returns its python."""
    python = _python_in(root)
    (root / marker).write_text("{}")
    return python


def test_an_activated_virtual_environment_runs_the_script(tmp_path: Path) -> None:
    venv = _python_in(tmp_path / "venv")
    _python_in(tmp_path / "conda")
    found = user_python(
        {"VIRTUAL_ENV": str(tmp_path / "venv"), "CONDA_PREFIX": str(tmp_path / "conda")},
        sys.executable,
    )
    assert (found.path, found.source) == (str(venv), "VIRTUAL_ENV")


def test_an_active_conda_environment_comes_next(tmp_path: Path) -> None:
    conda = _python_in(tmp_path / "conda")
    found = user_python({"CONDA_PREFIX": str(tmp_path / "conda")}, sys.executable)
    assert (found.path, found.source) == (str(conda), "CONDA_PREFIX")


@pytest.mark.parametrize("marker", ["pipx_metadata.json", "uv-receipt.toml"])
def test_from_a_tool_environment_the_python_on_path_runs_the_script(
    tmp_path: Path, marker: str
) -> None:
    own = _tool_env(tmp_path / "tool", marker)
    on_path = _python_in(tmp_path / "usr")
    (tmp_path / "usr" / "bin" / "python3").symlink_to(on_path)
    found = user_python({"PATH": str(tmp_path / "usr" / "bin")}, str(own))
    assert (found.path, found.source) == (str(tmp_path / "usr" / "bin" / "python3"), "PATH")


def test_repro_installed_where_the_user_works_runs_the_script_itself(tmp_path: Path) -> None:
    """`.venv/bin/repro run` without activating: the environment repro is in is the user's."""
    own = _python_in(tmp_path / "project-venv")
    _python_in(tmp_path / "usr")
    found = user_python({"PATH": str(tmp_path / "usr" / "bin")}, str(own))
    assert (found.path, found.source) == (str(own), "repro")


def test_a_virtual_env_variable_naming_no_python_is_passed_over(tmp_path: Path) -> None:
    found = user_python({"VIRTUAL_ENV": str(tmp_path / "gone")}, sys.executable)
    assert found.source == "repro"


@pytest.mark.slow
def test_repro_installed_with_pipx_runs_a_script_under_the_users_python(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The real pipx: its environment has no numpy; the user's (this test's venv) has."""
    pipx_env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "pipx-bin"),
        "PIPX_MAN_DIR": str(tmp_path / "pipx-man"),
    }
    subprocess.run(
        [sys.executable, "-m", "pipx", "install", str(REPO_ROOT)],
        env=pipx_env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    tool_repro = str(tmp_path / "pipx-bin" / "repro")
    repo = make_repo({"train.py": NUMPY_SCRIPT})
    user_bin = tmp_path / "user-bin"  # the user's shell finds this test's Python as python3
    user_bin.mkdir()
    (user_bin / "python3").symlink_to(sys.executable)
    path = os.pathsep.join([str(user_bin), os.environ.get("PATH", os.defpath)])

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    done = subprocess.run(
        [tool_repro, "run", "train.py"],
        cwd=repo,
        env={**env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"python {user_bin / 'python3'} numpy" in done.stdout
    assert record_of(repo)["command"]["interpreter"] == str(user_bin / "python3")
    shown = " ".join(repro(repo, "show", "@").stdout.split())  # long paths wrap in the table
    assert "(the first python3 on PATH)" in shown

    done = subprocess.run(
        [tool_repro, "run", "train.py"],
        cwd=repo,
        env={**env, "PATH": path, "VIRTUAL_ENV": sys.prefix},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    command = record_of(repo)["command"]
    assert command["interpreter_source"] == "VIRTUAL_ENV"
    assert command["interpreter"].startswith(sys.prefix)
