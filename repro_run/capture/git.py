"""Git facts for a run: work-tree root, dirty check, commit and remotes, --allow-dirty patch."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from repro_run.capture.gitexec import (
    GIT_PATH_VARS,
    NOT_A_REPOSITORY,
    Result,
    failure,
    finish,
    first_line,
    git_env,
    run_git,
    run_together,
    spawn,
    start_all,
    wait_all,
)
from repro_run.core.constants import DIRTY_PATHS_SHOWN
from repro_run.core.errors import GitError, NoCommitsError, NotAGitRepositoryError
from repro_run.core.redaction import redact_url
from repro_run.models import CodeState, DirtyPath, Remote, TreeStatus

_DIRTY_PATHS_RECORDED = 1000

# The command-line options override status.showUntrackedFiles, diff.ignoreSubmodules and
# submodule.<name>.ignore (git-status(1)), so repository config cannot hide a change.
# fmt: off
_STATUS_ARGV = (
    "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all",
    "--ignore-submodules=none", "--no-ahead-behind",
)
# Pinned so that diff.noprefix, diff.relative, diff.submodule=log, color.ui=always or an external
# diff driver in the user's config cannot produce a patch that `git apply` rejects.
_PATCH_ARGV = (
    "diff", "--cached", "--binary", "--full-index", "--no-color", "--no-ext-diff", "--no-textconv",
    "--no-renames", "--no-relative", "--ignore-submodules=none", "--submodule=short",
    "--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--",
)
# fmt: on

# `ls-files -v` lowercases the tag of assume-unchanged entries and tags skip-worktree ones "S";
# git status trusts both bits and never looks at those files, so they are checked here. Matched
# against the listing with a NUL prepended: a literal first byte keeps the scan fast on 100k files.
_FLAGGED_ENTRY = re.compile(rb"\0([a-zS]) (\d+) ([0-9a-f]+) \d\t([^\0]*)")
_REGULAR_FILE_MODES = (b"100644", b"100755")

NO_COMMITS = "repository has no commits: commit your code first (git add -A && git commit)"
DIRTY_ADVICE = (
    "commit or stash them (git stash -u), add them to .gitignore, or pass --allow-dirty "
    "to run anyway (the run is marked dirty and the patch is stored)"
)


def find_work_tree(cwd: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The absolute root of the work tree that contains `cwd` (git's own discovery, and
    `GIT_DIR`/`GIT_WORK_TREE` from `environ`, this process's by default)."""
    top = run_git(cwd, "rev-parse", "--show-toplevel", env=git_env(environ=environ))
    top = top.rstrip(b"\n")
    if not top:
        raise NotAGitRepositoryError(NOT_A_REPOSITORY.format(cwd))
    return Path(os.fsdecode(top))


class WorkTreeQuery:
    """What `repro run` asks git, started at once from any directory of the work tree: the
    root, the dirty check (`tree_status`), the code facet (`capture_code`) and the commit's
    time. Python can do other work while git runs; each answer waits for the calls (git runs
    once)."""

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        # One rev-parse says where the root is and whether the clone is shallow: the commit's
        # time costs no more processes than the code facet alone did.
        top = ("rev-parse", "--show-toplevel", "--is-shallow-repository")
        code = {k: v for k, v in _CODE_CALLS.items() if k != "is_shallow"}
        self._running = start_all(
            cwd, {"top": top, **_TREE_CALLS, **code, "commit_time": _COMMIT_TIME_ARGV}
        )
        self._results: dict[str, Result] | None = None

    def _finished(self) -> dict[str, Result]:
        if self._results is None:
            self._results = wait_all(self._running)
        return self._results

    def status(self) -> TreeStatus:
        results = self._finished()
        return _work_tree_status(self._cwd, {k: results[k] for k in ("top", *_TREE_CALLS)})

    def code(self, status: TreeStatus, patch_object: str | None) -> CodeState:
        results = dict(self._finished())
        top = results["top"]
        if not isinstance(top, GitError):  # rev-parse's last line: whether it is shallow
            top = (top[0], top[1].rstrip(b"\n").rpartition(b"\n")[2], top[2])
        results["is_shallow"] = top
        return _code_state(status, patch_object, {k: results[k] for k in _CODE_CALLS})

    def commit_time(self) -> str | None:
        """HEAD's committer time in seconds since the epoch (None when git could not say)."""
        result = self._finished()["commit_time"]
        if isinstance(result, GitError) or result[0] != 0:
            return None
        seconds = result[1].strip().decode("ascii", "replace")
        return seconds if seconds.isdigit() else None


