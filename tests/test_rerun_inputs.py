"""`repro rerun`: bad input, refusals before launch, and what a rerun replays from the record."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import assert_one_line_error, record_of, repro, start_long_run, store_bytes
from helpers.repos import MakeRepo, commit_all, git

from repro_run.store import Store

SCRIPT = """\
import os, sys
print("args", sys.argv[1:])
print("threads", os.environ.get("OMP_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"))
sys.exit(3 if os.environ.get("FAIL") else 0)
"""


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"job.py": SCRIPT, ".gitignore": "out/\n"})


def run_ok(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = repro(root, "run", *args, env=env)
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def edit_record(root: Path, run_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a stored run.json, as a record imported from elsewhere could be."""
    path = root / ".repro" / "runs" / run_id / "run.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_an_unknown_id_is_refused(project: Path) -> None:
    run_ok(project, "job.py")
    assert_one_line_error(repro(project, "rerun", "zzzz"), 7, "no run matches 'zzzz'")


def test_a_commit_that_no_longer_exists_is_named(project: Path) -> None:
    (project / "extra.py").write_text("x = 1\n")
    commit = commit_all(project, "to be dropped")
    run_id = run_ok(project, "job.py")
    git(project, "reset", "-q", "--hard", "HEAD~1")
    git(project, "reflog", "expire", "--expire=now", "--all")
    git(project, "gc", "-q", "--prune=now")
    assert_one_line_error(repro(project, "rerun", run_id), 23, commit, "force-pushed")


def test_a_patch_that_does_not_apply_is_refused(project: Path) -> None:
    (project / "job.py").write_text(SCRIPT + "# dirty\n")
    run_id = run_ok(project, "--allow-dirty", "job.py")
    bad = b"diff --git a/job.py b/job.py\n--- a/job.py\n+++ b/job.py\n@@ -1 +1 @@\n-nope\n+x\n"
    digest = Store(project / ".repro").put_bytes(bad)
    edit_record(project, run_id, lambda d: d["code"].update(patch_object=digest))
    assert_one_line_error(repro(project, "rerun", run_id), 24, "does not apply", "job.py")


def test_a_corrupted_patch_object_is_never_used(project: Path) -> None:
    (project / "job.py").write_text(SCRIPT + "# dirty\n")
    run_id = run_ok(project, "--allow-dirty", "job.py")
    digest = record_of(project)["code"]["patch_object"]
    stored = project / ".repro" / "objects" / digest[:2] / digest[2:]
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes().replace(b"# dirty", b"# dIrty"))
    done = repro(project, "rerun", run_id)
    assert done.returncode == 8 and "corrupted" in done.stderr and digest in done.stderr


def test_an_unwritable_temporary_directory_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    run_id = run_ok(project, "job.py")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    done = repro(project, "rerun", run_id, env={"TMPDIR": str(not_a_dir)})
    assert_one_line_error(done, 25, str(not_a_dir), "set TMPDIR to a writable directory")


def test_a_masked_secret_argument_is_refused_naming_it_then_taken_from_the_env(
    project: Path,
) -> None:
    canary = "rpr_CANARY_arg_5f2c9e"
    run_id = run_ok(project, "job.py", "--hub_token", canary, "--lr", "0.1")
    done = repro(project, "rerun", run_id)
    assert_one_line_error(done, 28, "hub_token", "--secret-arg hub_token=ENV_VAR")
    done = repro(
        project, "rerun", "--secret-arg", "hub_token=MY_TOKEN", run_id, env={"MY_TOKEN": canary}
    )
    assert done.returncode == 0, done.stderr
    assert f"args ['--hub_token', '{canary}', '--lr', '0.1']" in done.stdout
    assert record_of(project)["command"]["argv"] == ["job.py", "--hub_token", "***", "--lr", "0.1"]
    assert canary.encode() not in store_bytes(project)


def test_a_positional_secret_given_back_for_a_rerun_is_masked_again(project: Path) -> None:
    """An argument masked because it held an env secret's value (no flag names it): the value
    given back with `--secret-arg '#2=VAR'` is a secret of the rerun too, and is never stored."""
    canary = "rpr_CANARY_pos_5f2c9e"
    run_id = run_ok(project, "job.py", canary, env={"HF_TOKEN": canary})
    assert record_of(project)["command"]["argv"] == ["job.py", "***"]
    done = repro(project, "rerun", "--secret-arg", "#1=MYVAL", run_id, env={"MYVAL": canary})
    assert done.returncode == 0, done.stderr
    assert f"args ['{canary}']" in done.stdout
    assert record_of(project)["command"]["argv"] == ["job.py", "***"]
    assert canary.encode() not in store_bytes(project)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("output_paths", ["../../.ssh/authorized_keys"]),
        ("output_paths", ["/etc/cron.d"]),
        ("cwd", "../.."),
    ],
)
def test_a_record_whose_paths_leave_the_worktree_is_refused(
    project: Path, field: str, value: Any
) -> None:
    run_id = run_ok(project, "job.py")

    def change(document: dict[str, Any]) -> None:
        if field == "cwd":
            document["command"]["cwd"] = value
        else:
            document[field] = value

    edit_record(project, run_id, change)
    assert_one_line_error(repro(project, "rerun", run_id), 29, "outside the repository")


