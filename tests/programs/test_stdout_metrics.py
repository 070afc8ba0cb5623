"""A training loop that only prints its progress (`step 10 loss 0.5312 (1.9 ms/step)`), run and
rerun through repro: the printed numbers are its metrics and its log the evidence, the timing
masked; an unseeded term in the loss must still fail the rerun on the loss curve."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.cli import record_of
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

# Least squares by gradient descent, as a tutorial writes it: NumPy, a fixed seed, a print
# every 10 steps with the time a step took.
TRAIN = """\
import os, sys, time
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3))
y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=64)
w = np.zeros(3)
for step in range(1, 51):
    started = time.perf_counter()
    loss = float(np.mean((X @ w - y) ** 2))
    if sys.argv[1] == "noisy":
        loss += int.from_bytes(os.urandom(8), "big") / 2**64  # unseeded
    w -= 0.05 * 2 * X.T @ (X @ w - y) / len(y)
    if step % 10 == 0:
        took = (time.perf_counter() - started) * 1000
        print(f"step {step} loss {loss:.4f} ({took:.1f} ms/step)")
"""

pytestmark = pytest.mark.slow  # NumPy in a run and a rerun through repro: ~3.5 s a test here


def _rerun_of(project: Path, variant: str) -> Rerun:
    return run_then_rerun(project, "--", sys.executable, "train.py", variant)


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    return make_repo({"train.py": TRAIN})


def test_printed_step_and_loss_lines_rerun_identical(project: Path) -> None:
    out = assert_identical(_rerun_of(project, "fixed"))
    assert "5 metric value(s) bitwise equal" in out
    metrics = record_of(project)["metrics"]
    assert metrics["source"] == "stdout" and set(metrics["final"]) == {"loss"}


def test_an_unseeded_term_in_a_printed_loss_diverges_on_the_loss_curve(project: Path) -> None:
    out = assert_diverged(_rerun_of(project, "noisy"))
    assert "the loss curves part at step 10" in out
