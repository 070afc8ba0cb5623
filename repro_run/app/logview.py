"""`repro log`: a run's stored output, raw or as a terminal would have left it (`--plain`).

A progress bar (tqdm) redraws one line in place with `\\r` (and on some terminals moves the
cursor with ANSI sequences); the log keeps those bytes as the command wrote them. `--plain`
replays the carriage returns, backspaces and cursor moves as a terminal would, drops the other
escape sequences, and keeps the final state of each line: the verdict's own reading of a log.
"""

from __future__ import annotations

from repro_run.app.workspace import Workspace
from repro_run.core.constants import RUN_LOG_FILENAME
from repro_run.core.errors import StoreError
from repro_run.verdict.screen import screen_lines


def read_log(workspace: Workspace, ref: str) -> bytes:
    store = workspace.store()
    run_id = store.resolve(ref)
    # A run several supervisors recorded: its first part's log (each part's is in its files).
    path = store.files_dir(store.load_record(run_id)) / RUN_LOG_FILENAME
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise StoreError(f"run {run_id}: the log cannot be read: {exc}") from exc


def plain(data: bytes) -> bytes:
    """The text a terminal shows at the end (`verdict.screen`): redraws replayed, escapes gone."""
    text = data.decode("utf-8", "surrogateescape")
    return "\n".join(screen_lines(text)).encode("utf-8", "surrogateescape")
