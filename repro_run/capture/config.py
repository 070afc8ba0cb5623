"""Config files among the command's arguments, parsed into flat hyperparameters."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from repro_run import tomlread
from repro_run.constants import CONFIG_FLAGS, CONFIG_SUFFIXES
from repro_run.errors import ConfigError
from repro_run.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# `-c` is also Python's "program passed in as string" flag, so a `-c` value is a config only
# when it names an existing file; `--config`/`--cfg` values must exist.
_AMBIGUOUS_FLAGS = ("-c",)
_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}


class ParsedConfig(Record):
    path: str  # as given on the command line
    format: str  # "yaml" | "json" | "toml" | "text" (recorded by hash, not parsed)
    params: dict[str, Any]
    content: bytes


def find_config_paths(argv: Sequence[str], cwd: Path) -> list[str]:
    """Config files named by the arguments, in order, each once."""
    found: list[str] = []
    for value, flag in _candidates(argv):
        if value in found:
            continue
        # os.path: an argument too long for a file name (a `python -c` program) is not a file
        if os.path.isfile(cwd / value):
            if flag is not None or value.endswith(CONFIG_SUFFIXES):
                found.append(value)
        elif flag is not None and flag not in _AMBIGUOUS_FLAGS:
            raise ConfigError(f"config file not found: {value} (check the path given to {flag})")
    return found


def _candidates(argv: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """(value, the config flag that named it or None) for each argument that may be a config."""
    for i, arg in enumerate(argv):
        flag, sep, inline = arg.partition("=")
        if sep and flag in CONFIG_FLAGS:
            yield inline, flag
        elif arg in CONFIG_FLAGS and i + 1 < len(argv):
            yield argv[i + 1], arg
        elif not arg.startswith("-"):
            yield arg, None


def parse_config(path: Path, display: str) -> ParsedConfig:
    """Read and parse one config file; ConfigError names the file and line on failure."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config {display} cannot be read: {exc.strerror}") from None
    fmt = _FORMATS.get(path.suffix.lower(), "text")
    if fmt == "text":
        return ParsedConfig(display, fmt, {}, content)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {display}: not UTF-8 text (byte {exc.start})") from None
    document = _load(fmt, text, display)
    return ParsedConfig(display, fmt, flatten(document), content)


def _load(fmt: str, text: str, display: str) -> Any:
    fix = "fix the file, or drop it from the command"
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config {display} line {exc.lineno}: {exc.msg}: {fix}") from None
    if fmt == "toml":
        try:
            return tomlread.loads(text)
        except tomlread.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            where = f" line {line.group(1)}" if line else ""
            reason = re.sub(r"\s*\(at line .*\)$", "", str(exc))
            raise ConfigError(f"config {display}{where}: {reason}: {fix}") from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config {display}{where}: {problem}: {fix}") from None


def flatten(document: Any) -> dict[str, Any]:
    """Nested mappings (and lists of mappings) -> dotted keys with JSON-safe leaf values."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
            for index, value in enumerate(node):
                walk(f"{prefix}.{index}" if prefix else str(index), value)
        else:
            flat[prefix or "value"] = _json_safe(node)

    if document is not None:
        walk("", document)
    return flat


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return str(value)  # dates, times and other YAML/TOML scalars
