"""The live tee of the child's output: raw to the terminal, secret values masked in the log."""

from __future__ import annotations

import errno
import os
import selectors
from collections.abc import Collection, Sequence
from pathlib import Path

from repro_run.core.constants import SECRET_MASK
from repro_run.core.secretmatch import SecretMatcher

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import BinaryIO

_MASK = SECRET_MASK.encode()
_CHUNK = 64 * 1024
_SWEEP_CHUNKS = 32  # 2 MiB: more than any pipe buffer holds by default


class SecretScrubber:
    """Masks every occurrence of any secret in one byte stream fed in arbitrary chunks.

    Only a tail that a secret could still continue is held back, so lines reach the log as
    they come (a fixed holdback would cut lines in the merged log). Overlapping or adjacent
    occurrences merge into one mask: no byte of a secret leaks even when two secrets overlap.
    Memory stays bounded by one chunk plus the longest secret; all the secrets are looked for
    in one pass (`SecretMatcher`), so a run with thousands of them logs as fast.
    """

    def __init__(self, secrets: Collection[str]) -> None:
        # surrogateescape: a value read from a non-UTF-8 environment is printed as its bytes
        needles = {s.encode("utf-8", "surrogateescape") for s in secrets if s}
        self._matcher = SecretMatcher(needles)
        self._pending = b""
        # A mask already written reaches this far into _pending (0: it ends right at its start),
        # so an occurrence overlapping or touching it continues that mask.
        self._masked: int | None = None

    def feed(self, chunk: bytes) -> bytes:
        if not self._matcher:
            return chunk
        data = self._pending + chunk
        return self._emit(data, len(data) - self._matcher.partial_tail(data))

    def flush(self) -> bytes:
        """What is held back, scrubbed: call once at end of stream."""
        return self._emit(self._pending, len(self._pending))

    def _emit(self, data: bytes, cut: int) -> bytes:
        # An occurrence starting before `cut` lies wholly inside `data` (else the tail from
        # its start would be partial), so it is final.
        out: list[bytes] = []
        pos, masked = 0, self._masked if cut == 0 else None
        for start, end in self._spans(data):
            if start >= cut:
                break
            out.append(data[pos:start])
            if not (start == 0 and self._masked is not None):
                out.append(_MASK)
            pos = end
            masked = end - cut if end >= cut else None
        out.append(data[pos:cut])
        self._masked = masked
        self._pending = data[cut:]
        return b"".join(out)

    def _spans(self, data: bytes) -> list[tuple[int, int]]:
        found = self._matcher.spans(data)
        if self._masked is None:
            return found
        merged = [(0, self._masked)]  # the mask carried over, merged with what touches it
        for start, end in found:
            if start <= merged[-1][1]:
                merged[-1] = (0, max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


class LogSink:
    """One log file for several streams, written in arrival order, each stream scrubbed apart.

    The file is unbuffered so the log is live (and complete up to a supervisor crash). A failed
    write (disk full) stops logging but never the run: `error` says what happened.
    """

    def __init__(self, path: Path, secrets: Collection[str], streams: int) -> None:
        self._file = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
        self._scrubbers = [SecretScrubber(secrets) for _ in range(streams)]
        self.error: OSError | None = None

    def write(self, stream: int, chunk: bytes) -> None:
        self._write(self._scrubbers[stream].feed(chunk))

    def end(self, stream: int) -> None:
        self._write(self._scrubbers[stream].flush())

    def close(self) -> None:
        self._file.close()

    def _write(self, data: bytes) -> None:
        if not data or self.error is not None:
            return
        try:
            view = memoryview(data)
            while view:  # a raw file may write short
                view = view[os.write(self._file.fileno(), view) :]
        except OSError as exc:
            self.error = exc


class OutputTee:
    """Moves the child's pipes, as bytes arrive, to the terminal and to the log.

    Reads are non-blocking 64 KiB `os.read`s driven by `selectors`, so memory stays bounded
    whatever the child writes and a child that fills one pipe never blocks on the other.
    A terminal that goes away (a closed pipe after `| head`) is dropped; the run goes on.
    """

    def __init__(self, fds: Sequence[int], terminals: Sequence[BinaryIO], sink: LogSink) -> None:
        self._terminals: list[BinaryIO | None] = list(terminals)
        self._sink = sink
        self._selector = selectors.DefaultSelector()
        self.counts = [0] * len(fds)  # raw bytes read, per stream
        for stream, fd in enumerate(fds):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ, stream)

    @property
    def open(self) -> bool:
        return bool(self._selector.get_map())

    def poll(self, timeout: float) -> None:
        for key, _ in self._selector.select(timeout):
            self._pump(key.fd, key.data)

    def sweep(self) -> None:
        """Take what is buffered once the writers are gone; never waits for more."""
        for key in list(self._selector.get_map().values()):
            # Bounded: a writer outside the run's session could keep the pipe full forever.
            for _ in range(_SWEEP_CHUNKS):
                if not self._pump(key.fd, key.data):
                    break
            if key.fd in self._selector.get_map():  # a writer outside the session still holds it
                self._end(key.fd, key.data)

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            self._end(key.fd, key.data)
        self._selector.close()

    def _pump(self, fd: int, stream: int) -> bool:
        try:
            chunk = os.read(fd, _CHUNK)
        except BlockingIOError:
            return False
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            chunk = b""  # a PTY master reads EIO, not EOF, once the last slave is closed
        if not chunk:
            self._end(fd, stream)
            return False
        self.counts[stream] += len(chunk)
        terminal = self._terminals[stream]
        if terminal is not None:
            try:
                terminal.write(chunk)
                terminal.flush()
            except (OSError, ValueError):
                self._terminals[stream] = None
        self._sink.write(stream, chunk)
        return True

    def _end(self, fd: int, stream: int) -> None:
        self._selector.unregister(fd)
        self._sink.end(stream)
