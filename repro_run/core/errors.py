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


class ReadOnlyStoreError(StoreError):
    """The store cannot be written (a read-only file system, or no write permission): the
    commands that read runs still work; those that write it (run, fsck, ...) refuse."""

    exit_code = 8


class SchemaVersionError(StoreError):
    """A record or store written by a newer repro."""

    exit_code = 8


class RunNotRecordedError(StoreError):
    """The command ran, but the store went away or filled up before its record was written.
    Exits with the command's own status, as every `repro run` does."""

    def __init__(self, message: str, command_exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = command_exit_code


class MetricsFileError(ReproError):
    """`--metrics-file` names a file that is not JSON, JSON lines or CSV metrics."""

    exit_code = 5


# --- repro rerun: refusals before anything runs (verdict exit codes: constants.py) ----------
class CommitNotFoundError(ReproError):
    """The recorded commit is not in the repository (rebased or force-pushed away)."""

    exit_code = 23


class PatchApplyError(ReproError):
    """The recorded --allow-dirty patch does not apply to the recorded commit."""

    exit_code = 24


class WorktreeError(ReproError):
    """The temporary worktree cannot be created: unwritable temporary directory, git failure."""

    exit_code = 25


class DataDriftError(ReproError):
    """Recorded data changed since the run (without --allow-data-drift)."""

    exit_code = 26


class EnvironmentDriftError(ReproError):
    """`--strict`: the environment differs from the record."""

    exit_code = 27


class MaskedArgumentError(ReproError):
    """The recorded command holds a secret argument that repro never stored."""

    exit_code = 28


class UnsafeRecordError(ReproError):
    """A recorded path would make a rerun read or write outside its worktree."""

    exit_code = 29


class RunNotFinishedError(ReproError):
    """The run to replay is still running, or crashed: there is no result to compare with."""

    exit_code = 30


class AllocationShapeError(ReproError):
    """A run of one supervisor per Slurm task replayed outside a job step of its shape."""

    exit_code = 36


class CommandNotExecutableError(ReproError):
    exit_code = 126


class CommandNotFoundError(ReproError):
    exit_code = 127


class FindingsError(ReproError):
    """`repro doctor --strict` found something (exit 1, as linters do)."""

    exit_code = 1


INTERNAL_ERROR_EXIT_CODE = 70  # an unexpected crash of repro itself (EX_SOFTWARE)


class StoreDamagedError(StoreError):
    """`repro fsck` found damage it cannot repair (listed), or `repro gc` cannot tell what is
    referenced because a record or manifest is unreadable."""

    exit_code = 9


class DataNotFoundError(DataError):
    """A data path (given, configured, or found among the command's arguments) is missing."""

    exit_code = 6


class DataUnreadableError(DataError):
    """A data file or directory cannot be read (`--skip-unreadable` records it instead)."""

    exit_code = 6


class DataChangedError(DataError):
    """A data file kept changing while it was hashed, so no stable fingerprint exists."""

    exit_code = 6


# --- repro export / repro import (issue 8) -------------------------------------------------
class SecretInExportError(ReproError):
    """`repro export` found something secret-looking (file and line named); --allow-secrets."""

    exit_code = 31


class BundleError(ReproError):
    """`repro import`: the bundle is unsafe, damaged, too large or not a repro bundle."""

    exit_code = 32


class ImportClashError(ReproError):
    """`repro import`: a different run with the bundle's ID is already in the store."""

    exit_code = 33


class BundleWriteError(ReproError):
    """`repro export`: the bundle file cannot be written (unwritable directory, disk full)."""

    exit_code = 34


# --- repro show ------------------------------------------------------------------------------
class PackagesUnavailableError(ReproError):
    """`repro show --packages`: the run's package list was never captured (its record says why)."""

    exit_code = 35


# --- repro rerun --recreate-env --------------------------------------------------------------
class EnvironmentBuildError(ReproError):
    """`repro rerun --recreate-env`: uv could not build the recorded environment (an index that
    cannot be reached or refuses, a pin no index serves, a broken uv)."""

    exit_code = 40


class EnvironmentNotRebuildableError(ReproError):
    """`repro rerun --recreate-env`: a recorded package cannot be rebuilt here (a local
    directory that is not the project, a local file), and `--allow-partial-env` was not given."""

    exit_code = 41


# --- repro push / pull / list --remote (issue 19) --------------------------------------------
class RemoteConfigError(ReproError):
    """No remote named, a URL repro cannot use, or the `remote` extra (obstore) not installed."""

    exit_code = 44


class RemoteError(ReproError):
    """The remote cannot be read or written (network, credentials, permissions), after retries."""

    exit_code = 45


class RemoteClashError(ReproError):
    """`repro push`: a different run with the same ID is already on the remote."""

    exit_code = 46


class RemoteDamagedError(ReproError):
    """`repro pull`, `show --remote`: a remote object, run file or index entry does not match its
    hash, is truncated, or is not what repro writes: refused, nothing kept."""

    exit_code = 47
