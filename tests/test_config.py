"""Config files among the command's arguments: found, parsed, flattened, or refused by line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import assert_one_line_error, repro, run_dirs
from helpers.repos import MakeRepo

from repro_run.capture.config import find_config_paths, flatten, parse_config
from repro_run.core.constants import CONFIG_MAX_DEPTH
from repro_run.core.errors import ConfigError


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


# --- issue 14 item 9: config bombs are refused (exit 5) in bounded time and memory ----------
_LAUGHS = "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
CONFIG_BOMBS = {
    "alias bomb": (
        "bomb.yaml",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + _LAUGHS,
    ),
    "alias of a long string": (
        "long.yaml",
        f'k: &k "{"x" * 100_000}"\nl: [{",".join(["*k"] * 1000)}]\n',
    ),
    "recursive alias": ("loop.yaml", "a: &a [*a]\n"),
    "100k-deep JSON": ("deep.json", "[" * 100_000 + "]" * 100_000),
    "100k-deep TOML": ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n"),
    "5000-digit JSON number": ("big.json", '{"a": ' + "1" * 5000 + "}"),
    "20000-bit YAML hex number": ("hex.yaml", "a: 0x" + "f" * 5000 + "\n"),
}


@pytest.mark.parametrize("name", CONFIG_BOMBS, ids=list(CONFIG_BOMBS))
def test_config_bomb_is_refused_naming_the_file_before_the_run(
    make_repo: MakeRepo, name: str
) -> None:
    """The 9-line alias bomb ran for minutes at 2.9 GB; a recursive alias and a 100k-deep
    JSON were internal errors (70). The subprocess timeout is the bound on time."""
    filename, text = CONFIG_BOMBS[name]
    root = make_repo({"train.py": "print('ran')\n", filename: text})
    done = repro(root, "run", "--", sys.executable, "train.py", "--config", filename, timeout=30)
    assert_one_line_error(done, 5, f"config {filename}: ")
    assert run_dirs(root) == []


def test_deeply_nested_tool_repro_table_is_a_config_error(make_repo: MakeRepo) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    root = make_repo(
        {"train.py": "print('ran')\n", "pyproject.toml": f"[tool.repro]\ndata = {deep}\n"}
    )
    done = repro(root, "run", "--", sys.executable, "train.py", timeout=30)
    assert_one_line_error(done, 5, "pyproject.toml", "nested too deeply")


def test_flattened_config_within_the_limits_is_kept_whole() -> None:
    """The bounds refuse expansion, not ordinary configs: 50,000 values, 100 mappings deep."""
    deep: Any = {"leaf": 1}
    for _ in range(CONFIG_MAX_DEPTH - 2):  # with `deep`'s and the document's: 100 mappings
        deep = {"k": deep}
    flat = flatten({"wide": {f"p{i}": i for i in range(50_000)}, "deep": deep})
    assert len(flat) == 50_001 and flat["deep." + "k." * (CONFIG_MAX_DEPTH - 2) + "leaf"] == 1
