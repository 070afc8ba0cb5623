"""The verdict's output comparison (`app.rerun.judge.compare_outputs`), as a ratio to hashing
the same bytes the way the store verifies its objects (`store.fsck.content_matches`: read in
chunks, BLAKE3), both measured in the same run, on: 10,000 output files a side that differ only
by their creation date (PDF-like: an Info dictionary, a cross-reference table); 10,000 files a
side that are equal (decided from the manifests alone); and one TensorBoard event file of
scalars a side (three tags a step, as `SummaryWriter.add_scalar` writes them), equal but for
its wall times.

Run with `.venv/bin/python bench/output_content.py [--files N] [--events-mb N] [--runs N]
[--write]`. Target (issue 16): at most 1.5x.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from results import write_section

from repro_run.app.rerun.judge import OutputComparison, compare_outputs
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.metrics.crc32c import masked_crc32c
from repro_run.models import ManifestEntry, TreeRef
from repro_run.store import Store
from repro_run.store.fsck import content_matches

BODY = b"".join(
    b"%d 0 obj\n<< /Type /Page /Contents [%d 0.25 m] >>\nendobj\n" % (i, i) for i in range(120)
)
EVENTS = "events.out.tfevents.1765000000.host.1.0"


def pdf(index: int, date: str) -> bytes:
    info = b"<< /Creator (bench) /CreationDate (D:%sZ) >>" % date.encode()
    xref = b"".join(b"%010d 00000 n \n" % (i * 64) for i in range(120))
    return (
        b"%%PDF-1.4\n%% file %d\n" % index
        + BODY
        + info
        + b"\nxref\n"
        + xref
        + b"startxref\n9\n%%EOF\n"
    )


def _record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    crcs = struct.pack("<I", masked_crc32c(length)), struct.pack("<I", masked_crc32c(data))
    return length + crcs[0] + data + crcs[1]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _scalar(wall_time: float, step: int, tag: bytes, value: float) -> bytes:
    """An Event: wall_time (1), step (2), summary (5) -> value (1) -> tag (1), simple_value (2)."""
    item = b"\x0a" + bytes([len(tag)]) + tag + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + bytes([len(item)]) + item
    event = b"\x09" + struct.pack("<d", wall_time) + b"\x10" + _varint(step)
    return event + b"\x2a" + bytes([len(summary)]) + summary


def events(path: Path, size: int, start: float) -> None:
    """A file of `size` bytes or more: loss, acc and lr each step, wall times from `start`."""
    with path.open("wb") as f:
        written = step = 0
        while written < size:
            chunk = b"".join(
                _record(_scalar(start + step * 0.01, step, tag, 1.0 / (step + 1 + i)))
                for i, tag in enumerate((b"loss", b"acc", b"lr"))
            )
            f.write(chunk)
            written += len(chunk)
            step += 1


def tree(store: Store, entries: list[ManifestEntry], path: str = "plots") -> TreeRef:
    manifest = store.put_bytes(encode_manifest(sorted(entries, key=lambda e: e.path)))
    size = sum(e.size for e in entries)
    return TreeRef(path, manifest, len(entries), size, manifest, ())


def plots(store: Store, files: int, date: str) -> tuple[TreeRef, list[str]]:
    entries, digests = [], []
    for i in range(files):
        data = pdf(i, date)
        digests.append(store.put_bytes(data))
        entries.append(ManifestEntry(f"plot{i:05d}.pdf", len(data), digests[-1]))
    return tree(store, entries), digests


def event_file(store: Store, tmp: Path, mb: int, start: float) -> tuple[TreeRef, list[str]]:
    path = tmp / EVENTS
    events(path, mb << 20, start)
    digest, size = store.put_file(path)
    path.unlink()
    return tree(store, [ManifestEntry(EVENTS, size, digest)], "runs"), [digest]


def hash_all(store: Store, digests: list[str]) -> None:
    for digest in digests:
        assert content_matches(store.object_path(digest), digest)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(
    store: Store, old: TreeRef, new: TreeRef, digests: list[str], runs: int
) -> tuple[float, float, OutputComparison]:
    """Medians of `runs` interleaved comparisons and hashings."""
    compare, hashing = [], []
    compared = compare_outputs(store, (old,), (new,))
    for _ in range(runs):
        seconds, compared_now = timed(lambda: compare_outputs(store, (old,), (new,)))
        compare.append(seconds)
        assert compared_now == compared
        hashing.append(timed(lambda: hash_all(store, digests))[0])
    return statistics.median(compare), statistics.median(hashing), compared


def row(label: str, size: int, compare: float, hashing: float) -> str:
    return (
        f"| {label} | {size / 1e6:.1f} MB | {compare * 1000:.0f} ms | {hashing * 1000:.0f} ms "
        f"| {compare / hashing:.2f}x |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--events-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / ".repro", index=False)
        old, old_digests = plots(store, args.files, "20261207120000")
        new, new_digests = plots(store, args.files, "20261207120001")
        both = old_digests + new_digests
        c, h, compared = measure(store, old, new, both, args.runs)
        assert not compared.differ and len(compared.equal_but) == args.files
        rows.append(
            row(
                f"{args.files:,} plots a side, equal but for their creation date",
                old.bytes + new.bytes,
                c,
                h,
            )
        )
        print(rows[-1], flush=True)
        c, h, compared = measure(store, old, old, old_digests * 2, args.runs)
        assert not compared.differ and not compared.equal_but
        rows.append(row(f"{args.files:,} plots a side, equal", 2 * old.bytes, c, h))
        print(rows[-1], flush=True)
        old, old_digests = event_file(store, Path(tmp), args.events_mb, 1.765e9)
        new, new_digests = event_file(store, Path(tmp), args.events_mb, 1.765e9 + 3600.5)
        c, h, compared = measure(store, old, new, old_digests + new_digests, args.runs)
        assert compared.equal_but == (f"runs/{EVENTS}: equal but for its wall times",)
        rows.append(
            row(
                f"one TensorBoard event file of scalars a side ({args.events_mb} MB)",
                old.bytes + new.bytes,
                c,
                h,
            )
        )
        print(rows[-1], flush=True)
    body = (
        f"Command: `.venv/bin/python bench/output_content.py --files {args.files} --events-mb "
        f"{args.events_mb} --runs {args.runs} --write`, medians of {args.runs} interleaved runs "
        "(warm page cache; 2 shared cores).\n\n"
        "| outputs | bytes (both sides) | the verdict's output comparison | hashing the same "
        "bytes (the store's BLAKE3 check) | ratio (target ≤ 1.5x) |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )
    if args.write:
        write_section("output-content", "Output comparison by content (issue 16)", body)


if __name__ == "__main__":
    main()
