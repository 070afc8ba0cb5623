"""The one exception tree: every error repro reports, each with its documented exit code.

`cli.main` is the only place that turns a `ReproError` into a message and an exit code.
The README's exit-code table lists these classes; keep the two in step.
"""

from __future__ import annotations


class ReproError(Exception):
    """Base class. `str(err)` is the one-line message shown to the user."""

    exit_code = 2


class UsageError(ReproError):
    """Bad flags or arguments that click itself cannot catch."""

    exit_code = 2


class NotAGitRepositoryError(ReproError):
    exit_code = 3


class NoCommitsError(ReproError):
    exit_code = 3


class GitError(ReproError):
    """git itself failed in a way we did not expect."""

    exit_code = 3


class DirtyTreeError(ReproError):
    exit_code = 4


class ConfigError(ReproError):
    """A config file among the arguments, or `[tool.repro]`, is missing or invalid."""

    exit_code = 5


class DataError(ReproError):
    """A `--data` or `--outputs` path is missing or cannot be read."""

    exit_code = 6


class RunNotFoundError(ReproError):
    exit_code = 7


class AmbiguousRunIdError(ReproError):
    exit_code = 7


class StoreError(ReproError):
    """The store cannot be read or written: corrupted record, unwritable directory."""

    exit_code = 8


class SchemaVersionError(StoreError):
    """A record or store written by a newer repro."""

    exit_code = 8


class CommandNotExecutableError(ReproError):
    exit_code = 126


class CommandNotFoundError(ReproError):
    exit_code = 127


INTERNAL_ERROR_EXIT_CODE = 70  # an unexpected crash of repro itself (EX_SOFTWARE)


class DataNotFoundError(DataError):
    """A data path (given, configured, or found among the command's arguments) is missing."""

    exit_code = 6


class DataUnreadableError(DataError):
    """A data file or directory cannot be read (`--skip-unreadable` records it instead)."""

    exit_code = 6


class DataChangedError(DataError):
    """A data file kept changing while it was hashed, so no stable fingerprint exists."""

    exit_code = 6
