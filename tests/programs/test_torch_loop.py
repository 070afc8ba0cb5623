"""A plain PyTorch training loop, run and rerun through repro: into a folder named by its start
time (`out/20261208-005123/`, as TensorFlow's tutorials name log folders), `torch.save`
checkpoints of the model and optimizer each epoch and a JSON-lines log with a wall-time column;
the folders pair, the checkpoints rerun bit for bit and the log equal but for its times, and an
unseeded term in the loss still fails the rerun on the loss curve and the checkpoints."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

TRAIN = """\
import json, os, sys, time
from datetime import datetime
import torch
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
X = torch.randn(64, 4)
y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(64)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
run_dir = os.path.join("out", datetime.now().strftime("%Y%m%d-%H%M%S"))
os.makedirs(os.path.join(run_dir, "checkpoints"))
step = 0
with open(os.path.join(run_dir, "metrics.jsonl"), "w") as log:
    for epoch in range(3):
        for xb, yb in loader:
            started = time.time()
            loss = torch.nn.functional.mse_loss(model(xb).squeeze(1), yb)
            if sys.argv[1] == "noisy":  # unseeded
                loss = loss * (1 + int.from_bytes(os.urandom(8), "big") / 2**64 / 100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            row = {"step": step, "loss": loss.item(), "time": time.time() - started}
            log.write(json.dumps(row) + "\\n")
        state = {"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
        torch.save(state, os.path.join(run_dir, "checkpoints", f"epoch_{epoch}.pt"))
"""
pytestmark = pytest.mark.slow  # torch imports in ~3 s: a run and a rerun a test
RUN_DIR = r"out/\d{8}-\d{6}"  # the start time, to the second


def _rerun_of(make_repo: MakeRepo, variant: str) -> tuple[Path, Rerun]:
    root = make_repo({"train.py": TRAIN, ".gitignore": "out/\n"})
    command = ("--outputs", "out", "--", sys.executable, "train.py", variant)
    return root, run_then_rerun(root, *command, pause=1.1)  # the rerun's folder: another second


def test_torch_checkpoints_and_a_timed_metrics_log_rerun_identical(make_repo: MakeRepo) -> None:
    root, rerun = _rerun_of(make_repo, "fixed")
    out = assert_identical(rerun)
    assert "4 output file(s) and 12 metric value(s) equal" in out
    assert re.search(f"{RUN_DIR}/ ↔ {RUN_DIR}/\n", out), out
    assert re.search(f"{RUN_DIR}/metrics.jsonl: equal but for its time key\n", out), out
    assert "epoch_" not in out  # the checkpoints are bitwise equal: nothing set aside
    assert re.fullmatch(f"jsonl:{RUN_DIR}/metrics.jsonl", record_of(root)["metrics"]["source"])


def test_an_unseeded_term_in_the_loss_diverges_on_the_loss_and_the_checkpoints(
    make_repo: MakeRepo,
) -> None:
    out = assert_diverged(_rerun_of(make_repo, "noisy")[1])
    assert "the loss curves part at step 1" in out
    for epoch in range(3):
        assert re.search(f"~ {RUN_DIR}/checkpoints/epoch_{epoch}.pt\n", out), out
