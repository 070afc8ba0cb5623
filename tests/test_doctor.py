"""`repro doctor` through the real CLI on real repositories; the GPU checks on records."""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import repro
from helpers.repos import MakeRepo

from repro_run.audit.code import scan_source
from repro_run.audit.machine import gpu_findings
from repro_run.models import GpuDevice, GpuInfo, Unavailable

CARELESS = """\
import numpy as np
import torch
from torch.utils.data import DataLoader

torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
rng = np.random.default_rng()
loader = DataLoader(range(10), shuffle=True, num_workers=2)
"""

CAREFUL = """\
import numpy as np
import repro_run
import torch
from torch.utils.data import DataLoader

seed = repro_run.seed_everything()
rng = np.random.default_rng(seed)
loader = DataLoader(range(10), shuffle=True, num_workers=2,
                    generator=torch.Generator().manual_seed(seed),
                    worker_init_fn=repro_run.worker_init_fn)
"""


def doctor(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = repro(root, "doctor", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def by_code(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in report["findings"]}


@pytest.fixture
def careless(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "train.py": CARELESS,
            "requirements.txt": "numpy>=1.26\ntorch==2.13.0\n# pinned\n",
            ".gitignore": "data/\n",
        }
    )
    (root / "data").mkdir()  # not in git, not declared
    (root / "data" / "x.csv").write_text("1\n")
    (root / "train.py").write_text(CARELESS + "# edited\n")  # dirty
    return root


def test_doctor_finds_each_problem_with_evidence_and_fix(careless: Path) -> None:
    found = by_code(doctor(careless, env={"TF_DETERMINISTIC_OPS": "0"}))
    assert found["dirty-tree"]["evidence"] == ["modified: train.py"]
    assert found["cudnn-benchmark"]["evidence"] == [
        "train.py:5: torch.backends.cudnn.benchmark = True"
    ]
    assert found["tf32-on"]["evidence"] == [
        "train.py:6: torch.backends.cuda.matmul.allow_tf32 = True"
    ]
    assert found["unseeded-generator"]["evidence"] == ["train.py:7: rng = np.random.default_rng()"]
    assert found["dataloader-unseeded"]["evidence"][0].startswith(
        "train.py:8: loader = DataLoader("
    )
    assert found["unpinned-dependencies"]["evidence"] == ["requirements.txt:1: numpy>=1.26"]
    assert found["unpinned-dependencies"]["title"].startswith("1 dependency without")
    assert "data/ looks like data and is not in git" in found["undeclared-data"]["evidence"]
    assert found["determinism-overridden"]["evidence"] == [
        "TF_DETERMINISTIC_OPS=0 (repro would set 1)"
    ]
    for finding in found.values():
        assert finding["severity"] in ("high", "medium", "low") and finding["fix"]
        assert finding["factor"] in ("algorithmic", "implementation", "observation")
    severities = [f["severity"] for f in doctor(careless)["findings"]]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)


def test_a_careful_project_has_none_of_those_findings(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "train.py": CAREFUL,
            "requirements.txt": "numpy==2.4.6\n",
            "pyproject.toml": '[tool.repro]\ndata = ["data"]\nseed = 0\n',
            ".gitignore": "data/\n",
        }
    )
    (root / "data").mkdir()
    found = by_code(doctor(root, env={"OMP_NUM_THREADS": "2"}))
    assert set(found) <= {"gpus-differ-from-runs", "mixed-gpus"}  # none on this machine


def test_human_output_and_strict_exit_code(careless: Path) -> None:
    done = repro(careless, "doctor")
    assert done.returncode == 0
    assert "HIGH dirty-tree" in done.stdout and "fix:" in done.stdout
    strict = repro(careless, "doctor", "--strict")
    assert strict.returncode == 1 and "findings (--strict)" in strict.stderr


def test_strict_passes_when_nothing_is_found(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "uv.lock": "",
            "pyproject.toml": '[tool.repro]\ndata = ["uv.lock"]\nseed = 1\n',
        }
    )
    done = repro(root, "doctor", "--strict", env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings." in done.stdout


def test_outside_a_repository_the_missing_commit_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("torch.backends.cudnn.benchmark = True\n")
    found = by_code(doctor(tmp_path))
    assert found["no-commit"]["severity"] == "high"
    assert found["cudnn-benchmark"]["evidence"] == [
        "train.py:1: torch.backends.cudnn.benchmark = True"
    ]


def test_recorded_facts_of_a_cuda_run_are_audited(make_repo: MakeRepo) -> None:
    root = make_repo({"x.py": "print(1)\n"})
    assert repro(root, "run", "x.py").returncode == 0
    # No GPU here: rewrite the recorded facts as a CUDA run with autotuning on would leave them.
    (record_path,) = (root / ".repro" / "runs").glob("*/run.json")
    record = json.loads(record_path.read_text())
    record["facts"]["processes"][0]["facts"].update(
        {"torch.devices": "cuda (1 visible)", "torch.cudnn.benchmark": True}
    )
    record_path.write_text(json.dumps(record))
    found = by_code(doctor(root))
    assert found["cudnn-benchmark"]["evidence"][0].endswith("cudnn.benchmark was True")


def _gpu(*devices: tuple[str, int], driver: str = "550.54") -> GpuInfo:
    return GpuInfo(
        driver,
        "12.4",
        tuple(
            GpuDevice(i, name, f"GPU-{i}", 80 << 30, "9.0", sms)
            for i, (name, sms) in enumerate(devices)
        ),
    )


def test_gpus_with_different_sm_counts_are_flagged() -> None:
    (finding,) = gpu_findings(_gpu(("H100", 132), ("H100 PCIe", 114)), [])
    assert finding.code == "mixed-gpus" and finding.severity == "high"
    assert "114 SMs" in finding.evidence[1]
    assert gpu_findings(_gpu(("H100", 132), ("H100", 132)), []) == []


def test_gpus_or_drivers_that_differ_from_recorded_runs_are_flagged() -> None:
    now = _gpu(("H100", 132))
    (finding,) = gpu_findings(now, [("abc", _gpu(("A100", 108), driver="535.104"))])
    assert finding.code == "gpus-differ-from-runs"
    assert (
        "run abc: driver 535.104" in finding.evidence[0]
        and "now driver 550.54" in finding.evidence[0]
    )
    assert gpu_findings(now, [("same", _gpu(("H100", 132)))]) == []
    assert gpu_findings(Unavailable("no driver"), [("abc", now)]) == []


def test_code_scan_ignores_seeded_and_unparsable_code() -> None:
    assert scan_source("a.py", CAREFUL) == []
    assert scan_source("b.py", "def broken(:\n") == []
    assert scan_source("c.py", "DataLoader(ds, **options)\n") == []


def test_data_given_with_dash_dash_data_to_recorded_runs_counts_as_declared(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"x.py": "print(1)\n", ".gitignore": "data/\n"})
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("1\n")
    assert "undeclared-data" in by_code(doctor(root))
    assert repro(root, "run", "--data", "data", "x.py").returncode == 0
    assert "undeclared-data" not in by_code(doctor(root))


