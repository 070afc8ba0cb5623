"""PyTorch checkpoints (`torch.save`'s zip, written by the real torch) compared by content: the
run folders they pickle are set aside, a changed tensor or any other changed value is not."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from repro_run.verdict.checkpoints import SET_ASIDE, checkpoint_equal_but_for

ORIGINAL = "logs/lightning_logs/version_1/checkpoints"
RERUN = "logs/lightning_logs/version_0/checkpoints"


def _save(folder: Path, weight: float = 0.5, **fields: object) -> Path:
    """What Lightning saves: the weights and ModelCheckpoint's state, naming its own folder."""
    path = folder / "epoch=1-step=8.ckpt"
    folder.mkdir(parents=True, exist_ok=True)
    state = {"state_dict": {"w": torch.full((3,), weight)}, "dirpath": ORIGINAL, **fields}
    torch.save(state, path)
    return path


def test_checkpoints_that_name_their_own_version_folder_are_equal_but_for_it(
    tmp_path: Path,
) -> None:
    old = _save(tmp_path / "a", best_model_path=f"{ORIGINAL}/epoch=1-step=8.ckpt")
    new = _save(tmp_path / "b", dirpath=RERUN, best_model_path=f"{RERUN}/epoch=1-step=8.ckpt")
    assert old.read_bytes() != new.read_bytes()
    assert checkpoint_equal_but_for(old, new) == SET_ASIDE


def test_a_rerun_worktree_named_in_a_checkpoint_is_taken_for_the_original_folder(
    tmp_path: Path,
) -> None:
    old = _save(tmp_path / "a", root=f"{tmp_path}/repo/logs")
    new = _save(tmp_path / "b", root=f"{tmp_path}/tree/logs")
    assert checkpoint_equal_but_for(old, new) is None
    replacements = [(f"{tmp_path}/tree", f"{tmp_path}/repo")]
    assert checkpoint_equal_but_for(old, new, replacements) == SET_ASIDE


def test_a_changed_weight_differs(tmp_path: Path) -> None:
    old, new = _save(tmp_path / "a"), _save(tmp_path / "b", weight=0.5000001)
    assert checkpoint_equal_but_for(old, new) is None


def test_a_changed_path_that_is_no_run_folder_differs(tmp_path: Path) -> None:
    old = _save(tmp_path / "a", data="data/train.csv")
    new = _save(tmp_path / "b", data="data/test.csv")
    assert checkpoint_equal_but_for(old, new) is None


def test_a_zip_that_is_no_checkpoint_is_not_compared_by_content(tmp_path: Path) -> None:
    for name, text in (("a.zip", ORIGINAL), ("b.zip", RERUN)):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("x/data.txt", text)
    assert checkpoint_equal_but_for(tmp_path / "a.zip", tmp_path / "b.zip") is None


def test_a_truncated_checkpoint_differs(tmp_path: Path) -> None:
    old, new = _save(tmp_path / "a"), _save(tmp_path / "b", dirpath=RERUN)
    new.write_bytes(new.read_bytes()[:-100])
    assert checkpoint_equal_but_for(old, new) is None
