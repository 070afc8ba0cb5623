"""`repro export` and `repro import` end to end: the real CLI, real repositories, real bundles."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import blake3
from helpers.cli import REPRO, assert_one_line_error, record_of, repro, store_bytes
from helpers.programs import SEEDED_TRAIN as TRAIN
from helpers.repos import MakeRepo, commit_all, git, write_files


def _project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN, ".gitignore": "out/\n", "cfg.yaml": "lr: 0.1\n"})


def _run(root: Path) -> str:
    done = repro(root, "run", "--seed", "3", "--outputs", "out", "train.py", "--config", "cfg.yaml")
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def _elsewhere(make_repo: MakeRepo) -> Path:
    """Another repository that has never seen the original's history."""
    return make_repo({"NOTES.md": "unrelated\n"})


def _exported_elsewhere(make_repo: MakeRepo, tmp_path: Path) -> tuple[Path, str, Path, Path]:
    """(project, run ID, its bundle, another repository whose store exists but is empty)."""
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    assert repro(root, "export", run_id, "-o", str(bundle)).returncode == 0
    other = _elsewhere(make_repo)
    assert repro(other, "list").returncode == 0  # the store exists: crash points are the import's
    return root, run_id, bundle, other


def _imported_as(record: dict[str, Any], output_files: bool) -> dict[str, Any]:
    """`record` as an import places it: the same, saying what the bundle carried."""
    return {**record, "imported": {"output_files": output_files}}


