"""Git capture against real repositories: the dirty check, code state, patch and exclude file."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from helpers.repos import GIT_ENV, MakeRepo, commit_all, git, write_files

from repro_run.capture.git import (
    WorkTreeQuery,
    capture_code,
    dirty_patch,
    dirty_refusal_message,
    ensure_excluded,
    find_work_tree,
    tree_status,
)
from repro_run.core.errors import GitError, NoCommitsError, NotAGitRepositoryError
from repro_run.models import DirtyPath, Remote, TreeStatus

FILE_PROTOCOL = ("-c", "protocol.file.allow=always")


def dirty_of(root: Path) -> set[tuple[str, str]]:
    return {(entry.path, entry.state) for entry in tree_status(root).dirty}


def add_submodule(make_repo: MakeRepo) -> tuple[Path, Path]:
    """A committed superproject with a clean submodule at `sub`; returns (root, sub)."""
    library = make_repo({"lib.py": "x = 1\n"})
    root = make_repo({"train.py": "print(1)\n"})
    git(root, *FILE_PROTOCOL, "submodule", "add", "-q", str(library), "sub")
    commit_all(root, "add submodule")
    return root, root / "sub"


# --- the dirty check -------------------------------------------------------------------
def test_clean_repo_is_clean_and_names_commit_and_branch(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    status = tree_status(root)
    assert status == TreeStatus(
        root=str(root), commit=git(root, "rev-parse", "HEAD").strip(), branch="main", dirty=()
    )


def test_touch_without_content_change_is_clean(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    later = os.stat(root / "train.py").st_mtime + 100
    os.utime(root / "train.py", (later, later))
    assert not tree_status(root).is_dirty


def test_modified_file_is_dirty_and_named(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    write_files(root, {"train.py": "print(2)\n"})
    assert dirty_of(root) == {("train.py", "modified")}


def test_staged_only_change_is_dirty_and_named(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    write_files(root, {"train.py": "print(2)\n"})
    git(root, "add", "train.py")
    assert dirty_of(root) == {("train.py", "staged")}


def test_deleted_file_is_dirty_and_named(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n", "keep.py": ""})
    (root / "train.py").unlink()
    assert dirty_of(root) == {("train.py", "deleted")}


def test_untracked_file_is_dirty_and_named(make_repo: MakeRepo) -> None:
    root = make_repo()
    write_files(root, {"pkg/new_module.py": "x = 1\n"})
    assert dirty_of(root) == {("pkg/new_module.py", "untracked")}


def test_staged_new_file_is_added(make_repo: MakeRepo) -> None:
    root = make_repo()
    write_files(root, {"new.py": "x = 1\n"})
    git(root, "add", "new.py")
    assert dirty_of(root) == {("new.py", "added")}


def test_staged_rename_is_reported_under_new_name(make_repo: MakeRepo) -> None:
    root = make_repo({"old name.py": "x = 1\n" * 20})
    git(root, "mv", "old name.py", "new name.py")
    assert dirty_of(root) == {("new name.py", "renamed")}


def test_merge_conflict_is_reported_as_conflict(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "a\n"})
    git(root, "checkout", "-q", "-b", "other")
    write_files(root, {"train.py": "b\n"})
    commit_all(root)
    git(root, "checkout", "-q", "main")
    write_files(root, {"train.py": "c\n"})
    commit_all(root)
    subprocess.run(["git", "merge", "-q", "other"], cwd=root, capture_output=True, check=False)
    assert dirty_of(root) == {("train.py", "conflict")}


def test_ignored_file_is_not_dirty(make_repo: MakeRepo) -> None:
    root = make_repo({".gitignore": "*.ckpt\nwandb/\n"})
    write_files(root, {"model.ckpt": "weights", "wandb/run/log.txt": "x"})
    assert not tree_status(root).is_dirty


def test_repro_store_with_its_star_gitignore_is_not_dirty(make_repo: MakeRepo) -> None:
    root = make_repo()
    write_files(root, {".repro/.gitignore": "*\n", ".repro/runs/abc/run.json": "{}"})
    assert not tree_status(root).is_dirty


def test_untracked_file_found_despite_show_untracked_files_no(make_repo: MakeRepo) -> None:
    root = make_repo()
    git(root, "config", "status.showUntrackedFiles", "no")
    write_files(root, {"new_module.py": "x = 1\n"})
    assert dirty_of(root) == {("new_module.py", "untracked")}


def test_assume_unchanged_modified_file_is_dirty(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    git(root, "update-index", "--assume-unchanged", "train.py")
    write_files(root, {"train.py": "print(2)\n"})
    assert dirty_of(root) == {("train.py", "modified")}


def test_assume_unchanged_deleted_file_is_dirty(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n", "keep.py": ""})
    git(root, "update-index", "--assume-unchanged", "train.py")
    (root / "train.py").unlink()
    assert dirty_of(root) == {("train.py", "deleted")}


def test_assume_unchanged_untouched_file_is_clean(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    git(root, "update-index", "--assume-unchanged", "train.py")
    assert not tree_status(root).is_dirty


def test_skip_worktree_modified_file_is_dirty(make_repo: MakeRepo) -> None:
    root = make_repo({"config.py": "lr = 1\n"})
    git(root, "update-index", "--skip-worktree", "config.py")
    write_files(root, {"config.py": "lr = 2\n"})
    assert dirty_of(root) == {("config.py", "modified")}


def test_skip_worktree_file_absent_from_sparse_checkout_is_clean(make_repo: MakeRepo) -> None:
    root = make_repo({"big/data.py": "x\n", "train.py": ""})
    git(root, "update-index", "--skip-worktree", "big/data.py")
    (root / "big/data.py").unlink()
    assert not tree_status(root).is_dirty


# --- submodules -------------------------------------------------------------------------
def test_from_a_subdirectory_the_whole_tree_is_checked(make_repo: MakeRepo) -> None:
    """`repro run` from src/ still sees edits outside src/, flagged index entries included."""
    root = make_repo({"src/train.py": "x = 1\n", "config.py": "a = 1\n", "lib.py": "b = 1\n"})
    git(root, "update-index", "--assume-unchanged", "lib.py")
    write_files(root, {"config.py": "a = 2\n", "lib.py": "b = 2\n", "notes.txt": "new\n"})
    status = WorkTreeQuery(root / "src").status()
    assert status == tree_status(root) and Path(status.root) == root
    assert {(p.path, p.state) for p in status.dirty} == {
        ("config.py", "modified"),
        ("lib.py", "modified"),
        ("notes.txt", "untracked"),
    }


def test_a_started_query_answers_as_the_separate_calls_do(make_repo: MakeRepo) -> None:
    """cli/main.py starts a run's git calls before importing the verb; asking twice runs git once."""
    root = make_repo({"src/train.py": "x = 1\n"})
    write_files(root, {"notes.txt": "untracked\n"})
    query = WorkTreeQuery(root / "src")
    status = query.status()
    assert status == query.status() == tree_status(root)
    assert [(p.path, p.state) for p in status.dirty] == [("notes.txt", "untracked")]
    assert query.code(status, "abc") == capture_code(root, status, "abc")