# %ct: the committer date as a Unix timestamp; a signature check (log.showSignature) off, so
# that nothing but the number is printed.
_COMMIT_TIME_ARGV = ("log", "-1", "--no-show-signature", "--format=%ct", "HEAD")


def _work_tree_status(cwd: Path, results: dict[str, Result]) -> TreeStatus:
    top = results.pop("top")
    if isinstance(top, GitError):
        raise top
    if top[0] != 0:
        raise failure(cwd, "rev-parse", top[2])
    root = top[1].rstrip(b"\n").rpartition(b"\n")[0]  # the last line says whether it is shallow
    if not root:
        raise NotAGitRepositoryError(NOT_A_REPOSITORY.format(cwd))
    return _tree_status(Path(os.fsdecode(root)), results)


def tree_status(root: Path) -> TreeStatus:
    """Commit, branch and every uncommitted change (untracked and submodules included)."""
    return start_tree_status(root)()


def start_tree_status(root: Path) -> Callable[[], TreeStatus]:
    """`tree_status(root)` with its git calls started now (never raises): Python can do other
    work while git runs. Call the result once: it waits for git, then parses (or raises).

    git runs in a session of its own: `repro run` starts it as the command exits and reads it
    after the drain, which Ctrl-C may cut short, and with more than ~900 tracked files git
    waits on a full pipe until then. The terminal's Ctrl-C must not kill it meanwhile."""
    running = start_all(root, _TREE_CALLS, own_session=True)
    return lambda: _tree_status(root, wait_all(running))


# Run from any directory of the work tree: status paths are relative to the root anyway, and
# ls-files lists the whole index (`:/`) by full name.
_TREE_CALLS = {
    "status": _STATUS_ARGV,
    "ls-files": ("ls-files", "-v", "-s", "-z", "--full-name", "--", ":/"),
}


def _tree_status(root: Path, results: Mapping[str, Result]) -> TreeStatus:
    outputs = {}
    for name, result in results.items():
        if isinstance(result, GitError):
            raise result
        if result[0] != 0:
            raise failure(root, name, result[2])
        outputs[name] = result[1]
    commit, branch, dirty = _parse_status(outputs["status"])
    if commit == "(initial)":
        raise NoCommitsError(NO_COMMITS)
    if not commit:
        raise GitError(f"git status in {root} named no commit: run `git status` there to see why")
    listed = {entry.path for entry in dirty}
    hidden = [e for e in _flagged_changes(root, outputs["ls-files"]) if e.path not in listed]
    return TreeStatus(root=str(root), commit=commit, branch=branch, dirty=(*dirty, *hidden))


def _parse_status(out: bytes) -> tuple[str, str | None, list[DirtyPath]]:
    commit, branch, dirty = "", None, []
    records = iter(out.split(b"\0"))
    for record in records:
        kind = record[:2]
        if record.startswith(b"# branch.oid "):
            commit = record[len(b"# branch.oid ") :].decode("ascii")
        elif record.startswith(b"# branch.head "):
            head = record[len(b"# branch.head ") :]
            branch = None if head == b"(detached)" else os.fsdecode(head)
        elif kind == b"1 ":
            fields = record.split(b" ", 8)
            dirty.append(DirtyPath(os.fsdecode(fields[8]), _state(fields[1], fields[2])))
        elif kind == b"2 ":
            fields = record.split(b" ", 9)
            next(records)  # the original path of the rename
            state = "submodule" if fields[2].startswith(b"S") else "renamed"
            dirty.append(DirtyPath(os.fsdecode(fields[9]), state))
        elif kind == b"u ":
            dirty.append(DirtyPath(os.fsdecode(record.split(b" ", 10)[10]), "conflict"))
        elif kind == b"? ":
            dirty.append(DirtyPath(os.fsdecode(record[2:]), "untracked"))
    return commit, branch, dirty


def _state(xy: bytes, sub: bytes) -> str:
    staged, unstaged = xy[:1], xy[1:2]
    if sub.startswith(b"S"):
        return "submodule"
    if b"D" in (staged, unstaged):
        return "deleted"
    if b"A" in (staged, unstaged):
        return "added"
    if unstaged != b".":
        return "modified"
    return "staged"


def _flagged_changes(root: Path, listing: bytes) -> list[DirtyPath]:
    changes: list[DirtyPath] = []
    to_hash: list[tuple[bytes, bytes]] = []
    for tag, mode, oid, raw in _FLAGGED_ENTRY.findall(b"\0" + listing):
        if os.path.lexists(os.path.join(os.fsencode(root), raw)):
            if mode in _REGULAR_FILE_MODES:
                to_hash.append((raw, oid))
        elif tag not in (b"S", b"s"):  # an absent skip-worktree file is a sparse checkout
            changes.append(DirtyPath(os.fsdecode(raw), "deleted"))
    if to_hash:
        hashes = run_git(root, "hash-object", "--", *(raw for raw, _ in to_hash)).split()
        for (raw, oid), current in zip(to_hash, hashes, strict=True):
            if current != oid:
                changes.append(DirtyPath(os.fsdecode(raw), "modified"))
    return changes


def _shown(path: str) -> str:
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return text if text.isprintable() else repr(text)


def dirty_refusal_message(status: TreeStatus, limit: int = DIRTY_PATHS_SHOWN) -> str:
    """The DirtyTreeError text: the first `limit` changes, how many more, and how to proceed."""
    lines = ["working tree has uncommitted changes:"]
    lines += [f"  {entry.state:<10} {_shown(entry.path)}" for entry in status.dirty[:limit]]
    if len(status.dirty) > limit:
        lines.append(f"  … and {len(status.dirty) - limit} more")
    lines.append(DIRTY_ADVICE)
    return "\n".join(lines)


def dirty_patch(root: Path) -> bytes:
    """A `git apply`-able binary patch from HEAD to the work tree, untracked files included."""
    import shutil  # only --allow-dirty needs these: their import cost stays off the hot path
    import tempfile

    real_index = root / os.fsdecode(run_git(root, "rev-parse", "--git-path", "index").rstrip(b"\n"))
    with tempfile.TemporaryDirectory(prefix="repro-index-") as scratch:
        index = Path(scratch, "index")
        try:
            # copy2 keeps the mtime: git trusts an entry's stat data only when the entry is
            # older than the index file, so a fresher copy would hide a same-size edit made
            # in the index's last second (a "racily clean" entry), and the patch would miss it.
            shutil.copy2(real_index, index)
        except FileNotFoundError:
            pass  # no index yet: `git add -A` below builds one from scratch
        except OSError as exc:
            raise GitError(f"cannot copy the git index {real_index}: {exc.strerror}") from exc
        env = git_env({"GIT_INDEX_FILE": str(index)})
        _unflag(root, env)
        run_git(root, "-c", "core.splitIndex=false", "add", "-A", env=env)
        return run_git(root, *_PATCH_ARGV, env=env)


def _unflag(root: Path, env: Mapping[str, str]) -> None:
    """Clear assume-unchanged/skip-worktree in the scratch index so `git add -A` sees the files."""
    listing = run_git(root, "ls-files", "-v", "-s", "-z", env=env)
    paths = [
        raw
        for tag, _, _, raw in _FLAGGED_ENTRY.findall(b"\0" + listing)
        if tag not in (b"S", b"s") or os.path.lexists(os.path.join(os.fsencode(root), raw))
    ]
    if paths:
        clear = ("--no-assume-unchanged", "--no-skip-worktree")
        run_git(root, "update-index", *clear, "--", *paths, env=env)


def capture_code(root: Path, status: TreeStatus, patch_object: str | None) -> CodeState:
    """The code facet of a run record; optional facts that fail are recorded in `missing`."""
    return _code_state(status, patch_object, run_together(root, _CODE_CALLS))


_CODE_CALLS = {
    "describe": ("describe", "--always", "--tags"),
    "remotes": ("config", "-z", "--get-regexp", r"^remote\..*\.url$"),
    "is_shallow": ("rev-parse", "--is-shallow-repository"),
}


