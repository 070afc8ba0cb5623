"""`[tool.repro]` in the project's pyproject.toml: defaults for data, outputs, seed and the
output paths a verdict ignores."""

from __future__ import annotations

from pathlib import Path

from repro_run.core import toml
from repro_run.core.constants import PYPROJECT_FILENAME, TOOL_TABLE
from repro_run.core.errors import ConfigError
from repro_run.core.pathglob import compile_pattern
from repro_run.core.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


class ProjectSettings(Record):
    data: tuple[str, ...] = ()  # paths relative to the repository root
    outputs: tuple[str, ...] = ()
    seed: int | None = None
    ignore: tuple[str, ...] = ()  # gitignore-like patterns of output files a verdict ignores
    remote: str | None = None  # the team store's URL (`repro push`/`pull`, issue 19)


def load_project_settings(root: Path) -> ProjectSettings:
    """Read `[tool.repro]`; an absent file or table gives the defaults."""
    path = root / PYPROJECT_FILENAME
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return ProjectSettings()
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror}") from None
    if f"[tool.{TOOL_TABLE}]".encode() not in content:
        return ProjectSettings()  # most projects: skip the TOML parser on the hot path
    try:
        table = toml.loads(content.decode()).get("tool", {}).get(TOOL_TABLE, {})
    except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{PYPROJECT_FILENAME}: {exc}: fix [tool.{TOOL_TABLE}]") from None
    return ProjectSettings(
        data=_paths(table, "data"),
        outputs=_paths(table, "outputs"),
        seed=_seed(table),
        ignore=_patterns(table),
        remote=_remote(table),
    )


def _paths(table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{PYPROJECT_FILENAME}: [tool.{TOOL_TABLE}] {key} must be a list of paths"
        )
    return tuple(value)


def _patterns(table: dict[str, Any]) -> tuple[str, ...]:
    patterns = _paths(table, "ignore")
    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            raise ConfigError(f"{PYPROJECT_FILENAME}: [tool.{TOOL_TABLE}] {exc}") from None
    return patterns


def _seed(table: dict[str, Any]) -> int | None:
    seed = table.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ConfigError(f"{PYPROJECT_FILENAME}: [tool.{TOOL_TABLE}] seed must be an integer")
    return seed


def _remote(table: dict[str, Any]) -> str | None:
    remote = table.get("remote")
    if remote is not None and (not isinstance(remote, str) or not remote):
        raise ConfigError(
            f"{PYPROJECT_FILENAME}: [tool.{TOOL_TABLE}] remote must be a URL such as "
            '"s3://bucket/prefix"'
        )
    return remote
