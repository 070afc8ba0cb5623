"""Hydra programs with the real hydra-core: outputs paired across run and rerun by their
date folders and job numbers, Hydra's timestamps masked, its composed config recorded."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

APP = """\
import logging
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

log = logging.getLogger(__name__)


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    noise = NOISE
    log.info("timeout %s", cfg.db.timeout)
    out = Path(HydraConfig.get().runtime.output_dir)
    (out / "result.txt").write_text(f"{cfg.db.timeout * 2 + noise}\\n")
    log.info("wrote result %s", cfg.db.timeout * 2 + noise)


main()
"""
CONFIG = "db:\n  timeout: 3\n  host: localhost\n"


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo(
        {
            "app.py": APP.replace("NOISE", "0"),
            "noisy.py": APP.replace("NOISE", 'int.from_bytes(os.urandom(8), "big")'),
            "conf/config.yaml": CONFIG,
            ".gitignore": "outputs/\nmultirun/\n",
        }
    )


def _run_then_rerun(project: Path, *command: str, outputs: str = "outputs") -> Rerun:
    # Hydra names its folders to the second: the rerun's must be another.
    return run_then_rerun(project, "--outputs", outputs, "--", sys.executable, *command, pause=1.1)


def _folders(project: Path, top: str) -> list[str]:
    return sorted(p.relative_to(project / top).as_posix() for p in (project / top).glob("*/*"))


@pytest.mark.slow
def test_a_hydra_rerun_pairs_its_date_folder_and_is_identical(project: Path) -> None:
    # An earlier run, outside repro, left its folder in outputs/ as every Hydra run does.
    subprocess.run([sys.executable, "app.py", "db.timeout=4"], cwd=project, check=True)
    time.sleep(1.1)
    out = assert_identical(_run_then_rerun(project, "app.py", "db.timeout=5"))
    earlier, original = _folders(project, "outputs")
    assert f"outputs/{original}/ ↔ outputs/" in out
    assert "app.log: equal but for its timestamps" in out
    assert earlier not in out  # neither archived nor compared: not this run's


@pytest.mark.slow
def test_a_hydra_rerun_with_a_random_result_diverges_naming_the_paired_file(
    project: Path,
) -> None:
    out = assert_diverged(_run_then_rerun(project, "noisy.py", "db.timeout=5"))
    differ = out.split("output files that differ (2):", 1)[1].splitlines()[1:3]
    names = [line.strip().rsplit("/", 1)[1] for line in differ]
    assert names == ["noisy.log", "result.txt"] and "↔" in out, out  # the job log logs it
    assert all(line.strip().startswith("~ outputs/") for line in differ), out


@pytest.mark.slow
def test_a_hydra_multirun_pairs_its_jobs_by_number(project: Path) -> None:
    out = assert_identical(
        _run_then_rerun(project, "app.py", "-m", "db.timeout=5,7", outputs="multirun")
    )
    (original,) = _folders(project, "multirun")
    # Each job's result (10, then 14) equals its namesake's only: a mix-up would diverge.
    assert f"multirun/{original}/ ↔ multirun/" in out
    assert "/0/app.log: equal but for its timestamps" in out


@pytest.mark.slow
def test_a_hydra_multirun_with_a_random_result_diverges_naming_each_jobs_result(
    project: Path,
) -> None:
    out = assert_diverged(
        _run_then_rerun(project, "noisy.py", "-m", "db.timeout=5,7", outputs="multirun")
    )
    differ = out.split("output files that differ (4):", 1)[1].splitlines()[1:5]
    jobs = [line.rsplit("/", 2)[1:] for line in differ]
    assert jobs == [[job, name] for job in "01" for name in ("noisy.log", "result.txt")], out


@pytest.mark.slow
def test_a_hydra_multirun_without_outputs_is_judged_on_its_log_not_on_its_overrides(
    project: Path,
) -> None:
    command = ("--", sys.executable, "noisy.py", "-m", "db.timeout=5,7")
    out = assert_diverged(run_then_rerun(project, *command, pause=1.1))
    assert "judged on the log" in out and "wrote result" in out


def _run(project: Path, *command: str) -> None:
    done = repro(project, "run", "--", sys.executable, *command, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_repro_diff_of_two_hydra_runs_names_the_changed_key_of_the_composed_config(
    project: Path,
) -> None:
    _run(project, "app.py", "db.timeout=5")
    time.sleep(1.1)
    _run(project, "app.py", "db.timeout=7")
    done = repro(project, "diff", "@~1", "@", env={"COLUMNS": "200"})
    config = done.stdout.split("Config", 1)[1].split("\n\n", 1)[0]
    assert "outputs/<date>/<time>/.hydra/config.yaml: db.timeout" in config, done.stdout
    assert "5 → 7" in config and "db.host" not in config


@pytest.mark.slow
def test_each_job_of_a_hydra_multirun_records_its_composed_config(project: Path) -> None:
    _run(project, "app.py", "-m", "db.timeout=5,7")
    configs = {c["path"]: c["params"] for c in record_of(project)["configs"]}
    (sweep,) = _folders(project, "multirun")
    assert configs[f"multirun/{sweep}/0/.hydra/config.yaml"]["db.timeout"] == 5
    assert configs[f"multirun/{sweep}/1/.hydra/config.yaml"]["db.timeout"] == 7
    assert configs[f"multirun/{sweep}/1/.hydra/overrides.yaml"]["value"] == ["db.timeout=7"]


@pytest.mark.slow
def test_a_secret_hydra_override_is_masked_in_the_recorded_composed_config(
    project: Path,
) -> None:
    secret = "hunter2-Secret-Value"
    _run(project, "app.py", f"+db.password={secret}")
    configs = {c["path"].rsplit("/", 1)[-1]: c for c in record_of(project)["configs"]}
    assert configs["config.yaml"]["params"]["db.password"] != secret
    assert "db.password" in configs["config.yaml"]["params"]
    store = project / ".repro"
    leaked = [p for p in store.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaked == []
