"""Records written by older repros, brought up to the current schema before they are decoded.

pipx's habit (`_convert_legacy_metadata`): one function per schema version, each turning a
version-N document into a version-N+1 one, applied in a chain; a document from a newer repro
is refused, never guessed at. Fields added with a default need no step (the codec fills the
default and ignores keys it does not know); a step is for a renamed, moved or re-typed field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from repro_run.models.base import SCHEMA_VERSION

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

Document = dict[str, "Any"]
Step = Callable[[Document], Document]


def _from_schema_0(document: Document) -> Document:
    """Schema 0 (before the version was written) predates configs, data, outputs and process
    results: they read as absent, the defaults the codec fills in."""
    return document


# STEPS[n] turns a schema-n record into a schema-(n+1) one.
STEPS: Mapping[int, Step] = {0: _from_schema_0}


class SchemaError(ValueError):
    """The document's schema version is not one this repro can read."""

    def __init__(self, message: str, newer: bool) -> None:
        super().__init__(message)
        self.newer = newer


def upgrade(
    document: Document, steps: Mapping[int, Step] = STEPS, target: int = SCHEMA_VERSION
) -> Document:
    """`document` (a decoded run.json object) at schema `target`, the current one.

    A record without `schema_version` is version 0 (written before the field existed).
    """
    version = document.get("schema_version", 0)
    if type(version) is not int or version < 0:
        raise SchemaError(f"schema_version {version!r} is not a version", newer=False)
    if version > target:
        raise SchemaError(
            f"written by a newer repro (schema {version} > {target}): upgrade repro",
            newer=True,
        )
    while version < target:
        step = steps.get(version)
        if step is None:
            raise SchemaError(f"no upgrade from schema {version}", newer=False)
        document = step(dict(document))
        version += 1
        document["schema_version"] = version
    return document
