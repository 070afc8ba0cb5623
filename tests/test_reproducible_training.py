"""Issue 4's promise with real frameworks: prefix `repro run` and a training run repeats bit
for bit, with no change to the script; without repro (or with --no-auto-seed) it does not.

The scripts never seed anything themselves. Real child processes, the real CLI, real NumPy and
a real (CPU) torch: DataLoader workers, dropout and random init included.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"

TORCH_SCRIPT = '''\
"""Random init, a shuffled DataLoader with 2 workers and noisy samples, dropout: no seed."""
import hashlib
import random

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Noisy(Dataset):
    def __init__(self):
        self.x = torch.linspace(-1, 1, 256).reshape(64, 4)
        self.y = (self.x.sum(1) > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):  # augmentation in the workers: torch and Python RNGs
        return self.x[i] + 0.1 * random.random() * torch.randn(4), self.y[i]


def main():
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(Noisy(), batch_size=8, shuffle=True, num_workers=2)
    for _ in range(2):
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    weights = b"".join(p.detach().numpy().tobytes() for p in model.parameters())
    print("weights", hashlib.sha256(weights).hexdigest(), "loss", loss.item())


if __name__ == "__main__":
    main()
'''


@pytest.fixture
def numpy_project(make_repo: MakeRepo) -> Path:
    root = make_repo(
        {
            "train.py": (EXAMPLES / "train.py").read_text(),
            "configs/demo.yaml": CONFIG.read_text(),
            ".gitignore": "data/\ncheckpoints/\n",
        }
    )
    subprocess.run([sys.executable, str(EXAMPLES / "make_data.py"), "data"], cwd=root, check=True)
    return root


def _train_numpy(root: Path, *prefix: str) -> tuple[bytes, bytes]:
    shutil.rmtree(root / "checkpoints", ignore_errors=True)
    argv = ["train.py", "--config", "configs/demo.yaml"]
    if prefix:
        done = repro(root, *prefix, *argv)
    else:
        done = subprocess.run([sys.executable, *argv], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = root / "checkpoints"
    return (out / "model.npz").read_bytes(), (out / "metrics.jsonl").read_bytes()


def test_numpy_demo_is_bit_identical_under_repro_and_differs_without(numpy_project: Path) -> None:
    first = _train_numpy(numpy_project, "run", "--seed", "3")
    second = _train_numpy(numpy_project, "run", "--seed", "3")
    assert first == second  # weights and every step's loss, bit for bit
    other_seed = _train_numpy(numpy_project, "run", "--seed", "4")
    assert other_seed[0] != first[0]
    plain_a, plain_b = _train_numpy(numpy_project), _train_numpy(numpy_project)
    assert plain_a[0] != plain_b[0] and plain_a[1] != plain_b[1]  # so the test can fail


@pytest.fixture
def torch_project(make_repo: MakeRepo) -> Path:
    return make_repo({"train_torch.py": TORCH_SCRIPT})


def _train_torch(root: Path, *options: str) -> str:
    # On the CPU on every machine; tests/test_gpu_determinism.py trains on CUDA.
    done = repro(
        root, "run", *options, "train_torch.py", env={"CUDA_VISIBLE_DEVICES": ""}, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("weights")]
    return line


def test_torch_training_is_bit_identical_across_two_repro_runs(torch_project: Path) -> None:
    first = _train_torch(torch_project, "--seed", "5")
    assert _train_torch(torch_project, "--seed", "5") == first
    facts = record_of(torch_project)["facts"]
    main = facts["processes"][0]
    assert {"random=5", "torch=5"} <= set(main["seeded"])
    assert main["facts"]["torch.deterministic_algorithms"] is True
    assert main["facts"]["torch.cudnn.benchmark"] is False
    assert main["facts"]["torch.devices"] == "cpu" and main["errors"] == []


def test_torch_training_differs_under_no_auto_seed(torch_project: Path) -> None:
    first = _train_torch(torch_project, "--seed", "5", "--no-auto-seed")
    assert _train_torch(torch_project, "--seed", "5", "--no-auto-seed") != first
    record = record_of(torch_project)
    assert record["facts"] is None and record["determinism"]["hook"] is False
    assert "PYTHONPATH" not in record["determinism"]["injected"]
