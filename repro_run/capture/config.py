"""Config files among the command's arguments, parsed into flat hyperparameters."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from repro_run.core import toml
from repro_run.core.constants import (
    CONFIG_FLAGS,
    CONFIG_MAX_DEPTH,
    CONFIG_MAX_FLAT_CHARS,
    CONFIG_MAX_VALUES,
    CONFIG_SUFFIXES,
)
from repro_run.core.errors import ConfigError
from repro_run.core.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# `-c` is also Python's "program passed in as string" flag, so a `-c` value is a config only
# when it names an existing file; `--config`/`--cfg` values must exist.
_AMBIGUOUS_FLAGS = ("-c",)
_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}
_FIX = "fix the file, or drop it from the command"
# Python writes an int to JSON only up to 4300 decimal digits (sys.int_info.default_max_str_digits).
_MAX_INT_BITS = 4096


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
    try:
        document = _load(fmt, text, display)
    except RecursionError:  # json recurses once per level: a 100k-deep file ends here
        raise ConfigError(f"config {display}: nested too deeply: {_FIX}") from None
    except ValueError as exc:  # an integer past Python's 4300-digit conversion limit
        reason = str(exc).partition(";")[0]
        raise ConfigError(f"config {display}: {reason}: {_FIX}") from None
    try:
        params = flatten(document)
    except ConfigTooLargeError as exc:
        raise ConfigError(f"config {display}: {exc}: {_FIX}") from None
    return ParsedConfig(display, fmt, params, content)


def _load(fmt: str, text: str, display: str) -> Any:
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"config {display} line {exc.lineno}: {exc.msg}: {_FIX}") from None
    if fmt == "toml":
        try:
            return toml.loads(text)
        except toml.TOMLDecodeError as exc:
            line = re.search(r"line (\d+)", str(exc))
            where = f" line {line.group(1)}" if line else ""
            reason = re.sub(r"\s*\(at line .*\)$", "", str(exc))
            raise ConfigError(f"config {display}{where}: {reason}: {_FIX}") from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config {display}{where}: {problem}: {_FIX}") from None


class ConfigTooLargeError(ValueError):
    """The document nests or expands beyond the limits (the message says which)."""


def flatten(document: Any) -> dict[str, Any]:
    """Nested mappings (and lists of mappings) -> dotted keys with JSON-safe leaf values.

    YAML aliases share one object among every place that names it, so a few lines can stand
    for billions of values (a "billion laughs" bomb) or for a list that holds itself
    (`a: &a [*a]`): the walk counts depth, values and characters as it goes, and stops with
    ConfigTooLargeError at the first limit passed, long before the memory or time it would take.
    """
    flat: dict[str, Any] = {}
    budget = _Budget()

    def walk(prefix: str, node: Any, depth: int) -> None:
        budget.enter(depth, len(prefix))
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value, depth + 1)
        elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
            for index, value in enumerate(node):
                walk(f"{prefix}.{index}" if prefix else str(index), value, depth + 1)
        else:
            flat[prefix or "value"] = _json_safe(node, budget)

    if document is not None:
        walk("", document, 0)
    return flat


class _Budget:
    """What the flattened parameters may still cost (limits in constants.py)."""

    def __init__(self) -> None:
        self.values = CONFIG_MAX_VALUES
        self.chars = CONFIG_MAX_FLAT_CHARS

    def enter(self, depth: int, key_chars: int) -> None:
        """One node at `depth` whose dotted key is `key_chars` long (built before its values)."""
        if depth > CONFIG_MAX_DEPTH:
            raise ConfigTooLargeError(
                f"nested deeper than {CONFIG_MAX_DEPTH} levels (a YAML alias that holds itself?)"
            )
        self.spend(key_chars, values=0)

    def spend(self, chars: int, values: int = 1) -> None:
        self.values -= values
        self.chars -= chars
        if self.values < 0 or self.chars < 0:
            raise ConfigTooLargeError(
                f"expands to more than {CONFIG_MAX_VALUES:,} values or "
                f"{CONFIG_MAX_FLAT_CHARS:,} characters (YAML aliases repeating a block?)"
            )


def _json_safe(value: Any, budget: _Budget) -> Any:
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        # A YAML hex literal parses to any size, but the record's JSON cannot write it.
        raise ConfigTooLargeError(f"holds an integer of {value.bit_length():,} bits")
    if value is None or isinstance(value, (bool, int, float)):
        budget.spend(1)
        return value
    if isinstance(value, str):
        budget.spend(len(value))
        return value
    if isinstance(value, dict):
        budget.spend(2)
        return {}
    if isinstance(value, list):
        budget.spend(2)
        return [_json_safe(v, budget) for v in value]
    text = str(value)  # dates, times and other YAML/TOML scalars
    budget.spend(len(text))
    return text
