"""One way to find the repository and the store for every verb (`app/workspace.py`), opened once;
and repositories whose git directory lies elsewhere (`GIT_DIR`/`GIT_WORK_TREE`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers.cli import repro
from helpers.repos import GIT_ENV, MakeRepo, commit_all, git, write_files

from repro_run.app.workspace import Warn, Workspace
from repro_run.cli.commands import run_click
from repro_run.core.errors import NotAGitRepositoryError
from repro_run.store import Store

PATH_ONLY = {"PATH": os.environ["PATH"]}  # no REPRO_HOME, no GIT_DIR: the walk decides


@pytest.fixture
def separate_git_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, str]]:
    """A committed work tree whose git directory lies elsewhere, named by the environment."""
    tree = tmp_path / "work" / "tree"
    tree.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    env = {"GIT_DIR": str(tmp_path / "elsewhere" / "repo.git"), "GIT_WORK_TREE": str(tree)}
    git(tmp_path, f"--git-dir={env['GIT_DIR']}", f"--work-tree={tree}", "init", "-q", "-b", "main")
    write_files(tree, {"train.py": "print('ran')\n"})
    for name, value in env.items():  # for the commit, and for git in the tests
        monkeypatch.setenv(name, value)
    commit_all(tree)
    assert not (tree / ".git").exists()
    assert repro(tree, "run", "train.py").returncode == 0
    return tree, env


@pytest.mark.parametrize("verb", [("list",), ("show", "@"), ("diff", "@", "@"), ("diff", "@")])
def test_verbs_work_where_git_dir_and_work_tree_name_the_repository(
    separate_git_dir: tuple[Path, dict[str, str]], verb: tuple[str, ...]
) -> None:
    tree, env = separate_git_dir
    done = repro(tree, *verb, env=env)
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr


def test_the_store_of_a_separate_git_dir_layout_is_in_the_work_tree(
    separate_git_dir: tuple[Path, dict[str, str]],
) -> None:
    tree, env = separate_git_dir
    (listed,) = json.loads(repro(tree, "list", "--json", env=env).stdout)
    assert (tree / ".repro" / "runs" / listed["id"]).is_dir()
    assert git(tree, "status", "--porcelain") == ""  # the store never dirties the tree


def test_rerun_replays_in_its_own_worktree_where_git_dir_names_the_repository(
    separate_git_dir: tuple[Path, dict[str, str]],
) -> None:
    tree, env = separate_git_dir
    done = repro(tree, "rerun", "@", env=env)
    assert done.returncode == 0, done.stderr
    assert "IDENTICAL" in done.stdout
    rerun = json.loads(repro(tree, "show", "--json", "@", env=env).stdout)
    assert rerun["rerun_of"] and rerun["code"]["dirty"] is False
    assert git(tree, "worktree", "list").count("\n") == 1  # the rerun's worktree is gone


def test_show_opens_the_store_once(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo({"train.py": "print('ran')\n"})
    assert repro(root, "run", "train.py").returncode == 0
    opened: list[Path] = []
    real_open = Store.open

    def counting_open(path: Path, *, index: bool = True, warn: Warn | None = None) -> Store:
        opened.append(path)
        return real_open(path, index=index, warn=warn)

    monkeypatch.setattr(Store, "open", counting_open)
    monkeypatch.chdir(root)
    run_click(["show", "@"])
    assert "succeeded" in capsys.readouterr().out
    assert opened == [root / ".repro"]


def test_repro_home_names_the_store_wherever_the_repository_is(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    found = Workspace.find(tmp_path, {**PATH_ONLY, "REPRO_HOME": str(tmp_path / "s")})
    assert (found.root, found.store_dir) == (tmp_path, tmp_path / "s")


def test_the_workspace_walks_up_to_the_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    found = Workspace.find(tmp_path / "a" / "b", PATH_ONLY)
    assert (found.root, found.store_dir) == (tmp_path, tmp_path / ".repro")


def test_a_git_file_marks_a_linked_worktree_or_submodule_root(tmp_path: Path) -> None:
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: elsewhere\n")
    assert Workspace.find(tmp_path / "wt", PATH_ONLY).store_dir == tmp_path / "wt" / ".repro"


def test_git_dir_and_work_tree_win_over_the_walk(make_repo: MakeRepo) -> None:
    inside_another = make_repo()  # its `.git` is what a walk from here would find
    other = make_repo()
    env = {**PATH_ONLY, **GIT_ENV, "GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other)}
    found = Workspace.find(inside_another, env)
    assert (found.root, found.store_dir) == (other, other / ".repro")


def test_outside_a_repository_the_store_is_refused_with_the_git_advice(tmp_path: Path) -> None:
    found = Workspace.find(tmp_path, PATH_ONLY)
    assert found.root is None and found.store_dir is None
    with pytest.raises(NotAGitRepositoryError, match=r"not inside a git repository.*git init"):
        found.store()


def test_outside_a_repository_repro_home_is_still_listed(tmp_path: Path) -> None:
    home = {"REPRO_HOME": str(tmp_path / "store")}
    outside = tmp_path / "outside"
    outside.mkdir()
    done = repro(outside, "list", "--json", env=home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
