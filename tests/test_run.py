"""`repro run` end to end: the real CLI, real git repositories, real child processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import record_of, repro, run_dirs, start_long_run, start_run, store_bytes
from helpers.repos import MakeRepo, commit_all, git

from repro_run.capture import gpu

SCRIPT = """\
import json, os, sys
print("args", json.dumps(sys.argv[1:]))
print("python", sys.executable)
print("seed", os.environ.get("REPRO_SEED"), os.environ.get("PYTHONHASHSEED"))
print("run", os.environ.get("REPRO_RUN_ID"), os.environ.get("REPRO_RUN_DIR"))
os.makedirs("out", exist_ok=True)
open("out/model.bin", "wb").write(b"weights")
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "train.py": SCRIPT,
            "configs/cfg.yaml": "model:\n  hidden: 16\noptim:\n  lr: 0.1\n",
            ".gitignore": "out/\ndata/\n",
        }
    )
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_text("1,2\n")
    return root


def test_python_script_runs_under_repros_interpreter_and_is_recorded(project: Path) -> None:
    done = repro(project, "run", "train.py", "--config", "configs/cfg.yaml")
    assert done.returncode == 0, done.stderr
    assert f"python {sys.executable}" in done.stdout
    assert 'args ["--config", "configs/cfg.yaml"]' in done.stdout
    record = record_of(project)
    assert record["status"] == "succeeded"
    assert record["command"]["argv"] == ["train.py", "--config", "configs/cfg.yaml"]
    assert record["command"]["exec_argv"][0] == sys.executable
    assert record["command"]["cwd"] == "."
    assert record["schema_version"] == 1
    log = (run_dirs(project)[0] / "output.log").read_text()
    assert "args" in log and "python" in log


def test_exit_status_of_the_command_passes_through(project: Path) -> None:
    done = repro(project, "run", "train.py", env={"EXIT_WITH": "3"})
    assert done.returncode == 3
    assert record_of(project)["status"] == "failed"
    assert record_of(project)["process"]["exit_code"] == 3


def test_options_after_the_command_belong_to_the_command(project: Path) -> None:
    done = repro(project, "run", "--seed", "7", "train.py", "--seed", "9", "--allow-dirty")
    assert done.returncode == 0, done.stderr
    assert 'args ["--seed", "9", "--allow-dirty"]' in done.stdout
    assert "seed 7 7" in done.stdout


def test_double_dash_ends_repros_options(project: Path) -> None:
    done = repro(
        project, "run", "--", sys.executable, "-c", "import sys; print(sys.argv[1:])", "--data", "x"
    )
    assert done.returncode == 0, done.stderr
    assert "['--data', 'x']" in done.stdout


def test_seed_and_run_identity_are_injected_and_recorded(project: Path) -> None:
    done = repro(project, "run", "--seed", "7", "train.py")
    record = record_of(project)
    run_dir = run_dirs(project)[0]
    assert "seed 7 7" in done.stdout
    assert f"run {record['id']} {run_dir}" in done.stdout
    assert record["determinism"]["seed"] == 7 and record["determinism"]["seed_source"] == "cli"
    assert record["determinism"]["injected"]["PYTHONHASHSEED"] == "7"


def test_a_random_seed_is_drawn_and_recorded_when_none_is_given(project: Path) -> None:
    done = repro(project, "run", "train.py")
    record = record_of(project)
    seed = record["determinism"]["seed"]
    assert record["determinism"]["seed_source"] == "random"
    assert f"seed {seed} {seed}" in done.stdout


def test_code_state_is_captured_with_remote_credentials_stripped(project: Path) -> None:
    git(
        project,
        "remote",
        "add",
        "origin",
        "https://x-access-token:rpr_CANARY_remote@github.com/o/r.git",
    )
    git(project, "remote", "add", "mirror", "git@github.com:o/r.git")
    git(project, "tag", "v1.0")
    head = git(project, "rev-parse", "HEAD").strip()
    repro(project, "run", "train.py")
    code = record_of(project)["code"]
    assert code["commit"] == head and code["branch"] == "main" and code["describe"] == "v1.0"
    assert {r["name"]: r["url"] for r in code["remotes"]} == {
        "origin": "https://github.com/o/r.git",
        "mirror": "git@github.com:o/r.git",
    }
    assert b"rpr_CANARY_remote" not in store_bytes(project)