def _code_state(
    status: TreeStatus, patch_object: str | None, results: Mapping[str, Result]
) -> CodeState:
    missing: dict[str, str] = {}
    described = _output(results["describe"], "describe", missing)
    # Our dirty check also counts untracked files, which `describe --dirty` would not.
    describe = None
    if described is not None:
        describe = described.decode("utf-8", "replace").strip()
        describe += "-dirty" if status.is_dirty else ""
    configured = _output(results["remotes"], "remotes", missing, 1)  # 1: no remote at all
    shallow = _output(results["is_shallow"], "is_shallow", missing)
    if len(status.dirty) > _DIRTY_PATHS_RECORDED:
        missing["dirty_paths"] = (
            f"{len(status.dirty)} changed paths; the first {_DIRTY_PATHS_RECORDED} are recorded"
        )
    return CodeState(
        commit=status.commit,
        branch=status.branch,
        describe=describe,
        remotes=_parse_remotes(configured or b""),
        dirty=status.is_dirty,
        dirty_paths=status.dirty[:_DIRTY_PATHS_RECORDED],
        patch_object=patch_object,
        is_shallow=shallow is not None and shallow.strip() == b"true",
        missing=missing,
    )


def _parse_remotes(config: bytes) -> tuple[Remote, ...]:
    remotes = []
    for entry in filter(None, config.split(b"\0")):  # `-z`: "remote.<name>.url\n<url>\0"
        key, _, url = entry.decode("utf-8", "replace").partition("\n")
        name = key.removeprefix("remote.").removesuffix(".url")
        remotes.append(Remote(name=name, url=redact_url(url)))  # userinfo, ?private_token=
    return tuple(remotes)


def _output(result: Result, name: str, missing: dict[str, str], *ok: int) -> bytes | None:
    """The stdout of an optional command, or None with the reason put in `missing`."""
    if isinstance(result, GitError):
        missing[name] = str(result)
        return None
    code, out, err = result
    if code in (0, *ok):
        return out
    missing[name] = first_line(err)
    return None


def ensure_excluded(root: Path, entry: str = ".repro/") -> None:
    """Add `entry` to the repository's info/exclude unless it is already listed there."""
    exclude = _exclude_file(root)
    line = entry.encode()
    try:
        text = exclude.read_bytes() if exclude.exists() else b""
        if line in (existing.strip() for existing in text.splitlines()):
            return
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with exclude.open("ab") as handle:
            handle.write((b"\n" if text and not text.endswith(b"\n") else b"") + line + b"\n")
    except OSError as exc:
        raise GitError(
            f"cannot update {exclude}: {exc.strerror}; add {entry} to it yourself"
        ) from exc


def _exclude_file(root: Path) -> Path:
    dot_git = root / ".git"
    if not any(os.environ.get(name) for name in GIT_PATH_VARS) and dot_git.is_dir():
        return dot_git / "info" / "exclude"
    # A linked worktree (.git is a file) or a hook's GIT_DIR: let git resolve the common dir.
    out = run_git(root, "rev-parse", "--git-path", "info/exclude").rstrip(b"\n")
    return root / os.fsdecode(out)


def tracked_files(root: Path) -> list[str]:
    """Every tracked path (POSIX, relative to the root), for `repro doctor`'s code scan."""
    return tracked_paths(root, ["."])


def tracked_paths(root: Path, paths: Sequence[str]) -> list[str]:
    """Files git tracks at or under each of `paths` (relative to `root`): one `ls-files`."""
    if not paths:
        return []
    out = run_git(root, "--literal-pathspecs", "ls-files", "-z", "--", *paths)
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def files_naming(root: Path, texts: Sequence[str]) -> list[str]:
    """Tracked text files of the work tree at `root` that contain any of `texts` (fixed
    strings): one `git grep`, which exits 1 when nothing matches."""
    patterns = [arg for text in texts for arg in ("-e", text)]
    returncode, out, err = finish(
        spawn(root, ["grep", "-l", "-z", "-I", "-F", *patterns, "--"], git_env())
    )
    if returncode not in (0, 1):
        raise failure(root, "grep", err)
    return [os.fsdecode(p) for p in out.split(b"\0") if p]
