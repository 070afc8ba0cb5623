"""On a real NVIDIA GPU (`pytest -m gpu`): CUDA training repeats bit for bit under repro.

Deselected by default: the test machines have no GPU. Convolutions (cuDNN autotuning and
nondeterministic algorithms), cuBLAS matmuls and index_add_ (atomics) are the usual culprits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

CUDA_SCRIPT = """\
import hashlib
import torch
from torch import nn

device = "cuda"
model = nn.Sequential(
    nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Dropout(0.2), nn.Flatten(), nn.Linear(16 * 30 * 30, 10)
).to(device)
optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
for _ in range(20):
    x = torch.randn(32, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (32,), device=device)
    loss = nn.functional.cross_entropy(model(x), y)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
weights = b"".join(p.detach().cpu().numpy().tobytes() for p in model.parameters())
print("weights", hashlib.sha256(weights).hexdigest())
"""


@pytest.mark.gpu
def test_cuda_training_is_bit_identical_across_two_repro_runs(make_repo: MakeRepo) -> None:
    import torch  # here, not at collection: torch takes seconds

    # Selected only by `pytest -m gpu`: on a machine meant to have a GPU, none is a failure.
    assert torch.cuda.is_available(), (
        "pytest -m gpu found no CUDA device: check the driver, and that torch is a CUDA build"
    )
    root: Path = make_repo({"train_cuda.py": CUDA_SCRIPT})
    runs = [repro(root, "run", "--seed", "1", "train_cuda.py", timeout=600) for _ in range(2)]
    assert all(done.returncode == 0 for done in runs), runs[-1].stderr
    assert runs[0].stdout.splitlines()[-1] == runs[1].stdout.splitlines()[-1]
    (process,) = record_of(root)["facts"]["processes"]
    facts = process["facts"]
    assert facts["torch.devices"].startswith("cuda") and facts["torch.cuda.device_name"]
    assert facts["torch.version.cuda"] and facts["torch.cudnn.version"]
    assert facts["torch.cudnn.benchmark"] is False and facts["torch.cudnn.deterministic"] is True
    determinism = record_of(root)["determinism"]
    assert determinism["injected"]["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
