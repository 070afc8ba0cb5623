"""A store that may only be read (a read-only mount, an archive, a snapshot) can be browsed:
readers never write, and the index is only a cache (issue 14, item 6).

The store is made read-only by a real read-only bind mount in a private mount namespace
(`unshare -rm`), which holds for root too: tests run as root, whom file modes do not stop.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from helpers.cli import REPRO, repro, run_dirs
from helpers.repos import MakeRepo


def _read_only(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`repro ARGS` in `root` while `root/.repro` is mounted read-only, for that command only."""
    script = 'mount --bind .repro .repro && mount -o remount,bind,ro .repro && exec "$@"'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", REPRO, *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _snapshot(root: Path) -> dict[str, str]:
    """Every file of the store with its content hash: what a reader must leave as it was."""
    store = root / ".repro"
    return {
        str(path.relative_to(store)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(store.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def store_of_two_runs(make_repo: MakeRepo) -> tuple[Path, list[str]]:
    """Two runs that no command has indexed yet: listing them needs the index written."""
    root = make_repo({"t.py": "import repro_run\nrepro_run.log_metrics(step=0, loss=0.5)\n"})
    ids = []
    for _ in range(2):  # in launch order (two IDs of one second do not sort by time)
        done = repro(root, "run", "t.py")
        assert done.returncode == 0
        ids.append(done.stderr.split("repro: run ", 1)[1].split()[0])
    assert sorted(ids) == [d.name for d in run_dirs(root)]
    return root, ids


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (("list",), 0),
        (("list", "--json"), 0),
        (("list", "--status", "succeeded", "--limit", "1"), 0),
        (("show", "@"), 0),
        (("show", "--json", "FIRST"), 0),
        (("diff", "FIRST", "@"), 1),
        (("report", "FIRST", "@", "-o", "../report.html"), 0),
        (("stats", "FIRST", "@"), 0),
    ],
)
def test_reading_commands_work_on_a_read_only_store_and_write_nothing(
    store_of_two_runs: tuple[Path, list[str]], command: tuple[str, ...], code: int
) -> None:
    root, (first, _) = store_of_two_runs
    before = _snapshot(root)
    done = _read_only(root, *(first if arg == "FIRST" else arg for arg in command))
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "delete it" not in done.stderr, done.stderr
    assert "index" not in done.stderr, done.stderr
    assert _snapshot(root) == before


def test_list_on_a_read_only_store_shows_every_run_though_none_is_indexed(
    store_of_two_runs: tuple[Path, list[str]],
) -> None:
    root, ids = store_of_two_runs
    (root / ".repro" / "index.sqlite").unlink(missing_ok=True)
    done = _read_only(root, "list")
    assert done.returncode == 0, done.stderr
    assert all(run_id[:10] in done.stdout for run_id in ids), done.stdout  # unique prefixes


def test_fsck_on_a_read_only_store_says_it_is_read_only_in_one_line(
    store_of_two_runs: tuple[Path, list[str]],
) -> None:
    root, _ = store_of_two_runs
    done = _read_only(root, "fsck")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 8 and len(lines) == 1, done.stderr
    assert "read-only" in lines[0] and "delete" not in lines[0]
