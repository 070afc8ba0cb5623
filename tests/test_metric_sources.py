"""Metrics with zero code changes: TensorBoard event files, Lightning's metrics.csv, Hugging Face
Trainer's trainer_state.json, files under the log folders, --metrics-file globs, printed lines."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.repos import MakeRepo

from repro_run.metrics.crc32c import crc32c, masked_crc32c
from repro_run.metrics.stdout import parse_log_lines
from repro_run.metrics.tensorboard import read_tensorboard

# What torch's SummaryWriter writes: simple_value scalars, new-style tensor scalars (float and
# double), `add_scalars` (one folder per curve), a histogram, an image, text and a wall time.
WRITER = """\
import sys
import numpy as np
from torch.utils.tensorboard import SummaryWriter
w = SummaryWriter(sys.argv[1] if len(sys.argv) > 1 else None)
for step in range(5):
    w.add_scalar("loss", 1.0 / (step + 1), step)
    w.add_scalar("acc", step / 10, step, new_style=True)
    w.add_scalar("lr", 0.5 ** step, step, new_style=True, double_precision=True)
w.add_scalars("pair", {"train": 0.25, "val": 0.75}, 4)
w.add_histogram("weights", np.arange(10.0), 4)
w.add_image("picture", np.zeros((3, 4, 4)), 4)
w.add_text("note", "hello", 4)
w.add_scalar("epoch_time", 3.2, 4)
w.close()
"""


def _events(folder: Path) -> list[Path]:
    return sorted(folder.rglob("events.out.tfevents.*"))


def _write_events(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    subprocess.run([sys.executable, str(script), str(tmp_path / "tb")], check=True)
    return _events(tmp_path / "tb")[0]  # the main writer's file (add_scalars' are in folders)


def test_crc32c_matches_the_standard_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # RFC 3720 B.4's check value
    assert crc32c(b"") == 0 and crc32c(b"12345678") == crc32c(memoryview(b"12345678"))


@pytest.mark.slow
def test_the_tensorboard_reader_agrees_with_tensorboards_own_loader(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
    from tensorboard.util import tensor_util

    path = _write_events(tmp_path)
    expected: dict[str, list[tuple[int, float]]] = {}
    for event in LegacyEventFileLoader(str(path)).Load():
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                expected.setdefault(value.tag, []).append((event.step, value.simple_value))
            elif value.metadata.plugin_data.plugin_name == "scalars":
                scalar = tensor_util.make_ndarray(value.tensor).item()
                expected.setdefault(value.tag, []).append((event.step, scalar))
    del expected["epoch_time"]  # a timing, never a metric
    with path.open("rb") as f:
        series, problems = read_tensorboard(f, str(path))
    assert problems == [] and set(series) == {"loss", "acc", "lr"}
    assert series == expected


def _flip_last_byte_of_record(path: Path, tag: bytes, nth: int) -> None:
    """Flip the last data byte (the value) of the `nth` record whose data holds `tag`."""
    data = bytearray(path.read_bytes())
    offset = seen = 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        body = data[offset + 12 : offset + 12 + length]
        if tag in body:
            if seen == nth:
                data[offset + 12 + length - 1] ^= 0x01
                path.write_bytes(bytes(data))
                return
            seen += 1
        offset += 16 + length
    raise AssertionError("no such record")


@pytest.mark.slow
def test_a_flipped_byte_in_an_event_record_is_reported_not_misread(tmp_path: Path) -> None:
    path = _write_events(tmp_path)
    _flip_last_byte_of_record(path, b"loss", nth=2)
    with path.open("rb") as f:
        series, problems = read_tensorboard(f, str(path))
    assert [step for step, _ in series["loss"]] == [0, 1, 3, 4]  # step 2's record is skipped
    assert [value for _, value in series["loss"]] == pytest.approx([1.0, 0.5, 0.25, 0.2])
    assert len(problems) == 1 and "1 record(s) fail their checksum" in problems[0]


def test_a_broken_record_length_ends_the_reading_with_a_problem(tmp_path: Path) -> None:
    def record(data: bytes) -> bytes:
        header = struct.pack("<Q", len(data))
        return (
            header
            + struct.pack("<II", masked_crc32c(header), masked_crc32c(data))[:4]
            + data
            + struct.pack("<I", masked_crc32c(data))
        )

    # Event{step: 7, summary{value{tag: "loss", simple_value: 0.5}}}
    value = b"\x0a\x04loss\x15" + struct.pack("<f", 0.5)
    event = b"\x10\x07\x2a" + bytes([len(value) + 2, 0x0A, len(value)]) + value
    good = record(event)
    broken = bytearray(record(event))
    broken[0] ^= 0x40  # the length: its checksum no longer holds
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    path.write_bytes(good + bytes(broken) + good)
    with path.open("rb") as f:
        series, problems = read_tensorboard(f, str(path))
    assert series == {"loss": [(7, 0.5)]}
    assert problems == [
        f"{path}: the record at byte {len(good)} fails its length checksum; the rest of the file not read"
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["loss: 0.53", "loss=0.4"], {"loss": [(None, 0.53), (None, 0.4)]}),
        (["step 10 loss 0.53"], {"loss": [(10, 0.53)]}),
        (  # bare pairs and a masked timing: `(1.9 ms/step)`, `| time: 0.2s`
            ["step 10 loss 0.53 (<time>)", "step 20 loss 0.4 | time: <time>"],
            {"loss": [(10, 0.53), (20, 0.4)]},
        ),
        (["step: 20", "loss: nan"], {"loss": [(20, float("nan"))]}),
        (
            ["10/10 [====] - <time> <time> - loss: 0.5 - accuracy: 0.8"],
            {"loss": [(None, 0.5)], "accuracy": [(None, 0.8)]},
        ),
        (["{'loss': 0.25, 'epoch': 1.0}"], {"loss": [(None, 0.25)], "epoch": [(None, 1.0)]}),
        (
            ["Epoch 0: 100%|###| 32/32 [<time><<time>, v_num=3, train_loss=0.5]"],
            {"train_loss": [(None, 0.5)]},
        ),
        (["Downloading 3 files", "time: <time>", "elapsed=4"], {}),
        (["[<time>][HYDRA] Launching 2 jobs locally", "[<time>][HYDRA] \t#0 : db.timeout=5"], {}),
    ],
)
def test_printed_metric_lines_become_curves(lines: list[str], expected: dict[str, object]) -> None:
    series, problems = parse_log_lines(lines)
    assert problems == [] and repr(series) == repr(expected)  # repr: nan equals nan


# --- through the CLI -------------------------------------------------------------------------
@pytest.fixture
def project(make_repo: MakeRepo) -> Path:
    lightning_csv = (
        "import os, sys\n"
        "os.makedirs('lightning_logs/version_1', exist_ok=True)\n"
        "open('lightning_logs/version_1/hparams.yaml', 'w').write('lr: 0.1\\n')\n"
        # Lightning's CSVLogger: every logged key a column, a row per step, empty cells.
        "open('lightning_logs/version_1/metrics.csv', 'w').write(\n"
        "    'epoch,step,train_loss,val_loss\\n0,0,0.9,\\n0,1,0.7,\\n0,1,,0.8\\n'\n"
        ")\n"
    )
    trainer_state = (
        "import json, os\n"
        "def state(history):\n"
        "    return json.dumps({'global_step': history[-1]['step'], 'log_history': history})\n"
        "rows = [{'epoch': 0.5, 'grad_norm': 1.5, 'learning_rate': 5e-05, 'loss': 0.9, 'step': 2},\n"
        "        {'epoch': 1.0, 'eval_loss': 0.8, 'eval_runtime': 0.12, 'step': 4},\n"
        "        {'epoch': 1.0, 'step': 4, 'train_loss': 0.7, 'train_runtime': 2.5,\n"
        "         'train_samples_per_second': 40.1, 'total_flos': 1000.0}]\n"
        "os.makedirs('out/checkpoint-2', exist_ok=True)\n"
        "open('out/checkpoint-2/trainer_state.json', 'w').write(state(rows[:1]))\n"
        "open('out/trainer_state.json', 'w').write(state(rows))\n"
    )
    return make_repo(
        {
            "tb.py": WRITER,
            "lightning_csv.py": lightning_csv,
            "trainer_state.py": trainer_state,
            "prints.py": "for step in range(3):\n    print(f'step {step} loss {1 / (step + 1):.3f}')\n",
            "logs_and_prints.py": (
                "import repro_run\nrepro_run.log_metrics(step=0, acc=0.5)\nprint('loss: 0.53')\n"
            ),
            ".gitignore": "runs/\nlightning_logs/\nout/\n",
        }
    )


@pytest.mark.slow
def test_tensorboard_scalars_a_program_writes_are_its_metrics_with_their_source(
    project: Path,
) -> None:
    done = repro(project, "run", "tb.py")
    assert done.returncode == 0, done.stderr
    metrics = record_of(project)["metrics"]
    main, *_ = _events(project / "runs")
    label = f"tensorboard:{main.relative_to(project)}"
    assert metrics["final"]["loss"] == pytest.approx(0.2) and metrics["sources"]["loss"] == label
    # add_scalars writes the same tag into a folder per curve: the second is named by its folder
    assert metrics["final"]["pair"] == 0.25 and metrics["final"]["pair_val/pair"] == 0.75
    assert "epoch_time" not in metrics["final"]
    shown = repro(project, "show", "@").stdout
    assert "tensorboard:runs/" in shown and "loss" in shown


@pytest.mark.slow
def test_a_tensorboard_glob_as_metrics_file_is_read(project: Path) -> None:
    done = repro(project, "run", "--metrics-file", "runs/*/events.out.tfevents.*", "tb.py")
    assert done.returncode == 0, done.stderr
    metrics = record_of(project)["metrics"]
    assert metrics["source"].startswith("tensorboard:runs/") and "pair" not in metrics["final"]
    assert set(metrics["final"]) == {"loss", "acc", "lr"}


def test_lightning_metrics_csv_of_this_run_is_read_not_an_earlier_version(project: Path) -> None:
    earlier = project / "lightning_logs" / "version_0" / "metrics.csv"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("epoch,step,train_loss\n0,0,9.0\n")
    os.utime(earlier, (1_600_000_000, 1_600_000_000))  # an earlier run's
    done = repro(project, "run", "lightning_csv.py")
    assert done.returncode == 0, done.stderr
    metrics = record_of(project)["metrics"]
    assert metrics["final"] == {"epoch": 0.0, "train_loss": 0.7, "val_loss": 0.8}
    assert metrics["source"] == "csv:lightning_logs/version_1/metrics.csv"


def test_a_metrics_csv_glob_reads_only_the_version_this_run_wrote(project: Path) -> None:
    earlier = project / "lightning_logs" / "version_0" / "metrics.csv"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("epoch,step,train_loss,other\n0,0,9.0,1\n")
    os.utime(earlier, (1_600_000_000, 1_600_000_000))
    done = repro(
        project, "run", "--metrics-file", "lightning_logs/**/metrics.csv", "lightning_csv.py"
    )
    assert done.returncode == 0, done.stderr
    assert record_of(project)["metrics"]["final"]["train_loss"] == 0.7
    assert "other" not in record_of(project)["metrics"]["final"]


def test_hugging_face_trainer_state_log_history_under_the_outputs(project: Path) -> None:
    done = repro(project, "run", "--outputs", "out", "trainer_state.py")
    assert done.returncode == 0, done.stderr
    metrics = record_of(project)["metrics"]
    assert metrics["source"] == "trainer_state:out/trainer_state.json"  # not the checkpoint's
    assert metrics["final"] == {
        "epoch": 1.0,
        "eval_loss": 0.8,
        "grad_norm": 1.5,
        "learning_rate": 5e-05,
        "loss": 0.9,
        "total_flos": 1000.0,
        "train_loss": 0.7,
    }


def test_printed_loss_lines_are_the_metrics_of_a_run_that_logged_none(project: Path) -> None:
    done = repro(project, "run", "prints.py")
    assert done.returncode == 0, done.stderr
    metrics = record_of(project)["metrics"]
    assert metrics["source"] == "stdout" and metrics["final"] == {"loss": 0.333}
    assert metrics["points"] == 3


def test_printed_lines_are_not_metrics_when_the_run_logged_some(project: Path) -> None:
    done = repro(project, "run", "logs_and_prints.py")
    assert done.returncode == 0, done.stderr
    metrics = record_of(project)["metrics"]
    assert metrics["source"] == "REPRO_METRICS" and metrics["final"] == {"acc": 0.5}