def test_config_among_arguments_is_parsed_and_stored(project: Path) -> None:
    repro(project, "run", "train.py", "--config", "configs/cfg.yaml")
    (config,) = record_of(project)["configs"]
    assert config["path"] == "configs/cfg.yaml" and config["format"] == "yaml"
    assert config["params"] == {"model.hidden": 16, "optim.lr": 0.1}
    stored = project / ".repro" / "objects" / config["object"][:2] / config["object"][2:]
    assert stored.read_bytes() == (project / "configs" / "cfg.yaml").read_bytes()


def test_data_is_fingerprinted(project: Path) -> None:
    repro(project, "run", "--data", "data", "train.py")
    (data,) = record_of(project)["data"]
    assert (data["path"], data["files"], data["bytes"]) == ("data", 1, 4)
    before = data["digest"]
    (project / "data" / "a.csv").write_text("1,3\n")
    repro(project, "run", "--data", "data", "train.py")
    assert record_of(project)["data"][0]["digest"] != before


def test_outputs_are_archived_once_by_content_even_when_the_command_fails(project: Path) -> None:
    repro(project, "run", "--outputs", "out", "train.py")
    repro(project, "run", "--outputs", "out", "train.py", env={"EXIT_WITH": "1"})
    first, second = record_of(project, "@~1"), record_of(project, "@")
    assert second["status"] == "failed"
    for record in (first, second):
        (out,) = record["outputs"]
        assert (out["path"], out["files"], out["bytes"]) == ("out", 1, 7)
    assert first["outputs"][0]["digest"] == second["outputs"][0]["digest"]
    objects = [
        p
        for p in (project / ".repro" / "objects").rglob("*")
        if p.is_file() and p.parent.name != "tmp"
    ]
    assert sum(p.read_bytes() == b"weights" for p in objects) == 1


def test_symlinks_in_outputs_are_recorded_not_followed(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "credentials"
    secret.write_text("rpr_CANARY_linked_secret")
    script = (
        f"import os; os.makedirs('out', exist_ok=True); os.symlink({str(secret)!r}, 'out/link')"
    )
    repro(project, "run", "--outputs", "out", "--", sys.executable, "-c", script)
    assert record_of(project)["outputs"][0]["files"] == 1
    assert b"rpr_CANARY_linked_secret" not in store_bytes(project)


def test_environment_is_allow_listed_and_secrets_redacted(project: Path) -> None:
    env = {
        "CUDA_VISIBLE_DEVICES": "0",
        "FOO": "1",
        "AWS_SECRET_ACCESS_KEY": "rpr_CANARY_aws_5f2c9e",
        "HF_TOKEN": "rpr_CANARY_hf_5f2c9e",
    }
    repro(project, "run", "train.py", env=env)
    captured = record_of(project)["env"]
    assert captured["values"]["CUDA_VISIBLE_DEVICES"] == "0"
    assert "FOO" in captured["names_only"]
    assert {"AWS_SECRET_ACCESS_KEY", "HF_TOKEN"} <= set(captured["redacted"])
    assert b"rpr_CANARY" not in store_bytes(project)


def test_secret_arguments_reach_the_child_but_not_the_record(project: Path) -> None:
    done = repro(
        project,
        "run",
        "train.py",
        "--hub_token",
        "rpr_CANARY_tok_5f2c9e",
        "--password=rpr_CANARY_pw_5f2c9e",
    )
    assert "rpr_CANARY_tok_5f2c9e" in done.stdout  # the child got the real value
    assert record_of(project)["command"]["argv"] == [
        "train.py",
        "--hub_token",
        "***",
        "--password=***",
    ]
    assert b"rpr_CANARY" not in store_bytes(project)


def test_environment_facets_are_captured(project: Path) -> None:
    repro(project, "run", "train.py")
    record = record_of(project)
    assert record["packages"]["count"] > 5
    assert record["packages"]["interpreter"] == sys.executable
    assert record["system"]["hostname"] and record["system"]["cpu_count_logical"] >= 1
    assert record["system"]["memory_total"] > 0
    if gpu.nvidia_driver_absent() is not None:  # CI: no driver, recorded with the reason
        assert "unavailable" in record["gpu"] and "driver" in record["gpu"]["unavailable"]
    else:  # a GPU machine: the driver and its devices
        assert record["gpu"]["driver_version"] and record["gpu"]["devices"]
    assert record["process"]["wall_time"] > 0 and record["process"]["cpu_time"] >= 0


def test_tool_repro_table_sets_defaults(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.repro]\ndata = ["data"]\noutputs = ["out"]\nseed = 11\n'
    )
    commit_all(project)
    done = repro(project, "run", "train.py")
    record = record_of(project)
    assert "seed 11 11" in done.stdout
    assert [d["path"] for d in record["data"]] == ["data"]
    assert [o["path"] for o in record["outputs"]] == ["out"]


