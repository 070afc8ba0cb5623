"""The causes a rerun's verdict ranks: only what differs between the records and could matter."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

# The same curve for two steps, then an RNG nobody seeds: DIVERGED on every rerun.
UNSEEDED = """\
import random
import repro_run
rng = random.Random()
for step in range(1, 4):
    repro_run.log_metrics(step=step, value=float(step) if step < 2 else rng.random())
"""


def test_a_slurm_variable_the_rerun_does_not_replay_is_never_a_cause(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"noisy.py": UNSEEDED})
    env = {"SLURM_JOB_ID": "1001", "SLURM_NTASKS": "1"}
    assert repro(root, "run", "noisy.py", env=env).returncode == 0
    done = repro(root, "rerun", "@", env={"SLURM_JOB_ID": "2002"})
    assert done.returncode == 21, done.stderr
    assert record_of(root)["env"]["values"]["SLURM_JOB_ID"] == "2002"  # a real difference
    assert record_of(root)["verdict"]["causes"] == []
    assert "SLURM" not in done.stdout


def _distribution(site: Path, name: str, version: str) -> None:
    """An installed distribution `name` (module `name`) at `version`, as pip leaves one."""
    for old in site.glob(f"{name}-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")
    (site / name).mkdir(exist_ok=True)
    (site / name / "__init__.py").write_text("")


def test_only_a_changed_package_that_the_program_imported_is_a_cause(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    for name in ("usedcalc", "unusedcalc"):
        _distribution(site, name, "1.0")
    root = make_repo({"noisy.py": "import usedcalc\n" + UNSEEDED})
    env = {"PYTHONPATH": str(site)}
    assert repro(root, "run", "noisy.py", env=env).returncode == 0
    for name in ("usedcalc", "unusedcalc"):
        _distribution(site, name, "2.0")
    done = repro(root, "rerun", "@", env=env)
    assert done.returncode == 21, done.stderr
    compared = repro(root, "diff", "@~1", "@", "--json").stdout
    assert "unusedcalc" in compared  # the records do differ there
    assert record_of(root)["verdict"]["causes"] == ["packages: usedcalc 1.0 → 2.0 (upgraded)"]


@pytest.mark.slow
def test_a_changed_cuda_library_wheel_is_a_cause_when_a_framework_ran(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """torch loads the nvidia-* wheels (cuBLAS, cuDNN) by path, never by import."""
    site = tmp_path / "site"
    _distribution(site, "nvidia_cublas_cu99", "1.0")
    root = make_repo({"noisy.py": "import torch\n" + UNSEEDED})
    env = {"PYTHONPATH": str(site)}
    assert repro(root, "run", "noisy.py", env=env).returncode == 0
    _distribution(site, "nvidia_cublas_cu99", "2.0")
    done = repro(root, "rerun", "@", env=env, timeout=180)
    assert done.returncode == 21, done.stderr
    causes = record_of(root)["verdict"]["causes"]
    assert any("nvidia" in cause and "1.0 → 2.0" in cause for cause in causes), causes
