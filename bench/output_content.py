"""The verdict's output comparison (`app.rerun.judge.compare_outputs`) on 10,000 output files
that differ only by their creation date (PDF-like: an Info dictionary, a cross-reference table),
as a ratio to hashing the same bytes (reading both sides' objects and BLAKE3-hashing them).

Run with `.venv/bin/python bench/output_content.py [--files N] [--runs N] [--write]`.
Target (issue 16): at most 1.5x.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from blake3 import blake3
from results import write_section

from repro_run.app.rerun.judge import compare_outputs
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import ManifestEntry, TreeRef
from repro_run.store import Store

BODY = b"".join(
    b"%d 0 obj\n<< /Type /Page /Contents [%d 0.25 m] >>\nendobj\n" % (i, i) for i in range(120)
)


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


def side(store: Store, files: int, date: str) -> tuple[TreeRef, list[str]]:
    entries, digests = [], []
    for i in range(files):
        data = pdf(i, date)
        digest = store.put_bytes(data)
        digests.append(digest)
        entries.append(ManifestEntry(f"plot{i:05d}.pdf", len(data), digest))
    manifest = store.put_bytes(encode_manifest(sorted(entries, key=lambda e: e.path)))
    size = sum(e.size for e in entries)
    return TreeRef("plots", manifest, files, size, manifest, ()), digests


def hash_all(store: Store, digests: list[str]) -> None:
    for digest in digests:
        with open(store.object_path(digest), "rb") as file:
            blake3(file.read()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / ".repro", index=False)
        old, old_digests = side(store, args.files, "20261207120000")
        new, new_digests = side(store, args.files, "20261207120001")
        compare, hashing = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            compared = compare_outputs(store, (old,), (new,))
            differ, equal_but = compared.differ, compared.equal_but
            compare.append(time.perf_counter() - start)
            assert not differ and len(equal_but) == args.files
            start = time.perf_counter()
            hash_all(store, old_digests + new_digests)
            hashing.append(time.perf_counter() - start)
    size = old.bytes + new.bytes
    c, h = statistics.median(compare), statistics.median(hashing)
    body = (
        f"Command: `.venv/bin/python bench/output_content.py --files {args.files} --runs "
        f"{args.runs} --write`, medians of {args.runs} runs (warm page cache).\n\n"
        f"{args.files:,} output files a side ({size / 1e6:.1f} MB in all), each equal but for its "
        "creation date: the worst case (files whose hashes are equal are never read).\n\n"
        "| what | median |\n|---|---|\n"
        f"| the verdict's output comparison | {c * 1000:.0f} ms |\n"
        f"| reading and BLAKE3-hashing the same bytes | {h * 1000:.0f} ms |\n"
        f"| ratio | {c / h:.2f}x (target ≤ 1.5x) |\n"
    )
    print(body)
    if args.write:
        write_section("output-content", "Output comparison by content (issue 16)", body)


if __name__ == "__main__":
    main()
