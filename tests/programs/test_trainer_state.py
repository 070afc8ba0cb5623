"""A training loop that keeps its state as Hugging Face's Trainer does (`trainer_state.json`
in each `checkpoint-N/` folder and in the output folder, its `log_history` the metrics, its
runtime and throughput wall-clock figures), run and rerun through repro: equal but for those
figures; an unseeded term in the loss still fails the rerun on the loss curve."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.cli import record_of
from helpers.programs import Rerun, assert_diverged, assert_identical, run_then_rerun
from helpers.repos import MakeRepo

# transformers is not installed here: the fields and layout its Trainer writes
# (`TrainerState.save_to_json`: sorted keys, indent 2), around a one-weight model.
TRAIN = """\
import json, os, random, sys, time

def save_state(folder, state):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "trainer_state.json"), "w") as f:
        f.write(json.dumps(state, indent=2, sort_keys=True) + "\\n")

random.seed(42)
data = [(x, 3 * x + random.gauss(0, 0.1)) for x in (random.random() for _ in range(32))]
w, lr, started, history = 0.0, 5e-2, time.time(), []
state = {"best_metric": None, "best_model_checkpoint": None, "epoch": 0.0, "global_step": 0,
         "is_local_process_zero": True, "is_world_process_zero": True, "log_history": history,
         "logging_steps": 4, "max_steps": 16, "num_train_epochs": 2, "save_steps": 8,
         "total_flos": 0, "train_batch_size": 4, "trial_name": None, "trial_params": None}
for step in range(1, 17):
    batch = data[(step - 1) % 8 * 4:][:4]
    grad = sum(2 * (w * x - y) * x for x, y in batch) / 4
    loss = sum((w * x - y) ** 2 for x, y in batch) / 4
    if sys.argv[1] == "noisy":
        loss += int.from_bytes(os.urandom(8), "big") / 2**64  # unseeded
    w -= lr * grad
    state.update(epoch=step / 8, global_step=step)
    if step % 4 == 0:
        history.append({"epoch": step / 8, "grad_norm": abs(grad), "learning_rate": lr,
                        "loss": round(loss, 4), "step": step})
    if step % 8 == 0:
        save_state(f"out/checkpoint-{step}", state)
runtime = time.time() - started
history.append({"epoch": 2.0, "step": 16, "total_flos": 0, "train_loss": round(loss, 4),
                "train_runtime": round(runtime, 4),
                "train_samples_per_second": round(64 / runtime, 3),
                "train_steps_per_second": round(16 / runtime, 3)})
save_state("out", state)
"""
TIMED_KEYS = "its train_runtime, train_samples_per_second, train_steps_per_second keys"


def _rerun_of(make_repo: MakeRepo, variant: str) -> tuple[Path, Rerun]:
    root = make_repo({"train.py": TRAIN, ".gitignore": "out/\n"})
    rerun = run_then_rerun(root, "--outputs", "out", "--", sys.executable, "train.py", variant)
    return root, rerun


def test_a_trainer_state_reruns_identical_but_for_its_runtime(make_repo: MakeRepo) -> None:
    root, rerun = _rerun_of(make_repo, "fixed")
    out = assert_identical(rerun)
    assert f"out/trainer_state.json: equal but for {TIMED_KEYS}" in out
    metrics = record_of(root)["metrics"]
    assert metrics["source"] == "trainer_state:out/trainer_state.json"
    assert {"loss", "grad_norm", "learning_rate", "train_loss"} <= set(metrics["final"])


def test_an_unseeded_term_in_the_loss_diverges_on_the_loss_curve(make_repo: MakeRepo) -> None:
    out = assert_diverged(_rerun_of(make_repo, "noisy")[1])
    assert "the loss curves part at step 4" in out
    assert "~ out/checkpoint-8/trainer_state.json" in out
