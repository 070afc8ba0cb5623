"""The schema version, run statuses and flags, and `Unavailable` (a facet that could not run)."""

from __future__ import annotations

from repro_run.core.record import Record

SCHEMA_VERSION = 1

# Run statuses. `crashed` is never written: it is what a `running` record whose supervisor is
# gone reads as (see store.liveness).
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
INTERRUPTED = "interrupted"  # SIGINT (Ctrl-C)
TERMINATED = "terminated"  # SIGTERM / SIGHUP to repro
ARCHIVE_FAILED = "archive_failed"  # the command ran, but its outputs could not be archived
CRASHED = "crashed"
UNKNOWN_REMOTE = "unknown (remote)"  # supervised on another host: its flock is not ours
FAILED_TO_START = "failed_to_start"  # the command could not be executed after all (126/127)
PRESUMED_DEAD = "presumed dead"  # supervised on another host whose heartbeat has stopped
FINAL_STATUSES = (SUCCEEDED, FAILED, INTERRUPTED, TERMINATED, ARCHIVE_FAILED, FAILED_TO_START)
# What a run's effective status can read in `list`: the recorded ones and the liveness verdicts.
LISTED_STATUSES = (RUNNING, *FINAL_STATUSES, CRASHED, UNKNOWN_REMOTE, PRESUMED_DEAD)
# Record flags: facts about a finished run that a reader (and `repro export`) must heed.
SECRET_IN_PATCH = "secret_in_patch"  # the --allow-dirty patch holds what looks like a secret
TAINTED = "tainted"  # tracked files or HEAD changed between the dirty check and the run's end
COMMITS_DIFFER = "commits_differ"  # the parts of a run (its nodes) ran different commits


class Unavailable(Record):
    """A facet that could not be captured at all, and why."""

    reason: str
