"""`repro log`: a run's stored output, raw or as a terminal would have left it (`--plain`).

A progress bar (tqdm) redraws one line in place with `\\r` (and on some terminals moves the
cursor with ANSI sequences); the log keeps those bytes as the command wrote them. `--plain`
replays the carriage returns and backspaces, drops the escape sequences, and keeps the final
state of each line.
"""

from __future__ import annotations

import re
from pathlib import Path

from repro_run.app.query import open_store
from repro_run.constants import RUN_LOG_FILENAME
from repro_run.errors import StoreError

# CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \\), and two-byte ESC sequences.
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def read_log(cwd: Path, ref: str) -> bytes:
    store = open_store(cwd)
    run_id = store.resolve(ref)
    path = store.run_dir(run_id) / RUN_LOG_FILENAME
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise StoreError(f"run {run_id}: the log cannot be read: {exc}") from exc


def plain(data: bytes) -> bytes:
    """The text a terminal shows at the end: `\\r` rewrites, `\\b` steps back, escapes vanish."""
    return b"\n".join(_final_line(line) for line in _ESCAPES.sub(b"", data).split(b"\n"))


def _final_line(line: bytes) -> bytes:
    if b"\b" in line:
        return _replay(line)
    if b"\r" not in line:
        return line
    screen = b""
    for segment in line.split(b"\r"):  # each one overwrites the start of the line
        screen = segment + screen[len(segment) :]
    return screen


def _replay(line: bytes) -> bytes:
    screen = bytearray()
    column = 0
    for byte in line:
        if byte == 0x0D:  # \r
            column = 0
        elif byte == 0x08:  # \b
            column = max(column - 1, 0)
        else:
            screen[column : column + 1] = bytes((byte,))
            column += 1
    return bytes(screen)
