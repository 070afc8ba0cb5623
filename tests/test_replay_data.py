"""Untracked data linked into a rerun's worktree: seen by a program as during the recorded run."""

from __future__ import annotations

import os
from pathlib import Path

from helpers.cli import repro
from helpers.repos import MakeRepo, git

from repro_run.app.rerun.replay_data import DataCheck, link_data

# Counts what a walk of data/ sees: os.walk does not descend into symlinked directories.
WALKER = """\
import os
import repro_run
files = sum(len(names) for _, _, names in os.walk("data"))
repro_run.log_metrics(step=1, files=float(files))
print("files", files)
"""


def nested_dataset(root: Path) -> None:
    """data/ with files two directories down, and links that were links when it was recorded."""
    (root / "data" / "train" / "cats").mkdir(parents=True)
    (root / "data" / "train" / "cats" / "1.txt").write_text("1\n")
    (root / "data" / "train" / "cats" / "2.txt").write_text("2\n")
    (root / "data" / "top.txt").write_text("top\n")
    (root / "data" / "latest").symlink_to("train")
    (root / "data" / "train" / "first").symlink_to("cats/1.txt")


def test_files_in_nested_directories_are_seen_by_a_rerun(make_repo: MakeRepo) -> None:
    project = make_repo({"walk.py": WALKER, ".gitignore": "data/\n"})
    nested_dataset(project)
    assert repro(project, "run", "--data", "data", "walk.py").returncode == 0
    done = repro(project, "rerun", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "files 4" in done.stdout
    assert "IDENTICAL: rerun " in done.stdout
    # The mirror went with the worktree; the dataset it linked to is untouched.
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert (project / "data" / "train" / "cats" / "1.txt").read_text() == "1\n"


def test_linked_data_mirrors_directories_and_links_files_and_links(tmp_path: Path) -> None:
    source = tmp_path / "source"
    nested_dataset(source)
    tree = tmp_path / "tree"
    tree.mkdir()
    link_data(tree, DataCheck((), (), (("data", source / "data"),), {}, ()))
    linked = tree / "data"
    assert not linked.is_symlink() and not (linked / "train").is_symlink()
    assert (linked / "train" / "cats").is_dir() and not (linked / "train" / "cats").is_symlink()
    # Files are links to the dataset's files: nothing is copied.
    assert (linked / "train" / "cats" / "1.txt").readlink() == source / "data/train/cats/1.txt"
    assert (linked / "top.txt").readlink() == source / "data/top.txt"
    # A link of the dataset stays the link it was recorded as, not followed into a directory.
    assert (linked / "latest").readlink() == Path("train")
    assert (linked / "train" / "first").readlink() == Path("cats/1.txt")
    assert (linked / "train" / "first").read_text() == "1\n"
    walked = sorted(
        os.path.relpath(os.path.join(d, n), linked)
        for d, _, names in os.walk(linked)
        for n in names
    )
    assert walked == ["top.txt", "train/cats/1.txt", "train/cats/2.txt", "train/first"]


def test_a_relative_link_out_of_the_dataset_still_leads_where_it_did(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    (source / "shared.txt").write_text("shared\n")
    (source / "data" / "shared").symlink_to("../shared.txt")
    tree = tmp_path / "tree"
    tree.mkdir()
    link_data(tree, DataCheck((), (), (("data", source / "data"),), {}, ()))
    assert (tree / "data" / "shared").readlink() == source / "data" / "shared"
    assert (tree / "data" / "shared").read_text() == "shared\n"
