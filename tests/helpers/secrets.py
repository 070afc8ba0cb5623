"""Secret masking for tests: the scrubber fed chunk by chunk, and the masking it must match."""

from __future__ import annotations

from repro_run.execute.logsink import SecretScrubber


def scrub(chunks: list[bytes], secrets: list[str]) -> bytes:
    """What the log sink's scrubber writes for `chunks` fed one at a time."""
    scrubber = SecretScrubber(secrets)
    return b"".join(scrubber.feed(c) for c in chunks) + scrubber.flush()


def masked_reference(data: bytes, secrets: list[str]) -> bytes:
    """Mark every byte of every occurrence, then write one mask per marked run."""
    marked = [False] * len(data)
    for secret in secrets:
        needle = secret.encode()
        at = data.find(needle)
        while at != -1:
            marked[at : at + len(needle)] = [True] * len(needle)
            at = data.find(needle, at + 1)
    out, i = b"", 0
    while i < len(data):
        if marked[i]:
            out += b"***"
            while i < len(data) and marked[i]:
                i += 1
        else:
            out += data[i : i + 1]
            i += 1
    return out
