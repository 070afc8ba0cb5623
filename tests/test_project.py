"""`[tool.repro]` defaults in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro_run.core.errors import ConfigError
from repro_run.settings import ProjectSettings, load_project_settings


def test_no_pyproject_gives_defaults(tmp_path: Path) -> None:
    assert load_project_settings(tmp_path) == ProjectSettings()


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_project_settings(tmp_path) == ProjectSettings()


def test_tool_repro_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.repro]\ndata = ["data/train", "data/val"]\noutputs = "ckpt"\nseed = 3\n'
    )
    assert load_project_settings(tmp_path) == ProjectSettings(
        data=("data/train", "data/val"), outputs=("ckpt",), seed=3
    )


@pytest.mark.parametrize(
    "body",
    ['seed = "x"', "data = 3", "seed = true", "data = [1]"],
    ids=["seed", "data", "bool", "items"],
)
def test_invalid_values_are_refused(tmp_path: Path, body: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.repro]\n{body}\n")
    with pytest.raises(ConfigError, match=r"\[tool\.repro\]"):
        load_project_settings(tmp_path)


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.repro]\nseed = = 1\n")
    with pytest.raises(ConfigError, match=r"pyproject\.toml"):
        load_project_settings(tmp_path)
