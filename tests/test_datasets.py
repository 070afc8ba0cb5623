"""Datasets end to end: `repro fingerprint`, and what `repro run` picks, prints and stores."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.cli import REPRO, record_of, repro
from helpers.repos import MakeRepo, commit_all

from repro_run.app import datasets
from repro_run.capture import git as git_capture
from repro_run.fingerprint.manifest import encode_manifest, manifest_digest
from repro_run.models import ManifestEntry

# The digest pinned in tests/test_fingerprint.py::test_golden_digest_is_pinned (scenario 69).
GOLDEN = "b9b55ebacde24f60d5ebb5948034aa069cd6057696f5182fd96f883a2612a390"
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def _golden_dataset(root: Path) -> Path:
    (root / "train").mkdir(parents=True)
    (root / "train" / "b.csv").write_bytes(b"3,4\n")  # created out of order on purpose
    (root / "train" / "a.csv").write_bytes(b"1,2\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    os.symlink("train/a.csv", root / "latest")
    return root


# --- repro fingerprint ------------------------------------------------------------------
def test_fingerprint_prints_digest_files_bytes_and_time(tmp_path: Path) -> None:
    _golden_dataset(tmp_path / "d")
    done = repro(tmp_path, "fingerprint", "d")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(rf"{GOLDEN}  d  \(4 files, 18 B, \d+\.\d\ds\)\n", done.stdout)
    assert done.stderr == ""  # not a terminal: no progress


@pytest.mark.parametrize("locale", ["C", "C.UTF-8", "en_US.UTF-8"])
def test_the_digest_does_not_depend_on_locale(tmp_path: Path, locale: str) -> None:
    _golden_dataset(tmp_path / "d")
    done = repro(tmp_path, "fingerprint", "d", env={"LC_ALL": locale, "LANG": locale})
    assert done.stdout.split()[0] == GOLDEN, done.stderr


def test_fingerprint_json_is_the_manifest(tmp_path: Path) -> None:
    _golden_dataset(tmp_path / "d")
    done = repro(tmp_path, "fingerprint", "--json", "d")
    (report,) = json.loads(done.stdout)
    entries = [ManifestEntry(**e) for e in report["entries"]]
    assert [e.path for e in entries] == ["latest", "run.sh", "train/a.csv", "train/b.csv"]
    assert manifest_digest(encode_manifest(entries)) == report["digest"] == GOLDEN
    assert (report["files"], report["bytes"]) == (4, 18)


def test_fingerprint_of_a_missing_path_names_it(tmp_path: Path) -> None:
    done = repro(tmp_path, "fingerprint", "nope")
    assert done.returncode == 6
    assert done.stderr == "repro: error: path not found: nope (check the path)\n"


def test_a_fifo_is_skipped_with_a_warning_and_never_blocks(tmp_path: Path) -> None:
    _golden_dataset(tmp_path / "d")
    os.mkfifo(tmp_path / "d" / "pipe")
    done = repro(tmp_path, "fingerprint", "d", timeout=20)
    assert done.returncode == 0
    assert "repro: warning: d: skipped, never read (fifo: pipe)" in done.stderr


needs_setpriv = pytest.mark.skipif(
    shutil.which("setpriv") is None,
    reason="setpriv (util-linux) is needed to drop root's read override",
)


@needs_setpriv
def test_an_unreadable_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """chmod 000 does not stop root, so repro runs without CAP_DAC_OVERRIDE (setpriv)."""
    root = _golden_dataset(tmp_path / "d")
    (root / "locked.bin").write_bytes(b"secret")
    (root / "locked.bin").chmod(0)
    done = subprocess.run(
        [*NO_DAC, REPRO, "fingerprint", "d"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 6
    assert re.fullmatch(
        r"repro: error: file cannot be read: .*/d/locked\.bin: Permission denied "
        r"\(fix its permissions, or pass --skip-unreadable\)\n",
        done.stderr,
    )
    skipping = subprocess.run(
        [*NO_DAC, REPRO, "fingerprint", "--skip-unreadable", "d"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert skipping.returncode == 0
    assert "unreadable, recorded without a hash: locked.bin (Permission denied)" in skipping.stderr
    assert "1 unreadable" in skipping.stdout


# --- what repro run picks ---------------------------------------------------------------
SCRIPT = "import sys; print('args', sys.argv[1:])\n"


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "train.py": SCRIPT,
            ".gitignore": "data/\nout/\n",
            "configs/c.yaml": "data:\n  root: data/train\n  name: cifar\noutput_dir: out\n",
            "notes.txt": "tracked\n",
        }
    )
    for name in ("a", "b", "c"):
        (root / "data" / "train").mkdir(parents=True, exist_ok=True)
        (root / "data" / "train" / f"{name}.png").write_bytes(name.encode() * 100)
    (root / "data" / "val.csv").write_text("x\n")
    (root / "out").mkdir()
    return root


def test_run_picks_untracked_paths_from_arguments_and_configs(project: Path) -> None:
    done = repro(
        project,
        "run",
        "train.py",
        "--config",
        "configs/c.yaml",
        "--val",
        "data/val.csv",
        "--notes",
        "notes.txt",
        "--output-dir",
        "out",
    )
    assert done.returncode == 0, done.stderr
    record = record_of(project)
    picked = {d["path"]: d["origin"] for d in record["data"]}
    assert picked == {"data/val.csv": "argument --val", "data/train": "configs/c.yaml: data.root"}
    assert re.search(
        r"repro: data data/train \(configs/c\.yaml: data\.root\): 3 files, 300 B, blake3 [0-9a-f]{16}",
        done.stderr,
    )


def test_no_auto_data_fingerprints_only_what_was_asked(project: Path) -> None:
    done = repro(project, "run", "--no-auto-data", "train.py", "--config", "configs/c.yaml")
    assert done.returncode == 0, done.stderr
    assert record_of(project)["data"] == []
    assert "repro: data" not in done.stderr


def test_explicit_data_comes_first_and_is_not_picked_twice(project: Path) -> None:
    repro(project, "run", "--data", "data", "train.py", "--config", "configs/c.yaml")
    assert [(d["path"], d["origin"]) for d in record_of(project)["data"]] == [("data", "--data")]


def test_a_committed_link_to_data_outside_the_repository_is_data(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    outside = _golden_dataset(tmp_path / "datasets" / "cifar")
    root = make_repo({"train.py": SCRIPT})
    os.symlink(outside, root / "cifar")
    commit_all(root, "link the dataset")
    repro(root, "run", "train.py", "cifar")
    (data,) = record_of(root)["data"]
    assert (data["path"], data["digest"], data["origin"]) == ("cifar", GOLDEN, "argument 1")


def test_two_runs_over_one_dataset_store_one_manifest(project: Path) -> None:
    for _ in range(2):
        repro(project, "run", "--data", "data", "train.py")
    first, second = (record_of(project, ref)["data"][0] for ref in ("@~1", "@"))
    assert first["manifest_object"] == second["manifest_object"] == first["digest"]
    objects = [p for p in (project / ".repro" / "objects").rglob("*") if p.is_file()]
    manifests = [p for p in objects if p.read_bytes().startswith(b'{"format":"repro-manifest"')]
    assert len(manifests) == 1


def test_a_changed_dataset_is_reported_by_directory(project: Path) -> None:
    repro(project, "run", "--data", "data", "train.py")
    (project / "data" / "train" / "new").mkdir()
    for i in range(3):
        (project / "data" / "train" / "new" / f"n{i}.png").write_bytes(b"x" * 1000)
    (project / "data" / "val.csv").unlink()
    done = repro(project, "run", "--data", "data", "train.py")
    assert re.search(r"warning: data data changed since run \w{18}: 4 files differ\n", done.stderr)
    assert "    train/: +3 files (+3.0 KB)\n" in done.stderr
    assert "    ./: -1 file (-2 B)\n" in done.stderr
    assert "    + train/new/n0.png\n" in done.stderr


def test_git_is_asked_once_and_only_when_candidates_exist(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real = git_capture.tracked_paths

    def tracked(root: Path, paths: list[str]) -> list[str]:
        calls.append(paths)
        return real(root, paths)

    monkeypatch.setattr(git_capture, "tracked_paths", tracked)

    def select(*argv: str) -> list[str]:
        found = datasets.select_data(
            given=(), configured=(), cwd=project, root=project, argv=argv, configs=(),
            outputs=(), store=project / ".repro", auto=True,
        )  # fmt: skip
        return [s.display for s in found]

    assert select("train.py", "--lr", "0.1", "--name", "cifar") == []
    assert calls == []
    assert select("train.py", "data/val.csv", "notes.txt", "data/train", "/proc/self") == [
        "data/val.csv",
        "data/train",
    ]
    assert calls == [["data/val.csv", "notes.txt", "data/train"]]


@needs_setpriv
def test_run_refuses_an_unreadable_dataset_and_records_nothing(project: Path) -> None:
    (project / "data" / "train" / "b.png").chmod(0)
    argv = [*NO_DAC, REPRO, "run", "--data", "data", "train.py"]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True)
    assert done.returncode == 6
    assert done.stderr.splitlines()[-1].startswith("repro: error: file cannot be read: ")
    assert not (project / ".repro" / "runs").exists() or not any(
        (project / ".repro" / "runs").iterdir()
    )
    argv.insert(len(NO_DAC) + 2, "--skip-unreadable")
    assert subprocess.run(argv, cwd=project, capture_output=True).returncode == 0
    (data,) = record_of(project)["data"]
    assert data["skipped"] == ["unreadable: train/b.png (Permission denied)"]


def test_a_configured_data_path_that_is_missing_is_named(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.repro]\ndata = ["data/nope"]\n')
    commit_all(project, "configure data")
    done = repro(project, "run", "train.py")
    assert done.returncode == 6
    assert done.stderr == (
        "repro: error: data path not found: data/nope (check [tool.repro] data)\n"
    )


OUTPUT_FLAGS = ("--outf", "--work-dir", "--exp_dir", "--model-dir", "--run-dir")


def test_output_named_arguments_and_config_keys_are_never_data(project: Path) -> None:
    folders = [f"f{i}" for i in range(len(OUTPUT_FLAGS) + 3)]
    for folder in folders:
        (project / "out" / folder).mkdir()
        (project / "out" / folder / "model.pt").write_bytes(b"weights")
        os.symlink(f"out/{folder}", project / folder)  # ignored by git: a folder named `fN`
    (project / ".gitignore").write_text("data/\nout/\nf*\n")
    (project / "configs" / "o.yaml").write_text(
        f"train:\n  work_dir: {folders[-3]}\nhydra:\n  run:\n    dir: {folders[-2]}\n"
    )
    commit_all(project, "output config")
    flags = [a for flag, f in zip(OUTPUT_FLAGS, folders, strict=False) for a in (flag, f)]
    done = repro(
        project, "run", "train.py", *flags, "--config", "configs/o.yaml",
        f"hydra.sweep.dir={folders[-1]}", "data.root=data/train",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    picked = {d["path"]: d["origin"] for d in record_of(project)["data"]}
    assert picked == {"data/train": "argument data.root"}


def test_a_folder_the_run_writes_into_is_not_data_and_the_rerun_runs(make_repo: MakeRepo) -> None:
    writer = "import os, sys\nos.makedirs(sys.argv[2], exist_ok=True)\n"
    writer += "open(os.path.join(sys.argv[2], 'model.pt'), 'w').write('trained')\n"
    root = make_repo({"train.py": writer, ".gitignore": "state/\n"})
    (root / "state").mkdir()
    (root / "state" / "model.pt").write_text("from an earlier run")
    done = repro(root, "run", "train.py", "--init", "state")
    assert done.returncode == 0, done.stderr
    assert "repro: warning: state (argument --init) changed during the run: an output" in (
        done.stderr
    )
    assert record_of(root)["data"] == []
    rerun = repro(root, "rerun", "@")
    assert rerun.returncode == 0, rerun.stderr
    assert "data changed" not in rerun.stderr