def test_a_run_that_never_finished_is_refused(project: Path) -> None:
    proc = start_long_run(project)
    deadline = time.monotonic() + 10
    while not json.loads(repro(project, "list", "--json").stdout):  # the record is written
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    assert_one_line_error(repro(project, "rerun", "@"), 30, "crashed")


def test_environment_drift_is_printed_and_strict_refuses_it(project: Path) -> None:
    run_id = run_ok(project, "job.py")
    edit_record(project, run_id, lambda d: d["system"].update(python_version="2.7.18"))
    done = repro(project, "rerun", "--strict", run_id)
    assert done.returncode == 27
    assert "system: python cpython 2.7.18 → cpython" in done.stderr and "--strict" in done.stderr
    done = repro(project, "rerun", run_id)
    assert done.returncode == 0, done.stderr
    assert "warning: the environment differs" in done.stderr and "2.7.18" in done.stderr
    assert record_of(project)["rerun"]["environment_drift"][0].startswith("system: python ")


def test_recorded_computation_variables_are_replayed_and_others_unset(project: Path) -> None:
    run_id = run_ok(project, "job.py", env={"OMP_NUM_THREADS": "3"})
    done = repro(project, "rerun", run_id, env={"OMP_NUM_THREADS": "7", "MKL_NUM_THREADS": "2"})
    assert done.returncode == 0, done.stderr
    assert "threads 3 None" in done.stdout
    assert "OMP_NUM_THREADS=3 (here: 7)" in done.stderr
    assert "MKL_NUM_THREADS unset" in done.stderr


def test_a_rerun_that_crashes_where_the_original_succeeded_is_failed(project: Path) -> None:
    run_id = run_ok(project, "job.py")
    done = repro(project, "rerun", run_id, env={"FAIL": "1"})
    assert done.returncode == 22
    assert "FAILED" in done.stdout and "exit 3" in done.stdout
    verdict = record_of(project)["verdict"]
    assert verdict["outcome"] == "FAILED" and verdict["last_log_line"] == "threads None None"


def test_a_log_only_run_is_judged_on_its_log_with_timings_masked(project: Path) -> None:
    script = (
        "import random, time\n"
        "t = time.time()\n"
        "print(f'epoch 1 done, took {random.random():.3f}s ({random.random() * 100:.1f} it/s)')\n"
        "print(f'elapsed: {time.time() - t}  at {time.strftime(\"%Y-%m-%d %H:%M:%S\")}')\n"
    )
    (project / "timed.py").write_text(script)
    commit_all(project)
    run_id = run_ok(project, "timed.py")
    done = repro(project, "rerun", run_id)
    assert done.returncode == 0, done.stdout
    assert "IDENTICAL" in done.stdout and "judged on the log" in done.stdout
    assert record_of(project)["verdict"]["judged_on"] == ["log"]


def test_malformed_options_are_usage_errors(project: Path) -> None:
    run_id = run_ok(project, "job.py")
    assert repro(project, "rerun", "--data", "nonsense", run_id).returncode == 2
    done = repro(project, "rerun", "--data", "elsewhere=x", run_id)
    assert done.returncode == 2 and "recorded no such data path" in done.stderr
    assert repro(project, "rerun", "--times", "0", run_id).returncode == 2
    assert repro(project, "rerun", "--rtol", "-1", run_id).returncode == 2
    for bad in ("nan", "inf"):
        done = repro(project, "rerun", "--atol", bad, run_id)
        assert done.returncode == 2 and "is not a finite number" in done.stderr


def test_submodules_are_checked_out_at_their_recorded_commit(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    sub = make_repo({"value.txt": "one\n"})
    root = make_repo({"read.py": "print(open('sub/value.txt').read().strip())\n"})
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "sub")
    commit_all(root, "add submodule")
    run_id = run_ok(root, "read.py")
    (sub / "value.txt").write_text("two\n")
    commit_all(sub, "moved on")
    git(root / "sub", "pull", "-q")  # the user's checkout moved on: the record did not
    config = (root / ".git" / "config").read_bytes()
    done = repro(root, "rerun", run_id)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.startswith("one\n")
    assert record_of(root)["code"]["dirty"] is False
    assert (root / ".git" / "config").read_bytes() == config  # no submodule settings written


def test_a_pythonpath_into_the_repository_names_the_worktree_in_a_rerun(project: Path) -> None:
    (project / "lib").mkdir()
    (project / "lib" / "mod.py").write_text("VALUE = 1\n")
    (project / "uses.py").write_text("import mod\nprint('value', mod.VALUE)\n")
    commit_all(project)
    run_id = run_ok(project, "uses.py", env={"PYTHONPATH": str(project / "lib")})
    (project / "lib" / "mod.py").write_text("VALUE = 2\n")  # edited since, not committed
    done = repro(project, "rerun", "--times", "2", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("value 1\n") == 2 and "value 2" not in done.stdout


def test_a_project_that_is_a_linked_worktree_reruns_identical(
    project: Path, tmp_path: Path
) -> None:
    """Scenario E58: the check and the rerun both work from a `git worktree add` checkout."""
    linked = tmp_path / "linked"
    git(project, "worktree", "add", "-q", str(linked))
    run_ok(linked, "job.py", "--flag")
    done = repro(linked, "rerun", "@")
    assert done.returncode == 0, done.stderr
    assert "IDENTICAL" in done.stdout + done.stderr
    # The rerun's own worktree is gone: only the main checkout and the linked one remain.
    assert git(project, "worktree", "list", "--porcelain").count("worktree ") == 2