def test_export_import_rerun_round_trip_is_identical(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "run.repro.tar.gz"
    assert repro(root, "export", run_id, "-o", str(bundle)).returncode == 0
    other = _elsewhere(make_repo)
    done = repro(other, "import", str(bundle))
    assert done.returncode == 0, done.stderr
    assert f"imported run {run_id}" in done.stdout
    assert record_of(other, run_id) == _imported_as(record_of(root, run_id), False)
    rerun = repro(other, "rerun", run_id)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "IDENTICAL: rerun" in rerun.stdout
    assert repro(other, "fsck").returncode == 0


def test_same_run_gives_same_bytes(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    assert repro(root, "export", run_id, "-o", str(first)).returncode == 0
    assert repro(root, "export", run_id, "-o", str(second)).returncode == 0
    assert first.read_bytes() == second.read_bytes()


def test_bundle_holds_no_history(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    write_files(root, {"old.txt": "a secret of the past\n"})
    commit_all(root, "old")
    git(root, "rm", "-q", "old.txt")
    commit_all(root, "forget")
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    assert repro(root, "export", run_id, "-o", str(bundle)).returncode == 0
    other = _elsewhere(make_repo)
    assert repro(other, "import", str(bundle)).returncode == 0
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=other, capture_output=True
    ).stdout
    assert b"a secret of the past" not in objects


def test_reimport_is_idempotent(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    repro(root, "export", run_id, "-o", str(bundle))
    other = _elsewhere(make_repo)
    assert repro(other, "import", str(bundle)).returncode == 0
    before = store_bytes(other)
    again = repro(other, "import", str(bundle))
    assert again.returncode == 0
    assert "already in this store" in again.stdout
    assert store_bytes(other) == before


def test_id_clash_with_different_content_is_refused(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    repro(root, "export", run_id, "-o", str(bundle))
    record = root / ".repro" / "runs" / run_id / "run.json"
    original = record.read_bytes()
    record.chmod(0o644)
    record.write_bytes(original.replace(b'"seed": 3', b'"seed": 4'))
    done = repro(root, "import", str(bundle))
    assert done.returncode == 33
    assert "never overwritten" in done.stderr
    assert b'"seed": 4' in record.read_bytes()


def test_import_refuses_an_id_whose_run_is_being_created(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    _, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    starting = other / ".repro" / "runs" / run_id
    starting.mkdir()  # as `repro run` has it between its mkdir and its lock file
    done = repro(other, "import", str(bundle))
    assert_one_line_error(done, 33, f"another run {run_id}", "never overwritten")
    assert list(starting.iterdir()) == []  # not replaced by the imported run
    assert json.loads(repro(other, "list", "--json").stdout) == []


def test_with_outputs_carries_the_output_files(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    plain, full = tmp_path / "plain.tar.gz", tmp_path / "full.tar.gz"
    repro(root, "export", run_id, "-o", str(plain))
    repro(root, "export", run_id, "--with-outputs", "-o", str(full))
    with tarfile.open(plain) as a, tarfile.open(full) as b:
        assert len(b.getnames()) == len(a.getnames()) + 1


def test_secret_in_log_refuses_export_naming_file_and_line(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    log = root / ".repro" / "runs" / run_id / "output.log"
    log.chmod(0o644)
    log.write_bytes(
        log.read_bytes() + b"token ghp_" + b"A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" + b"\n"
    )
    bundle = tmp_path / "b.tar.gz"
    done = repro(root, "export", run_id, "-o", str(bundle))
    assert done.returncode == 31
    assert "output.log:2" in done.stderr
    assert not bundle.exists()
    allowed = repro(root, "export", run_id, "--allow-secrets", "-o", str(bundle))
    assert allowed.returncode == 0
    assert "output.log:2" in allowed.stderr


def test_a_secret_in_the_record_itself_refuses_export(make_repo: MakeRepo, tmp_path: Path) -> None:
    """A record from an older repro (or edited by hand) may hold what masking now removes."""
    root = _project(make_repo)
    run_id = _run(root)
    record = root / ".repro" / "runs" / run_id / "run.json"
    record.chmod(0o644)
    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    record.write_text(record.read_text().replace('"train.py"', f'"train.py", "{token}"', 1))
    done = repro(root, "export", run_id, "-o", str(tmp_path / "b.tar.gz"))
    assert done.returncode == 31 and "run.json:" in done.stderr, done.stderr


def test_secret_in_dirty_patch_refuses_export(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    write_files(root, {"train.py": TRAIN + 'api_key = "Zq8xW3vR7tY2uP9sK4mN6bL1"\n'})
    done = repro(root, "run", "--allow-dirty", "train.py")
    assert done.returncode == 0, done.stderr
    run_id = str(record_of(root)["id"])
    refused = repro(root, "export", run_id, "-o", str(tmp_path / "b.tar.gz"))
    assert refused.returncode == 31
    assert "train.py:11" in refused.stderr


def test_an_import_killed_midway_leaves_no_run_and_a_clean_store(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    _, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    for step in ("1", "5"):  # abrupt exits while objects are being placed
        crashed = repro(other, "import", str(bundle), env={"REPRO_CRASH_AT": step})
        assert crashed.returncode == 99, crashed.stderr
        assert repro(other, "list", "--json").stdout.strip() == "[]"
        assert repro(other, "fsck").returncode == 0
    assert repro(other, "import", str(bundle)).returncode == 0
    assert record_of(other, run_id)["id"] == run_id


def test_reimport_restores_code_that_git_gc_pruned(make_repo: MakeRepo, tmp_path: Path) -> None:
    _, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    assert repro(other, "import", str(bundle)).returncode == 0
    git(other, "prune", "--expire=now")  # the imported commit is unreachable: gc drops it
    again = repro(other, "import", str(bundle))
    assert again.returncode == 0, again.stderr
    assert "commit was restored" in again.stdout
    assert repro(other, "rerun", run_id).returncode == 0


def test_a_sigkilled_import_leaves_staging_that_fsck_removes_once_no_importer_owns_it(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    # The importer stops itself right after placing its first object, then gets a real SIGKILL.
    importer = subprocess.Popen(
        [REPRO, "import", str(bundle)],
        cwd=other,
        env={**os.environ, "REPRO_CRASH_AT": "3:stop"},
        stderr=subprocess.PIPE,
    )
    try:
        assert importer.stderr is not None
        ready, _, _ = select.select([importer.stderr], [], [], 60)
        assert ready and b"stopped after rename object" in importer.stderr.readline()
        (staging,) = (other / ".repro").glob("import-*")
        alive = repro(other, "fsck")
        assert alive.returncode == 0
        assert f"{staging.name}/ belongs to import in progress (left alone)" in alive.stdout
        assert staging.is_dir()
    finally:
        importer.kill()
        importer.wait()
    assert importer.returncode == -signal.SIGKILL
    assert repro(other, "list", "--json").stdout.strip() == "[]"
    dead = repro(other, "fsck")
    assert dead.returncode == 0
    assert f"removed {staging.name}/, left by an interrupted import" in dead.stdout
    assert not staging.exists()
    assert "0 repaired" in repro(other, "fsck").stdout
    assert repro(other, "import", str(bundle)).returncode == 0
    assert record_of(other, run_id) == _imported_as(record_of(root, run_id), False)


def _shallow_clone(origin: Path, tmp_path: Path) -> Path:
    """`git clone --depth 1` of `origin` (file://, so the depth is honoured)."""
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    return clone


def test_a_run_in_a_shallow_clone_exports_and_reruns_identical_elsewhere(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    origin = _project(make_repo)
    write_files(origin, {"more.txt": "history the clone does not have\n"})
    commit_all(origin, "second")
    clone = _shallow_clone(origin, tmp_path)
    run_id = _run(clone)
    assert record_of(clone, run_id)["code"]["is_shallow"] is True
    bundle = tmp_path / "b.tar.gz"
    assert repro(clone, "export", run_id, "-o", str(bundle)).returncode == 0
    other = _elsewhere(make_repo)
    assert repro(other, "import", str(bundle)).returncode == 0
    rerun = repro(other, "rerun", run_id)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "IDENTICAL: rerun" in rerun.stdout


def test_a_shallow_clone_without_the_recorded_commit_refuses_export_naming_the_fix(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    origin = _project(make_repo)
    run_id = _run(origin)
    write_files(origin, {"more.txt": "a later commit\n"})
    commit_all(origin, "second")
    clone = _shallow_clone(origin, tmp_path)  # holds only the later commit
    shared = {"REPRO_HOME": str(origin / ".repro")}  # one store for both checkouts
    bundle = tmp_path / "b.tar.gz"
    refused = repro(clone, "export", run_id, "-o", str(bundle), env=shared)
    assert refused.returncode == 23
    assert refused.stderr.count("\n") == 1
    assert "this shallow clone does not hold" in refused.stderr
    assert "git fetch --unshallow" in refused.stderr
    assert not bundle.exists()
    git(clone, "fetch", "-q", "--unshallow")
    assert repro(clone, "export", run_id, "-o", str(bundle), env=shared).returncode == 0


def test_an_unwritable_bundle_path_is_exit_34_in_one_line(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    done = repro(root, "export", run_id, "-o", str(tmp_path / "missing" / "b.tar.gz"))
    assert done.returncode == 34
    assert done.stderr.count("\n") == 1 and "cannot write the bundle" in done.stderr
    assert not (tmp_path / "missing").exists()


def test_an_import_without_the_output_files_is_no_damage_to_fsck(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    _, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)  # the default: no files
    assert repro(other, "import", str(bundle)).returncode == 0
    assert record_of(other, run_id)["imported"] == {"output_files": False}
    checked = repro(other, "fsck")
    assert checked.returncode == 0, checked.stdout
    assert "missing" not in checked.stdout
    assert repro(other, "gc", "--grace", "0").returncode == 0
    assert repro(other, "fsck").returncode == 0


def test_show_says_the_output_files_were_not_imported(make_repo: MakeRepo, tmp_path: Path) -> None:
    _, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    assert repro(other, "import", str(bundle)).returncode == 0
    shown = repro(other, "show", run_id)
    assert shown.returncode == 0
    assert "not imported: the bundle held only their manifests" in shown.stdout


def test_an_import_with_the_output_files_records_them_and_fsck_checks_them(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "full.tar.gz"
    assert repro(root, "export", run_id, "--with-outputs", "-o", str(bundle)).returncode == 0
    other = _elsewhere(make_repo)
    assert repro(other, "import", str(bundle)).returncode == 0
    assert record_of(other, run_id)["imported"] == {"output_files": True}
    model = blake3.blake3((root / "out" / "model.txt").read_bytes()).hexdigest()
    (other / ".repro" / "objects" / model[:2] / model[2:]).unlink()
    damaged = repro(other, "fsck")
    assert damaged.returncode == 9
    assert f"object {model} (output out/model.txt) is missing" in damaged.stdout


def test_a_run_imported_without_its_output_files_refuses_export_with_outputs(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    _, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    assert repro(other, "import", str(bundle)).returncode == 0
    refused = repro(other, "export", run_id, "--with-outputs", "-o", str(tmp_path / "c.tgz"))
    assert refused.returncode == 2
    assert "imported without its output files" in refused.stderr
    assert "export it without --with-outputs" in refused.stderr
    assert repro(other, "export", run_id, "-o", str(tmp_path / "c.tgz")).returncode == 0


def test_six_concurrent_imports_of_one_bundle_all_succeed(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root, run_id, bundle, other = _exported_elsewhere(make_repo, tmp_path)
    importers = [
        subprocess.Popen(
            [REPRO, "import", str(bundle)],
            cwd=other,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in importers]
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    said = [out for _, out, _ in results]
    assert sum(f"imported run {run_id}" in out for out in said) == 1, said
    assert sum(f"run {run_id} is already in this store" in out for out in said) == 5, said
    assert record_of(other, run_id) == _imported_as(record_of(root, run_id), False)
    assert repro(other, "fsck").returncode == 0


BIG_OUTPUT = """\
import os
os.makedirs("out", exist_ok=True)
with open("out/big.bin", "wb") as f:
    f.write(os.urandom(32 << 20))  # incompressible: gzip takes its time over it
"""


def _writes_into(pid: int, directory: Path) -> bool:
    """Whether process `pid` has a file of `directory` open (an unnamed one included)."""
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd).startswith(f"{directory}/"):
                return True
    return False


def test_a_sigkilled_export_leaves_no_temp_file_beside_the_bundle(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo({"big.py": BIG_OUTPUT, ".gitignore": "out/\n"})
    assert repro(root, "run", "--outputs", "out", "python", "big.py").returncode == 0
    target = tmp_path / "bundles"
    target.mkdir()
    export = subprocess.Popen(
        [REPRO, "export", "@", "--with-outputs", "-o", str(target / "x.tgz")],
        cwd=root,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not _writes_into(export.pid, target):
            assert export.poll() is None, "the export ended before it was caught writing"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        export.kill()
        export.wait()
    assert export.returncode == -signal.SIGKILL
    assert sorted(os.listdir(target)) == []


def test_the_next_export_removes_temp_files_of_a_dead_export_but_not_a_live_one(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "b.tgz"
    dead = tmp_path / ".b.tgz.tmp-0badf00d"  # where O_TMPFILE is not supported: a named temp
    dead.write_bytes(b"half a bundle")
    live = tmp_path / ".b.tgz.tmp-11ve0000"
    live.write_bytes(b"being written")
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # its writer is alive
        assert repro(root, "export", run_id, "-o", str(bundle)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".b.tgz")) == [live.name]
    assert bundle.is_file()
