"""The exit status in a rerun's verdict (issue 16, item 9): a changed one is said first, a
failure that reproduced is named as such. Real CLI, real repositories, real children."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

from repro_run.models import FAILED
from repro_run.verdict.decide import Evidence, decide
from repro_run.verdict.logs import compare_logs

# EXIT_WITH is not a recorded variable: a rerun sees this shell's value, so the test decides
# how each side ends. The logged loss depends on it too, so the metrics differ as well.
SCRIPT = """\
import os, sys
import repro_run
code = int(os.environ.get("EXIT_WITH", "0"))
repro_run.log_metrics(step=1, loss=0.5 + code)
print("exiting", code)
sys.exit(code)
"""


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": SCRIPT})


def verdict_lines(root: Path, exit_first: str, exit_rerun: str) -> list[str]:
    repro(root, "run", "train.py", env={"EXIT_WITH": exit_first})
    original = str(record_of(root)["id"])
    done = repro(root, "rerun", original, env={"EXIT_WITH": exit_rerun})
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(("DIVERGED", "FAILED")))
    return lines[start:]


def test_a_changed_exit_status_is_the_first_thing_the_verdict_says(project: Path) -> None:
    lines = verdict_lines(project, "2", "0")
    assert lines[0].startswith("DIVERGED: exit status 2 → 0: rerun ")
    assert lines[1] == "  the original failed (exit 2); the rerun succeeded (exit 0)"


def test_a_run_that_now_fails_says_its_exit_status_first(project: Path) -> None:
    lines = verdict_lines(project, "0", "1")
    assert lines[0].startswith("FAILED: exit status 0 → 1: rerun ")


def test_a_failure_that_reproduced_with_another_log_says_both() -> None:
    log_differs = compare_logs(["loss 1"], ["loss 2"], 1e-5, 1e-8)
    evidence = Evidence(FAILED, 2, FAILED, 2, 0, (), False, None, log_differs)
    verdict = decide(evidence, [], 1e-5, 1e-8)
    assert verdict.outcome == "DIVERGED"
    assert verdict.reason == "the failure reproduced (exit 2), but the log differs from line 1"