def test_run_from_a_subdirectory_records_its_relative_cwd(project: Path) -> None:
    (project / "configs" / "job.py").write_text("print('hi')\n")
    commit_all(project)
    done = repro(project / "configs", "run", "job.py")
    assert done.returncode == 0, done.stderr
    assert record_of(project)["command"]["cwd"] == "configs"


def test_store_never_makes_the_tree_dirty(project: Path) -> None:
    assert repro(project, "run", "train.py").returncode == 0
    assert ".repro/" in (project / ".git" / "info" / "exclude").read_text()
    assert git(project, "status", "--porcelain", "--untracked-files=all") == ""
    assert repro(project, "run", "train.py").returncode == 0


def test_dirty_tree_is_refused_listing_paths_and_nothing_runs(project: Path) -> None:
    (project / "train.py").write_text(SCRIPT + "# edit\n")
    (project / "new_module.py").write_text("x = 1\n")
    done = repro(project, "run", "train.py")
    assert done.returncode == 4
    assert "train.py" in done.stderr and "new_module.py" in done.stderr
    assert "--allow-dirty" in done.stderr and "Traceback" not in done.stderr
    assert "args" not in done.stdout
    assert run_dirs(project) == []


def test_allow_dirty_runs_and_stores_a_binary_patch_with_untracked_files(project: Path) -> None:
    (project / "train.py").write_text(SCRIPT + "# edit\n")
    (project / "extra.bin").write_bytes(b"\x00\xff\x10")
    done = repro(project, "run", "--allow-dirty", "train.py")
    assert done.returncode == 0, done.stderr
    code = record_of(project)["code"]
    assert code["dirty"] is True and code["patch_object"]
    patch = (run_dirs(project)[0] / "patch.diff").read_bytes()
    assert b"GIT binary patch" in patch and b"extra.bin" in patch and b"# edit" in patch


def test_a_program_given_with_python_c_longer_than_a_file_name_runs(project: Path) -> None:
    """Arguments are checked as possible config and data paths: one over NAME_MAX (255 bytes)
    is no path, not an error."""
    program = "x = 1  # " + "a long comment " * 30 + "\nprint('ran', len(__doc__ or ''))"
    done = repro(project, "run", "--", sys.executable, "-c", program)
    assert done.returncode == 0, done.stderr
    assert "ran 0" in done.stdout and "internal error" not in done.stderr


def test_sigint_is_forwarded_and_the_run_is_interrupted(project: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "def stop(*_):\n    print('child got SIGINT', flush=True); sys.exit(130)\n"
        "signal.signal(signal.SIGINT, stop)\nprint('ready', flush=True)\ntime.sleep(30)\n"
    )
    proc = start_run(project, script, b"ready")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == -signal.SIGINT  # repro re-raises SIGINT so shell loops stop
    assert b"child got SIGINT" in out
    record = record_of(project)
    assert record["status"] == "interrupted" and record["process"]["exit_code"] == 130
    assert "child got SIGINT" in (run_dirs(project)[0] / "output.log").read_text()


def test_a_killed_supervisor_shows_as_crashed(project: Path) -> None:
    proc = start_long_run(project)
    assert json.loads(repro(project, "list", "--json").stdout)[0]["status"] == "running"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while json.loads(repro(project, "list", "--json").stdout)[0]["status"] != "crashed":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_python_dash_m_repro_run_is_the_cli(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "repro_run", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "repro" in done.stdout


def test_the_child_reads_piped_stdin(project: Path) -> None:
    done = repro(
        project, "run", "--", sys.executable, "-c", "print(input()[::-1])", input=b"olleh\n"
    )
    assert done.stdout.startswith("hello")


def test_repro_home_moves_the_store(project: Path, tmp_path: Path) -> None:
    home = {"REPRO_HOME": str(tmp_path / "elsewhere")}
    assert repro(project, "run", "train.py", env=home).returncode == 0
    assert (tmp_path / "elsewhere" / "runs").is_dir() and not (project / ".repro").exists()
    assert len(json.loads(repro(project, "list", "--json", env=home).stdout)) == 1


def test_run_directory_holds_the_record_log_and_lock_only(project: Path) -> None:
    """Nothing half-written: no temp files anywhere in the store after a run."""
    repro(project, "run", "train.py")
    names = sorted(p.name for p in run_dirs(project)[0].iterdir())
    assert names == ["facts", "lock", "output.log", "run.json"]  # facts/: the hook's files
    assert not [p for p in (project / ".repro").rglob("*.tmp*")]
    assert os.access(run_dirs(project)[0] / "run.json", os.R_OK)