def test_clean_submodule_is_clean(make_repo: MakeRepo) -> None:
    root, _ = add_submodule(make_repo)
    assert not tree_status(root).is_dirty


def test_submodule_edit_is_dirty_despite_ignore_config(make_repo: MakeRepo) -> None:
    root, sub = add_submodule(make_repo)
    git(root, "config", "submodule.sub.ignore", "all")
    git(root, "config", "diff.ignoreSubmodules", "all")
    write_files(sub, {"lib.py": "x = 2\n"})
    assert dirty_of(root) == {("sub", "submodule")}


def test_submodule_untracked_file_is_dirty(make_repo: MakeRepo) -> None:
    root, sub = add_submodule(make_repo)
    write_files(sub, {"scratch.py": ""})
    assert dirty_of(root) == {("sub", "submodule")}


def test_submodule_head_moved_is_dirty(make_repo: MakeRepo) -> None:
    root, sub = add_submodule(make_repo)
    write_files(sub, {"lib.py": "x = 3\n"})
    commit_all(sub, "move the submodule")
    assert dirty_of(root) == {("sub", "submodule")}


# --- where the repository is ------------------------------------------------------------
def test_detached_head_is_accepted_with_no_branch(make_repo: MakeRepo) -> None:
    root = make_repo()
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", "--detach")
    status = tree_status(root)
    assert (status.commit, status.branch, status.is_dirty) == (head, None, False)


def test_find_work_tree_from_subdirectory(make_repo: MakeRepo) -> None:
    root = make_repo({"src/models/net.py": ""})
    assert find_work_tree(root / "src" / "models") == root.resolve()


def test_linked_worktree_is_found_and_checked(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    linked = tmp_path / "linked"
    git(root, "worktree", "add", "-q", "-b", "feature", str(linked))
    write_files(linked, {"train.py": "print(2)\n"})
    assert find_work_tree(linked) == linked.resolve()
    status = tree_status(linked)
    assert (status.branch, dirty_of(linked), dirty_of(root)) == (
        "feature",
        {("train.py", "modified")},
        set(),
    )


def test_repository_without_commits_is_refused(make_repo: MakeRepo) -> None:
    root = make_repo(commit=False)
    with pytest.raises(NoCommitsError, match="repository has no commits"):
        tree_status(root)


def test_outside_a_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepositoryError, match=r"not inside a git repository.*git init"):
        find_work_tree(tmp_path)


def test_inside_the_git_directory_is_not_a_work_tree(make_repo: MakeRepo) -> None:
    root = make_repo()
    with pytest.raises(NotAGitRepositoryError):
        find_work_tree(root / ".git")


def test_git_missing_from_path_is_a_git_error(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(GitError, match="git was not found on PATH"):
        find_work_tree(root)


def test_hook_environment_checks_the_hooks_repository(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked = make_repo({"train.py": "print(1)\n"})
    elsewhere = make_repo()
    write_files(hooked, {"train.py": "print(2)\n"})
    monkeypatch.setenv("GIT_DIR", str(hooked / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(hooked))
    monkeypatch.setenv("GIT_INDEX_FILE", str(hooked / ".git" / "index"))
    root = find_work_tree(elsewhere)
    assert (root, dirty_of(root)) == (hooked.resolve(), {("train.py", "modified")})


def test_hook_relative_git_dir_is_read_from_the_process_cwd(
    make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    write_files(root, {"new.py": ""})
    monkeypatch.chdir(root)
    monkeypatch.setenv("GIT_DIR", ".git")
    monkeypatch.setenv("GIT_INDEX_FILE", ".git/index")
    found = find_work_tree(root)
    assert (found, dirty_of(found)) == (root.resolve(), {("new.py", "untracked")})


# --- odd names --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["my file.py", "new\nline.py", "-rf.py", "tab\there.py", "é.py"])
def test_odd_filenames_are_reported_exactly(make_repo: MakeRepo, name: str) -> None:
    root = make_repo({"dir/" + name: "x\n"})
    write_files(root, {"dir/" + name: "y\n", name: "z\n"})
    assert dirty_of(root) == {("dir/" + name, "modified"), (name, "untracked")}


def test_non_utf8_filename_survives(make_repo: MakeRepo) -> None:
    root = make_repo()
    raw = b"caf\xe9.py"
    try:
        with open(os.path.join(os.fsencode(root), raw), "wb"):
            pass
    except OSError:
        pytest.skip("the filesystem rejects non-UTF-8 names")
    (entry,) = tree_status(root).dirty
    assert (os.fsencode(entry.path), entry.state) == (raw, "untracked")


# --- the refusal message ----------------------------------------------------------------
def test_refusal_message_lists_ten_paths_and_counts_the_rest(make_repo: MakeRepo) -> None:
    root = make_repo()
    write_files(root, {f"new{i:02}.py": "" for i in range(13)})
    lines = dirty_refusal_message(tree_status(root)).splitlines()
    assert lines[0] == "working tree has uncommitted changes:"
    assert [line.split() for line in lines[1:11]] == [
        ["untracked", f"new{i:02}.py"] for i in range(10)
    ]
    assert lines[11].strip() == "… and 3 more"
    assert "--allow-dirty" in lines[12] and "git stash -u" in lines[12]


def test_refusal_message_escapes_unprintable_names() -> None:
    status = TreeStatus("/r", "0" * 40, "main", (DirtyPath("a\nb.py", "untracked"),))
    assert "'a\\nb.py'" in dirty_refusal_message(status)


# --- code state -------------------------------------------------------------------------
def test_remote_credentials_are_stripped(make_repo: MakeRepo) -> None:
    root = make_repo()
    git(root, "remote", "add", "origin", "https://x-access-token:SECRET@github.com/o/r.git")
    git(root, "remote", "add", "mirror", "git@github.com:o/r.git")
    git(root, "remote", "add", "lab", "https://gitlab.example.com/o/r.git?private_token=SECRET")
    code = capture_code(root, tree_status(root), None)
    assert code.remotes == (
        Remote("origin", "https://github.com/o/r.git"),
        Remote("mirror", "git@github.com:o/r.git"),
        Remote("lab", "https://gitlab.example.com/o/r.git?private_token=***"),
    )


def test_code_state_of_clean_repo(make_repo: MakeRepo) -> None:
    root = make_repo()
    git(root, "tag", "v1.0")
    status = tree_status(root)
    code = capture_code(root, status, None)
    assert (code.commit, code.branch, code.describe, code.remotes) == (
        status.commit,
        "main",
        "v1.0",
        (),
    )
    assert (code.dirty, code.is_shallow, code.missing) == (False, False, {})


def test_describe_of_dirty_tree_is_marked_dirty(make_repo: MakeRepo) -> None:
    root = make_repo()
    write_files(root, {"new.py": ""})
    code = capture_code(root, tree_status(root), "abc123")
    short = git(root, "rev-parse", "--short", "HEAD").strip()
    assert (code.describe, code.dirty, code.patch_object) == (f"{short}-dirty", True, "abc123")
    assert code.dirty_paths == (DirtyPath("new.py", "untracked"),)


def test_shallow_clone_is_recorded(make_repo: MakeRepo, tmp_path: Path) -> None:
    origin = make_repo()
    write_files(origin, {"more.py": ""})
    commit_all(origin, "second")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    assert capture_code(clone, tree_status(clone), None).is_shallow


def test_dirty_paths_recorded_are_capped(make_repo: MakeRepo) -> None:
    root = make_repo()
    write_files(root, {f"gen/{i}.txt": "" for i in range(1005)})
    code = capture_code(root, tree_status(root), None)
    assert (len(code.dirty_paths), "dirty_paths" in code.missing) == (1000, True)


def test_code_state_without_git_records_what_is_missing(
    make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo()
    status = tree_status(root)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = capture_code(root, status, None)
    assert (code.commit, code.describe, code.remotes) == (status.commit, None, ())
    assert set(code.missing) == {"describe", "remotes", "is_shallow"}


# --- the --allow-dirty patch ------------------------------------------------------------
def files_of(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def test_dirty_patch_reproduces_the_tree_on_a_clean_checkout(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"train.py": "print(1)\n", "gone.py": "x\n", "weights.bin": b"\x00\x01\x02"})
    (root / "gone.py").unlink()
    write_files(
        root,
        {
            "train.py": "print(2)\n",
            "weights.bin": bytes(range(256)) * 4,
            "new dir/new module.py": "y = 1\n",
            "blob.bin": b"\x89PNG\r\n\x1a\n\x00\xff",
        },
    )
    patch = dirty_patch(root)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    subprocess.run(
        ["git", "apply", "-"], cwd=clone, input=patch, check=True, env={**os.environ, **GIT_ENV}
    )
    assert files_of(clone) == files_of(root)


def test_dirty_patch_keeps_a_same_size_edit_git_sees_only_by_content(
    make_repo: MakeRepo,
) -> None:
    """A "racily clean" entry: the edit keeps the size and the recorded mtime (with ctime not
    trusted, the stat data all match), so git finds it only by reading the file, which it does
    because the entry is not older than the index. A scratch copy of the index with a newer
    mtime would make git trust the stat data and leave the edit out of the patch."""
    root = make_repo({"README.md": "hello\n"})
    git(root, "config", "core.trustctime", "false")
    past = time.time_ns() - 10 * 10**9  # a second git's timestamps can tell from now
    write_files(root, {"train.py": "print(1)\n"})
    os.utime(root / "train.py", ns=(past, past))
    commit_all(root, "train")
    (root / "train.py").write_text("print(2)\n")
    os.utime(root / "train.py", ns=(past, past))
    os.utime(root / ".git" / "index", ns=(past, past))  # the entry is as new as the index
    assert b"+print(2)" in dirty_patch(root)
    assert dirty_of(root) == {("train.py", "modified")}  # what git status sees too


def test_dirty_patch_leaves_the_real_index_untouched(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    write_files(root, {"train.py": "print(2)\n", "new.py": ""})
    before = (root / ".git" / "index").read_bytes()
    dirty_patch(root)
    assert (root / ".git" / "index").read_bytes() == before
    assert dirty_of(root) == {("train.py", "modified"), ("new.py", "untracked")}


def test_dirty_patch_includes_assume_unchanged_edit(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": "print(1)\n"})
    git(root, "update-index", "--assume-unchanged", "train.py")
    write_files(root, {"train.py": "print(2)\n"})
    assert b"+print(2)" in dirty_patch(root)


def test_dirty_patch_of_clean_tree_is_empty(make_repo: MakeRepo) -> None:
    assert dirty_patch(make_repo()) == b""


# --- info/exclude -----------------------------------------------------------------------
def test_ensure_excluded_is_idempotent(make_repo: MakeRepo) -> None:
    root = make_repo()
    ensure_excluded(root)
    ensure_excluded(root)
    lines = (root / ".git" / "info" / "exclude").read_text().splitlines()
    assert lines.count(".repro/") == 1


def test_ensure_excluded_creates_missing_info_dir(make_repo: MakeRepo) -> None:
    root = make_repo()
    (root / ".git" / "info" / "exclude").unlink()
    (root / ".git" / "info").rmdir()
    ensure_excluded(root)
    assert (root / ".git" / "info" / "exclude").read_text() == ".repro/\n"


def test_ensure_excluded_hides_the_store_from_the_dirty_check(make_repo: MakeRepo) -> None:
    root = make_repo()
    ensure_excluded(root)
    write_files(root, {".repro/index.sqlite": "x"})
    assert not tree_status(root).is_dirty


def test_ensure_excluded_in_linked_worktree_uses_common_dir(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo()
    linked = tmp_path / "linked"
    git(root, "worktree", "add", "-q", "--detach", str(linked))
    ensure_excluded(linked)
    ensure_excluded(linked)
    write_files(linked, {".repro/index.sqlite": "x"})
    assert (root / ".git" / "info" / "exclude").read_text().splitlines().count(".repro/") == 1
    assert not tree_status(linked).is_dirty
