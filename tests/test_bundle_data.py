"""`repro export --with-data`: the run's data travels in the bundle, checked, scanned, streamed;
a rerun after `repro import` elsewhere finds it under `.repro/data/` and is IDENTICAL."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import blake3
import pytest
from helpers.cli import REPRO, record_of, repro
from helpers.repos import MakeRepo, write_files

from repro_run.core.errors import UnsafeRecordError
from repro_run.models import ManifestEntry
from repro_run.store import Store

# Hashes every file of the dataset it is given (through symlinks), so any byte of data that
# differs shows in its output file, its metric and its log.
TRAIN = """\
import hashlib, os, sys
import repro_run
root = sys.argv[1]
digest = hashlib.sha256()
for dirpath, dirs, files in os.walk(root, followlinks=True):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(dirpath, name)
        digest.update(os.path.relpath(path, root).encode())
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
os.makedirs("out", exist_ok=True)
with open("out/model.txt", "w") as f:
    f.write(digest.hexdigest())
repro_run.log_metrics(step=0, loss=int(digest.hexdigest()[:8], 16) / 2**32)
print("data", digest.hexdigest())
"""


def _project(make_repo: MakeRepo, extra: dict[str, str | bytes] | None = None) -> Path:
    """A project whose data (ignored by git) has text, binary, an executable and a symlink."""
    root = make_repo({"train.py": TRAIN, ".gitignore": "data/\nout/\n"})
    write_files(
        root,
        {
            "data/train/a.csv": "x,y\n1,2\n",
            "data/train/sub/b.bin": b"bin\0ary",
            "data/train/run.sh": "#!/bin/sh\n",
            **(extra or {}),
        },
    )
    (root / "data/train/run.sh").chmod(0o755)
    (root / "data/train/link").symlink_to("a.csv")
    return root


def _run(root: Path) -> str:
    done = repro(root, "run", "--data", "data/train", "--outputs", "out", "train.py", "data/train")
    assert done.returncode == 0, done.stderr
    return str(record_of(root)["id"])


def _export(root: Path, run_id: str, bundle: Path) -> subprocess.CompletedProcess[str]:
    return repro(root, "export", run_id, "--with-data", "-o", str(bundle))


def test_with_data_rerun_after_import_uses_the_bundled_data_and_is_identical(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "run.repro.tar.gz"
    done = _export(root, run_id, bundle)
    assert done.returncode == 0, done.stderr
    assert "3 data files" in done.stdout
    assert "1 binary file could not be scanned" in done.stderr
    shutil.rmtree(root / "data")  # no copy of the dataset is left on this machine
    other = make_repo({"NOTES.md": "unrelated\n"})
    assert repro(other, "import", str(bundle)).returncode == 0
    collected = repro(other, "gc", "--grace", "0")  # the data files are the run's: kept
    assert "removed 0 unreferenced objects" in collected.stdout, collected.stdout
    rerun = repro(other, "rerun", run_id)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "IDENTICAL: rerun" in rerun.stdout
    digest = record_of(other, run_id)["data"][0]["digest"]
    used = other / ".repro" / "data" / digest
    assert f"using the copy imported with run {run_id}, {used}" in rerun.stderr
    assert (used / "link").readlink() == Path("a.csv")
    modes = [stat.S_IMODE((used / name).stat().st_mode) for name in ("run.sh", "a.csv")]
    assert modes == [0o555, 0o444]  # executable as recorded; read-only, like the objects
    assert repro(other, "fsck").returncode == 0


def test_with_data_rerun_still_takes_data_remap_first(make_repo: MakeRepo, tmp_path: Path) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    assert _export(root, run_id, bundle).returncode == 0
    moved = tmp_path / "elsewhere"
    shutil.move(root / "data" / "train", moved)
    other = make_repo({"NOTES.md": "unrelated\n"})
    assert repro(other, "import", str(bundle)).returncode == 0
    rerun = repro(other, "rerun", run_id, "--data", f"data/train={moved}")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "IDENTICAL: rerun" in rerun.stdout
    assert "using the copy imported" not in rerun.stderr
    assert not (other / ".repro" / "data").exists()


def test_with_data_refuses_data_changed_since_the_run_naming_the_file(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    (root / "data/train/a.csv").write_text("x,y\n1,3\n")
    bundle = tmp_path / "b.tar.gz"
    done = _export(root, run_id, bundle)
    assert done.returncode == 26
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "data/train: 1 modified file(s): ~ a.csv" in done.stderr
    assert "export without --with-data" in done.stderr
    assert not bundle.exists() and list(tmp_path.glob(".b.tar.gz*")) == []


def test_with_data_bundle_is_byte_identical_and_holds_each_data_file(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = _project(make_repo)
    run_id = _run(root)
    first, second, plain = tmp_path / "1.tar.gz", tmp_path / "2.tar.gz", tmp_path / "p.tar.gz"
    assert _export(root, run_id, first).returncode == 0
    assert _export(root, run_id, second).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    assert repro(root, "export", run_id, "-o", str(plain)).returncode == 0
    with tarfile.open(first) as full, tarfile.open(plain) as bare:
        added = set(full.getnames()) - set(bare.getnames())
    files = [b"x,y\n1,2\n", b"bin\0ary", b"#!/bin/sh\n"]
    assert added == {f"objects/{blake3.blake3(data).hexdigest()}" for data in files}


def test_secret_in_a_data_file_refuses_export_naming_file_and_line(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    notes = 'first line\napi_key = "Zq8xW3vR7tY2uP9sK4mN6bL1"\n'
    root = _project(make_repo, {"data/train/notes.txt": notes})
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    done = _export(root, run_id, bundle)
    assert done.returncode == 31
    assert "data/train/notes.txt:2 (assignment)" in done.stderr
    assert "Zq8xW3vR7tY2uP9sK4mN6bL1" not in done.stderr
    assert not bundle.exists()
    assert repro(root, "export", run_id, "-o", str(bundle)).returncode == 0  # no data: no secret


def _peak_rss_mb(cwd: Path, *args: str) -> int:
    """Run `repro ARGS` from a fresh Python whose only child is repro: repro's peak RSS."""
    script = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "assert done.returncode == 0, done.stderr\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, REPRO, *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_big_data_file_is_streamed_through_export_and_import(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    size_mb = 80
    root = _project(make_repo)
    big = root / "data/train/big.bin"
    big.write_bytes(os.urandom(size_mb << 20))
    # Past the racy window, the run's stat cache vouches for the file at export: export does
    # not map it to hash it again (mapped pages would count in the peak RSS measured here).
    time.sleep(1.2)
    run_id = _run(root)
    bundle = tmp_path / "b.tar.gz"
    # Peak RSS stays under half the file (about 25 MB here): it never was in memory whole.
    assert _peak_rss_mb(root, "export", run_id, "--with-data", "-o", str(bundle)) < size_mb // 2
    other = make_repo({"NOTES.md": "unrelated\n"})
    assert _peak_rss_mb(other, "import", str(bundle)) < size_mb // 2
    shutil.rmtree(root / "data")
    rerun = repro(other, "rerun", run_id)
    assert "IDENTICAL: rerun" in rerun.stdout, rerun.stderr


