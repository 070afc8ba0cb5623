"""Secret masking of the stored log, whatever the chunking of the child's output."""

from __future__ import annotations

import itertools
from pathlib import Path

from helpers.secrets import masked_reference, scrub
from hypothesis import given
from hypothesis import strategies as st

from repro_run.execute.logsink import LogSink, SecretScrubber

SECRET = "rpr_CANARY_5f2c9e"


def test_secret_split_at_every_position_is_masked() -> None:
    data = f"a {SECRET} b".encode()
    for cut in range(len(data) + 1):
        assert scrub([data[:cut], data[cut:]], [SECRET]) == b"a *** b"


def test_secret_split_over_many_one_byte_chunks_is_masked() -> None:
    data = f"{SECRET}x{SECRET}".encode()
    assert scrub([bytes([b]) for b in data], [SECRET]) == b"***x***"


def test_overlapping_secrets_leak_no_byte() -> None:
    assert scrub([b"xxabcdefyy"], ["abcd", "cdef"]) == b"xx***yy"


def test_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    assert scrub([b"<", b"pass", b"word123>"], ["pass", "password123"]) == b"<***>"


def test_without_secrets_bytes_pass_unchanged() -> None:
    scrubber = SecretScrubber([""])
    assert scrubber.feed(b"\x00\xff") == b"\x00\xff"
    assert scrubber.flush() == b""


def test_partial_secret_at_end_of_stream_is_flushed_verbatim() -> None:
    assert scrub([b"end ", SECRET[:5].encode()], [SECRET]) == b"end " + SECRET[:5].encode()


def test_log_masks_each_stream_apart(tmp_path: Path) -> None:
    log = tmp_path / "output.log"
    sink = LogSink(log, [SECRET], streams=2)
    half = len(SECRET) // 2
    sink.write(0, SECRET[:half].encode())
    sink.write(1, b"stderr line\n")  # another stream between the halves
    sink.write(0, SECRET[half:].encode() + b"\n")
    sink.end(0)
    sink.end(1)
    sink.close()
    assert SECRET.encode() not in log.read_bytes()
    assert sorted(log.read_bytes().splitlines()) == [b"***", b"stderr line"]


@given(
    parts=st.lists(
        st.sampled_from([b"a", b"b", b"ab", b"ba", b"zz", b"\x00", b"aab"]), max_size=40
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10),
    secrets=st.lists(
        st.sampled_from(["aab", "ba", "abab", "a", "bb", "zzz"]), min_size=1, max_size=3
    ),
)
def test_any_chunking_masks_every_secret_byte(
    parts: list[bytes], cuts: list[int], secrets: list[str]
) -> None:
    data = b"".join(parts)
    edges = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(edges)]
    assert scrub(chunks, secrets) == masked_reference(data, secrets)
