"""Config files among the command's arguments: found, parsed, flattened, or refused by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro_run.capture.config import find_config_paths, flatten, parse_config
from repro_run.errors import ConfigError


def test_config_flag_values_and_config_like_files_are_found(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.json", "c.toml", "d.yml", "e.cfg"):
        (tmp_path / name).write_text("{}")
    argv = ["train.py", "--config", "a.yaml", "--cfg=e.cfg", "b.json", "--extra", "c.toml"]
    assert find_config_paths(argv, tmp_path) == ["a.yaml", "e.cfg", "b.json", "c.toml"]


def test_python_dash_c_code_is_not_a_config(tmp_path: Path) -> None:
    assert find_config_paths(["python", "-c", "print(1)"], tmp_path) == []


def test_missing_config_named_by_flag_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: nope\.yaml"):
        find_config_paths(["train.py", "--config", "nope.yaml"], tmp_path)


def test_yaml_is_flattened_to_dotted_keys(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text("model:\n  hidden: 16\n  layers: [1, 2]\noptim:\n  lr: 0.1\nname: x\n")
    parsed = parse_config(path, "cfg.yaml")
    assert parsed.format == "yaml"
    assert parsed.params == {
        "model.hidden": 16,
        "model.layers": [1, 2],
        "optim.lr": 0.1,
        "name": "x",
    }
    assert parsed.content == path.read_bytes()


def test_lists_of_mappings_are_flattened_by_index() -> None:
    assert flatten({"layers": [{"size": 8}, {"size": 4}]}) == {
        "layers.0.size": 8,
        "layers.1.size": 4,
    }


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ConfigError, match=r"config bad\.yaml line \d+: .*fix the file"):
        parse_config(path, "bad.yaml")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(ConfigError, match=r"config bad\.json line 4: "):
        parse_config(path, "bad.json")


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("a = 1\nb = = 2\n")
    with pytest.raises(ConfigError, match=r"config bad\.toml line 2: "):
        parse_config(path, "bad.toml")


def test_unparsed_config_is_recorded_by_content(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text("lr = 0.1\n")
    parsed = parse_config(path, "model.py")
    assert (parsed.format, parsed.params, parsed.content) == ("text", {}, b"lr = 0.1\n")


def test_yaml_dates_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("when: 2026-01-02\n")
    assert parse_config(path, "c.yaml").params == {"when": "2026-01-02"}
