"""A training script that crashes, run and rerun through repro: a failure that happens again the
same way reproduced (and the verdict says that first); one whose exit status changed did not,
and the changed status is the first thing the verdict says."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.programs import assert_identical, run_then_rerun, verdict_of
from helpers.repos import MakeRepo

# It logs its loss, checkpoints, and stops on a diverging loss with exit status 3. Run again,
# it resumes from the marker its last attempt left in the user's cache (outside the project,
# as caches are), so a second attempt exits 4: what a rerun cannot know about.
TRAIN = """\
import json, os, sys
from pathlib import Path

marker = Path(os.environ["XDG_CACHE_HOME"]) / "toy" / "attempted"
resumed = sys.argv[1] == "resumes" and marker.exists()
marker.parent.mkdir(parents=True, exist_ok=True)
marker.touch()
os.makedirs("out", exist_ok=True)
loss = 1.0
with open("out/metrics.jsonl", "w") as log:
    for step in range(6):
        loss *= 0.5 if step < 4 else 40.0
        log.write(json.dumps({"step": step, "loss": loss}) + "\\n")
        print(f"step {step} loss {loss:.4f}")
        if loss > 1.0:
            print("loss diverged: stopping", file=sys.stderr)
            sys.exit(4 if resumed else 3)
"""

pytestmark = pytest.mark.slow  # a run and a rerun through repro: ~4 s a test here


@pytest.fixture
def project(make_repo: MakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return make_repo({"train.py": TRAIN, ".gitignore": "out/\n"})


def test_a_failure_that_happens_again_reproduced_and_says_so_first(project: Path) -> None:
    command = ("--outputs", "out", "--", sys.executable, "train.py", "always")
    verdict = assert_identical(run_then_rerun(project, *command, exit=3))
    assert verdict.startswith("IDENTICAL: the failure reproduced (exit 3)"), verdict
    assert "1 output file(s) and 5 metric value(s) bitwise equal" in verdict


def test_a_changed_exit_status_is_the_first_thing_the_verdict_says(project: Path) -> None:
    command = ("--outputs", "out", "--", sys.executable, "train.py", "resumes")
    rerun = run_then_rerun(project, *command, exit=3)
    verdict = verdict_of(rerun)
    assert rerun.code == 21 and verdict.startswith("DIVERGED: exit status 3 → 4: "), verdict
    assert "the original failed (exit 3); the rerun failed (exit 4)" in verdict
