"""The verdict's output comparison on many files (app/rerun/judge.py `compare_outputs`)."""

from __future__ import annotations

from pathlib import Path

from blake3 import blake3

from repro_run.app.rerun.judge import compare_outputs
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import ManifestEntry, TreeRef
from repro_run.store import Store


def _plot(date: bytes) -> bytes:
    return b"%PDF-1.4\n<< /CreationDate (D:" + date + b"Z) >>\n1 0 obj [0.25] endobj\n"


def _tree(store: Store, entries: list[ManifestEntry]) -> TreeRef:
    manifest = store.put_bytes(encode_manifest(sorted(entries, key=lambda e: e.path)))
    return TreeRef("out", manifest, len(entries), sum(e.size for e in entries), manifest, ())


def test_ten_thousand_equal_files_are_decided_from_their_hashes_without_reading_them(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / ".repro", index=False)
    # Recorded in both runs' manifests, but their objects are not in the store: reading any of
    # them would fail, and the file would be reported as differing.
    equal = [
        ManifestEntry(f"plots/p{i:05d}.png", 4096, blake3(b"%d" % i).hexdigest())
        for i in range(10_000)
    ]
    sides = []
    for date in (b"20261207120000", b"20261207120001"):
        data = _plot(date)
        changed = ManifestEntry("predict.pdf", len(data), store.put_bytes(data))
        sides.append(_tree(store, [*equal, changed]))
    compared = compare_outputs(store, (sides[0],), (sides[1],))
    assert compared.compared == 10_001 and compared.differ == ()
    assert compared.equal_but == ("out/predict.pdf: equal but for its creation date",)
