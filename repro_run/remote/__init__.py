"""The team store on object storage: one small interface (get, put-if-absent, head, list) over
obstore, and where a run's files and index entry live on it (issue 19)."""

from __future__ import annotations

from repro_run.remote.backend import Listed, Remote, open_remote, remote_error

__all__ = ["Listed", "Remote", "open_remote", "remote_error"]
