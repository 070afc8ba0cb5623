"""A plain PyTorch training loop, run and rerun through repro: `torch.save` checkpoints of the
model and optimizer each epoch and a JSON-lines log with a wall-time column; the checkpoints
rerun bit for bit and the log equal but for its times, and an unseeded term in the loss still
fails the rerun on the loss curve and the checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.cli import record_of
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

TRAIN = """\
import json, os, sys, time
import torch
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
X = torch.randn(64, 4)
y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(64)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
os.makedirs("out/checkpoints", exist_ok=True)
step = 0
with open("out/metrics.jsonl", "w") as log:
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
        torch.save(state, f"out/checkpoints/epoch_{epoch}.pt")
"""
pytestmark = pytest.mark.slow  # torch imports in ~3 s: two runs a test


def _rerun_of(make_repo: MakeRepo, variant: str) -> tuple[Path, Rerun]:
    root = make_repo({"train.py": TRAIN, ".gitignore": "out/\n"})
    rerun = run_then_rerun(root, "--outputs", "out", "--", sys.executable, "train.py", variant)
    return root, rerun


def test_torch_checkpoints_and_a_timed_metrics_log_rerun_identical(make_repo: MakeRepo) -> None:
    root, rerun = _rerun_of(make_repo, "fixed")
    out = assert_identical(rerun)
    assert "4 output file(s) and 12 metric value(s) equal" in out
    assert "out/metrics.jsonl: equal but for its time key" in out
    assert "epoch_" not in out  # the checkpoints are bitwise equal: nothing set aside
    assert record_of(root)["metrics"]["source"] == "jsonl:out/metrics.jsonl"


def test_an_unseeded_term_in_the_loss_diverges_on_the_loss_and_the_checkpoints(
    make_repo: MakeRepo,
) -> None:
    out = assert_diverged(_rerun_of(make_repo, "noisy")[1])
    assert "the loss curves part at step 1" in out
    for epoch in range(3):
        assert f"~ out/checkpoints/epoch_{epoch}.pt" in out