CLICK = version("click")


def test_installed_versions_that_miss_a_requirement_are_reported(make_repo: MakeRepo) -> None:
    root = make_repo(
        {"requirements.txt": "click<1\nclick>=1\nno-such-package-xyz==1.0\n", "uv.lock": ""}
    )
    found = by_code(doctor(root))
    assert found["requirement-not-met"]["evidence"] == [
        f"requirements.txt:1: click<1 (installed {CLICK})",
        "requirements.txt:3: no-such-package-xyz==1.0 (not installed)",
    ]
    assert found["requirement-not-met"]["title"].startswith("2 declared requirements not met")


def test_every_dependency_declaration_is_compared(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "requirements.txt": "-r requirements/base.txt\n",
            "requirements/base.txt": "--requirement=../requirements-dev.txt\nclick>=1\n",
            "requirements-dev.txt": "-r requirements.txt\nclick < 1.0\n",  # a cycle: read once
            "pyproject.toml": '[project]\nname = "p"\ndependencies = ["click<1"]\n\n'
            '[project.optional-dependencies]\ngpu = ["no-such-extra-xyz", "click<0.5"]\n',
            "setup.cfg": "[options]\ninstall_requires =\n    click>=1\n    click==0.1\n",
            "environment.yml": "name: p\ndependencies:\n  - python=2.7\n  - cudatoolkit=11.8\n"
            "  - click=0.2\n  - pip\n  - pip:\n    - click<0.3\n",
            "Pipfile": '[packages]\nclick = "<0.4"\nno-such-package-xyz = "*"\n',
        }
    )
    found = by_code(doctor(root))
    evidence = found["requirement-not-met"]["evidence"]
    assert evidence == [
        f"requirements-dev.txt:2: click < 1.0 (installed {CLICK})",
        f"pyproject.toml:3: click<1 (installed {CLICK})",
        f"pyproject.toml:6: click<0.5 (installed {CLICK})",  # an extra: checked when installed
        f"setup.cfg:4: click==0.1 (installed {CLICK})",
        f"environment.yml:3: python=2.7 (installed {platform.python_version()})",
        f"environment.yml:5: click=0.2 (installed {CLICK})",
        f"environment.yml:8: click<0.3 (installed {CLICK})",
        f"Pipfile:2: click<0.4 (installed {CLICK})",
        "Pipfile:3: no-such-package-xyz (not installed)",
    ]  # not reported: the uninstalled extra, cudatoolkit (conda, maybe not Python), `pip`


def test_requirements_whose_markers_do_not_apply_here_are_skipped(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "requirements.txt": "click<1; python_version < '3'\n"
            'no-such-package-xyz; sys_platform == "win32"\n'
            "no-such-package-abc; python_version >= '3'\n",
            "uv.lock": "",
        }
    )
    found = by_code(doctor(root))
    assert found["requirement-not-met"]["evidence"] == [
        "requirements.txt:3: no-such-package-abc; python_version >= '3' (not installed)"
    ]


def test_an_include_outside_the_repository_is_not_read(make_repo: MakeRepo) -> None:
    root = make_repo({"requirements.txt": "-r ../outside.txt\nclick>=1\n"})
    (root.parent / "outside.txt").write_text("no-such-package-xyz\n")
    assert "requirement-not-met" not in by_code(doctor(root))


def test_a_project_without_data_has_no_undeclared_data_finding(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": 'print("training")\nopen("results.json", "w")\n', "uv.lock": ""})
    (root / "empty_data").mkdir()  # named like data, but nothing in it
    (root / "results.json").write_text("{}")  # an output: not named like data
    assert "undeclared-data" not in by_code(doctor(root))


def test_an_untracked_data_file_the_code_names_is_undeclared_data(make_repo: MakeRepo) -> None:
    root = make_repo(
        {
            "train.py": 'import csv\nrows = open("inputs/train.csv").read()\n',
            ".gitignore": "inputs/\n",
        }
    )
    (root / "inputs").mkdir()
    (root / "inputs" / "train.csv").write_text("1\n")
    found = by_code(doctor(root))
    assert found["undeclared-data"]["evidence"] == [
        "no [tool.repro] data in pyproject.toml",
        "train.py:2 names inputs/train.csv, which is not in git",
    ]