def test_bundled_data_with_an_escaping_path_is_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    digest = store.put_bytes(b"evil")
    with pytest.raises(UnsafeRecordError, match="would leave its directory"):
        store.bundled_data("f" * 64, [ManifestEntry("../../evil", 4, digest)])
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "store" / "data" / ("f" * 64)).exists()


def test_bundled_data_never_writes_below_its_own_symlink(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    outside = tmp_path / "outside"
    outside.mkdir()
    digest = store.put_bytes(b"evil")
    entries = [ManifestEntry("d", 0, None, link=str(outside)), ManifestEntry("d/x", 4, digest)]
    with pytest.raises(UnsafeRecordError, match="below its symlink"):
        store.bundled_data("e" * 64, entries)
    assert list(outside.iterdir()) == []
    assert [p.name for p in (tmp_path / "store").iterdir() if p.name.startswith("data-")] == []


# Reads the dataset that its config names (`data: PATH`), as programs with a YAML config do.
FROM_CONFIG = """\
import os, sys
config = dict(line.split(": ", 1) for line in open(sys.argv[2]).read().splitlines())
os.makedirs("out", exist_ok=True)
with open(config["data"]) as f, open("out/model.txt", "w") as out:
    out.write(f.read().upper())
print("read", config["data"])
"""


def test_an_absolute_data_path_in_a_config_is_pointed_at_the_imported_copy(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    dataset = tmp_path / "datasets" / "data.csv"
    dataset.parent.mkdir()
    dataset.write_text("x,y\n1,2\n")
    root = make_repo(
        {"train.py": FROM_CONFIG, "c.yaml": f"data: {dataset}\n", ".gitignore": "out/\n"}
    )
    done = repro(root, "run", "--outputs", "out", "train.py", "--config", "c.yaml")
    assert done.returncode == 0, done.stderr
    (data,) = record_of(root)["data"]
    assert (data["path"], data["origin"]) == (str(dataset), "c.yaml: data")
    run_id = str(record_of(root)["id"])
    bundle = tmp_path / "run.repro.tar.gz"
    assert _export(root, run_id, bundle).returncode == 0
    shutil.rmtree(dataset.parent)  # the absolute path names nothing on the importing machine
    other = make_repo({"NOTES.md": "unrelated\n"})
    assert repro(other, "import", str(bundle)).returncode == 0
    rerun = repro(other, "rerun", run_id)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "IDENTICAL: rerun" in rerun.stdout
    copy = other / ".repro" / "data" / data["digest"] / "data.csv"
    assert f"read {copy}\n" in rerun.stdout
    assert f"config c.yaml in the rerun's worktree names {copy}, not {dataset}" in rerun.stderr


def test_an_absolute_data_path_inside_code_is_named_as_not_rewritten(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    dataset = tmp_path / "datasets" / "data.csv"
    dataset.parent.mkdir()
    dataset.write_text("x,y\n")
    reader = f"print(open({str(dataset)!r}).read())\n"
    root = make_repo({"train.py": reader})
    assert repro(root, "run", "--data", str(dataset), "train.py").returncode == 0
    run_id = str(record_of(root)["id"])
    bundle = tmp_path / "run.repro.tar.gz"
    assert _export(root, run_id, bundle).returncode == 0
    shutil.rmtree(dataset.parent)
    other = make_repo({"NOTES.md": "unrelated\n"})
    assert repro(other, "import", str(bundle)).returncode == 0
    rerun = repro(other, "rerun", run_id)
    assert f"repro: data {dataset} is named in train.py, code that the rerun does not " in (
        rerun.stderr
    )
    assert rerun.returncode != 0  # the program looked where its code says
