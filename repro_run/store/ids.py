"""Run IDs: creation time in whole seconds plus a random part, sortable and unique across machines.

An ID is 6 characters of time and 12 random ones (60 bits): only IDs of the same second can
collide, and n of them do with probability 1 - exp(-n(n-1)/2 / 2**60): 4.3e-11 for a job of
10,000 tasks started in one second on any number of machines sharing a remote (4.3e-7 for a
million). Before, the random part was 4 characters (20 bits: 38% for 1,000 runs in one second);
those IDs stay valid everywhere. A clash is refused, never overwritten: `mkdir` here, and a
no-replace rename where a run arrives whole (`durable.rename_noreplace`).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

# Crockford base32, lowercase: no i, l, o, u, so IDs read aloud unambiguously; the alphabet is
# in ASCII order, so sorting IDs as strings sorts them by creation time.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
TIME_CHARS = 6  # 32**6 seconds: good until 2058
RANDOM_CHARS = 12  # 60 bits: see the module docstring
LEGACY_RANDOM_CHARS = 4  # the first format's: its IDs still name runs in stores and bundles
ID_LENGTH = TIME_CHARS + RANDOM_CHARS
LEGACY_ID_LENGTH = TIME_CHARS + LEGACY_RANDOM_CHARS
_MAX_SECONDS = len(ALPHABET) ** TIME_CHARS - 1
_ALLOCATION_ATTEMPTS = 64
_RUN_ID_RE = re.compile(
    f"[{ALPHABET}]{{{LEGACY_ID_LENGTH}}}(?:[{ALPHABET}]{{{ID_LENGTH - LEGACY_ID_LENGTH}}})?"
)


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def encode_time(unix_seconds: float) -> str:
    """The time part of an ID; clamped to the representable range so IDs stay sortable."""
    seconds = min(max(int(unix_seconds) - EPOCH, 0), _MAX_SECONDS)
    return _encode(seconds, TIME_CHARS)


def new_run_id(now: float | None = None) -> str:
    """A fresh ID for `now` (default: the current time); unique only once its directory exists."""
    when = time.time() if now is None else now
    # os.urandom, not `secrets`: that module imports hmac/hashlib (OpenSSL) on every run.
    # len(ALPHABET) == 32 divides 256, so `byte % 32` is uniform.
    return encode_time(when) + "".join(ALPHABET[b % 32] for b in os.urandom(RANDOM_CHARS))


def run_id_time(run_id: str) -> int:
    """Unix seconds encoded in an ID's time part."""
    value = 0
    for char in run_id[:TIME_CHARS]:
        value = value * len(ALPHABET) + ALPHABET.index(char)
    return value + EPOCH


def is_run_id(name: str) -> bool:
    """Whether `name` is an ID of this format or of the legacy one (4 random characters)."""
    return _RUN_ID_RE.fullmatch(name) is not None


def allocate_run_dir(runs_dir: Path, now: float | None = None) -> tuple[str, Path]:
    """Create `runs_dir/<new id>`; `mkdir` is atomic, so concurrent callers never share an ID."""
    for _ in range(_ALLOCATION_ATTEMPTS):
        run_id = new_run_id(now)
        path = runs_dir / run_id
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return run_id, path
    raise FileExistsError(f"no free run ID in {runs_dir} after {_ALLOCATION_ATTEMPTS} attempts")
