"""TOML parsing on every supported Python: tomllib (3.11+) or its backport tomli (3.10)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any


class TOMLDecodeError(ValueError):
    """The text is not valid TOML (the message names the line)."""


def loads(text: str) -> dict[str, Any]:
    """Parse TOML; the parser is imported on first use (`repro run` without a pyproject.toml
    never needs it)."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TOMLDecodeError(str(exc)) from exc
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise TOMLDecodeError("nested too deeply") from None
    except ValueError as exc:  # an integer past Python's 4300-digit conversion limit
        raise TOMLDecodeError(str(exc).partition(";")[0]) from None
