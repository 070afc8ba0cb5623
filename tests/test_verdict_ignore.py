"""What a rerun's verdict sets aside: log files' wall-time columns and keys, and the output files
the user ignores (`repro rerun --ignore`, `[tool.repro] ignore`). Real repos, the real CLI."""

from __future__ import annotations

from pathlib import Path

from helpers.cli import assert_one_line_error, record_of, repro
from helpers.repos import MakeRepo

# Deterministic losses, and each row's wall-clock time: the rows differ only in `time`.
CSV_LOG = """\
import csv, os, sys, time
noise = os.urandom(2)[0] / 1000 if "--unseeded" in sys.argv else 0.0
os.makedirs("out", exist_ok=True)
with open("out/metrics.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["step", "loss", "time"])
    for step in range(1, 4):
        writer.writerow([step, 1.0 / step + (noise if step == 3 else 0.0), time.time()])
"""
# JSON lines and a JSON summary with durations, beside a fixed result.
JSON_LOGS = """\
import json, os, time
os.makedirs("out", exist_ok=True)
start = time.perf_counter()
with open("out/log.jsonl", "w") as f:
    for step in range(1, 4):
        f.write(json.dumps({"step": step, "acc": step / 4, "elapsed": time.perf_counter() - start}) + "\\n")
json.dump({"best": {"acc": 0.75, "epoch_duration": time.perf_counter() - start}}, open("out/summary.json", "w"))
"""
# A fixed result, and a file of random bytes under logs/ (a tracker's run folder, say).
RANDOM_LOG = """\
import os, sys
os.makedirs("out", exist_ok=True)
os.makedirs("logs/run-x", exist_ok=True)
result = os.urandom(4).hex() if "--random-result" in sys.argv else "42"
open("out/result.txt", "w").write(result)
open("logs/run-x/events.bin", "wb").write(os.urandom(64))
"""


def _project(make_repo: MakeRepo, pyproject: str = "") -> Path:
    files = {
        "csv_log.py": CSV_LOG,
        "json_logs.py": JSON_LOGS,
        "random_log.py": RANDOM_LOG,
        ".gitignore": "out/\nlogs/\n",
    }
    if pyproject:
        files["pyproject.toml"] = pyproject
    return make_repo(files)


def _run(root: Path, *args: str) -> None:
    done = repro(root, "run", *args)
    assert done.returncode == 0, done.stderr


def test_a_csv_log_differing_only_in_its_time_column_reruns_identical(
    make_repo: MakeRepo,
) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "csv_log.py")
    done = repro(root, "rerun", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IDENTICAL" in done.stdout and "nondeterministic" not in done.stdout
    assert "out/metrics.csv: equal but for its time column" in done.stdout
    verdict = record_of(root)["verdict"]
    assert verdict["outputs_differ"] == [] and verdict["causes"] == []


def test_a_csv_log_whose_loss_changed_diverges(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "csv_log.py", "--unseeded")
    done = repro(root, "rerun", "@")
    assert done.returncode == 21, done.stdout + done.stderr
    assert "DIVERGED" in done.stdout
    assert "~ out/metrics.csv" in done.stdout and "equal but for" not in done.stdout


def test_json_logs_differing_only_in_durations_rerun_identical(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "json_logs.py")
    done = repro(root, "rerun", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "out/log.jsonl: equal but for its elapsed key" in done.stdout
    assert "out/summary.json: equal but for its epoch_duration key" in done.stdout


def test_without_ignore_a_random_file_under_logs_diverges(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "--outputs", "logs", "random_log.py")
    done = repro(root, "rerun", "@")
    assert done.returncode == 21, done.stdout + done.stderr
    assert "~ logs/run-x/events.bin" in done.stdout


def test_ignore_option_sets_files_aside_and_the_verdict_lists_them(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "--outputs", "logs", "random_log.py")
    done = repro(root, "rerun", "--ignore", "logs/**", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IDENTICAL" in done.stdout
    assert "output files ignored (1), not compared:" in done.stdout
    assert "logs/run-x/events.bin (--ignore logs/**)" in done.stdout
    record = record_of(root)
    assert record["verdict"]["ignore"] == ["--ignore logs/**"]
    assert record["verdict"]["outputs_ignored"] == ["logs/run-x/events.bin (--ignore logs/**)"]
    assert record["verdict"]["outputs_compared"] == 1  # out/result.txt; still archived:
    assert "logs" in [tree["path"] for tree in record["outputs"]]


def test_tool_repro_ignore_sets_files_aside_and_names_itself(make_repo: MakeRepo) -> None:
    root = _project(make_repo, '[tool.repro]\nignore = ["*.bin"]\n')
    _run(root, "--outputs", "out", "--outputs", "logs", "random_log.py")
    done = repro(root, "rerun", "@")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "logs/run-x/events.bin ([tool.repro] ignore *.bin)" in done.stdout
    assert record_of(root)["verdict"]["ignore"] == ["[tool.repro] ignore *.bin"]
    shown = repro(root, "show", "@").stdout
    assert "[tool.repro] ignore *.bin" in shown


def test_a_changed_file_that_no_pattern_matches_still_diverges(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "--outputs", "logs", "random_log.py", "--random-result")
    done = repro(root, "rerun", "--ignore", "logs/**", "--ignore", "*.txt.bak", "@")
    assert done.returncode == 21, done.stdout + done.stderr
    assert "~ out/result.txt" in done.stdout


def test_a_negated_ignore_pattern_is_refused_before_the_rerun(make_repo: MakeRepo) -> None:
    root = _project(make_repo)
    _run(root, "--outputs", "out", "random_log.py")
    done = repro(root, "rerun", "--ignore", "!keep.txt", "@")
    assert_one_line_error(done, 2, "--ignore", "negation")


def test_a_malformed_tool_repro_ignore_is_refused_naming_the_key(make_repo: MakeRepo) -> None:
    root = _project(make_repo, '[tool.repro]\nignore = ["!keep.txt"]\n')
    done = repro(root, "run", "--outputs", "out", "random_log.py")
    assert_one_line_error(done, 5, "[tool.repro] ignore", "negation")
