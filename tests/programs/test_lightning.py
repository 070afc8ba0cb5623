"""Lightning, run and rerun through repro: a Trainer with a CSVLogger and checkpointing writes
`logs/lightning_logs/version_N/` (the next free N: the original's `version_1` beside an earlier
run's `version_0`, the rerun's fresh worktree `version_0`) and a checkpoint that names its own
absolute folder; those are paired and set aside, and an unseeded term in the loss still fails
the rerun on the loss curve and the checkpoint."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

LIGHTNING = """\
import os, sys
import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger

NOISY = sys.argv[1:] == ["noisy"]

class Model(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)
    def training_step(self, batch, _):
        loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
        if NOISY:  # unseeded: a different loss, so different weights, on every run
            loss = loss * (1 + int.from_bytes(os.urandom(8), "big") / 2**64 / 100)
        self.log("train_loss", loss)
        return loss
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

L.seed_everything(0)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 1))
trainer = L.Trainer(max_epochs=2, logger=CSVLogger("logs"), log_every_n_steps=1,
                    enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
trainer.fit(Model(), torch.utils.data.DataLoader(data, batch_size=8))
"""
# The Trainer as most write it: its defaults log to TensorBoard and checkpoint under the
# working directory's absolute path (a rerun's worktree is elsewhere), with a progress bar.
DEFAULTS = LIGHTNING.replace('logger=CSVLogger("logs"), ', "").replace(
    "enable_progress_bar=False, enable_model_summary=False, ", ""
)
pytestmark = pytest.mark.slow  # Lightning imports in ~8 s: a run and a rerun a test
VERSION_1 = "logs/lightning_logs/version_1"
CHECKPOINT = "checkpoints/epoch=1-step=8.ckpt"


@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    root = make_repo({"lt.py": LIGHTNING, ".gitignore": "logs/\n"})
    # What an earlier run left: its version_0, so the original writes version_1.
    earlier = root / "logs/lightning_logs/version_0/metrics.csv"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("epoch,step,train_loss\n0,0,9.0\n")
    # Days old (not on a whole second: that would leave a second's doubt whether it was written).
    os.utime(earlier, ns=(1_600_000_000_123_456_789,) * 2)
    return root


def _rerun_of(project: Path, *options: str, variant: str = "fixed") -> Rerun:
    rerun = run_then_rerun(project, *options, "--", sys.executable, "lt.py", variant)
    assert (project / VERSION_1 / CHECKPOINT).is_file()
    return rerun


def test_a_lightning_run_reruns_identical_pairing_its_version_folder_and_checkpoint(
    project: Path,
) -> None:
    out = assert_identical(_rerun_of(project, "--outputs", "logs"))
    assert f"{VERSION_1}/ ↔ logs/lightning_logs/version_0/" in out
    assert f"version_0/{CHECKPOINT}: equal but for the run folders it names" in out
    metrics = record_of(project, "@~1")["metrics"]  # the original's, not the earlier run's
    assert metrics["source"] == f"csv:{VERSION_1}/metrics.csv"
    assert metrics["points"] == 8 + 8  # train_loss and epoch, a row per step


def test_a_metrics_file_named_by_the_originals_version_is_read_from_the_reruns(
    project: Path,
) -> None:
    out = assert_identical(_rerun_of(project, "--metrics-file", f"{VERSION_1}/metrics.csv"))
    assert "16 metric value(s) bitwise equal" in out


def test_an_unseeded_term_in_the_loss_diverges_on_the_loss_curve_and_the_checkpoint(
    project: Path,
) -> None:
    out = assert_diverged(_rerun_of(project, "--outputs", "logs", variant="noisy"))
    assert "the train_loss curves part at step 0" in out
    assert f"~ logs/lightning_logs/version_0/{CHECKPOINT}" in out  # paired: the rerun's name


def test_a_default_trainer_reruns_identical_though_its_checkpoint_names_the_worktree(
    make_repo: MakeRepo,
) -> None:
    assert "logger=" not in DEFAULTS and "enable_" not in DEFAULTS
    root = make_repo({"lt.py": DEFAULTS, ".gitignore": "lightning_logs/\n"})
    command = ("--outputs", "lightning_logs", "--", sys.executable, "lt.py", "fixed")
    out = assert_identical(run_then_rerun(root, *command))
    assert f"version_0/{CHECKPOINT}: equal but for the run folders it names" in out
    assert re.search(r"version_0/events\.out\.tfevents\.[\w.-]+: equal but for its wall times", out)
