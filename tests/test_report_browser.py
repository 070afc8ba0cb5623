"""`repro report` in a real browser: Debian's headless Chromium loads the file:// page, and the
DOM it built and the screenshot it took show the summaries, the diff, the curves, the verdicts.

Chromium is a system package, not a Python dependency. `.ci/run` installs it and sets
REPRO_TEST_REQUIRE_CHROMIUM=1, so in CI its absence fails this test; elsewhere (macOS, a
machine without it) the test is skipped with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import record_of, repro
from helpers.report import TRAIN, Page
from helpers.repos import MakeRepo

ENV_REQUIRE = "REPRO_TEST_REQUIRE_CHROMIUM"
# Headless, no sandbox (CI runs as root), nothing fetched or synced, a fresh profile each time;
# /dev/shm is small in containers, so shared memory goes to /tmp.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WIDTH, HEIGHT = 1280, 1600
RUN_COLORS = ((0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28))  # report_html's first two curve colours
WHITE = (255, 255, 255)


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is not None:
        return found
    if os.environ.get(ENV_REQUIRE) == "1":
        pytest.fail(f"chromium is not installed and {ENV_REQUIRE}=1 (.ci/run installs it)")
    pytest.skip("chromium is not installed (Debian: apt-get install chromium)")


def _browse(chromium: str, page: Path, profile: Path, *mode: str) -> str:
    """Run headless Chromium on the file:// URL of `page`; its stdout."""
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *mode, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,  # the first start on a machine builds the font cache
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _png_rows(data: bytes) -> Iterator[bytes]:
    """The unfiltered scanlines of an 8-bit RGB or RGBA PNG (RFC 2083), stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, header = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        method, row = line[0], bytearray(line[1:])
        for x in range(stride):
            left = row[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if method == 1:
                row[x] = (row[x] + left) & 0xFF
            elif method == 2:
                row[x] = (row[x] + up) & 0xFF
            elif method == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif method == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[x] = (row[x] + pred) & 0xFF
        yield bytes(row) if bpp == 3 else bytes(b for i, b in enumerate(row) if i % 4 != 3)
        previous = row


def _pixels(png: Path) -> Counter[tuple[int, int, int]]:
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in _png_rows(png.read_bytes()):
        counts.update(zip(row[0::3], row[1::3], row[2::3], strict=True))
    return counts


def test_report_renders_in_headless_chromium(make_repo: MakeRepo, tmp_path: Path) -> None:
    chromium = _chromium()
    root = make_repo({"train.py": TRAIN})
    for seed in ("1", "2"):
        assert repro(root, "run", "--seed", seed, "train.py").returncode == 0
    first, second = str(record_of(root, "@~1")["id"]), str(record_of(root, "@")["id"])
    assert repro(root, "rerun", first).returncode == 0
    report = root / "report.html"
    assert repro(root, "report", first, second, "-o", str(report)).returncode == 0

    dom = Page()
    dom.feed(_browse(chromium, report, tmp_path / "profile-dom", "--dump-dom"))
    assert {"summaries", "environment", "curves", "verdicts", "variance"} <= set(dom.ids)
    text = " ".join(dom.text)
    assert first in text and second in text  # the run summaries
    assert "Seed" in text and "IDENTICAL" in text and "95% CI" in text
    assert dom.tags["svg"] == 2 and dom.tags["polyline"] == 4  # two metrics, two runs each
    strokes = {value for tag, name, value in dom.attrs if tag == "polyline" and name == "stroke"}
    assert strokes == {"#{:02x}{:02x}{:02x}".format(*color) for color in RUN_COLORS}

    shot = tmp_path / "report.png"
    _browse(
        chromium,
        report,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
    )
    pixels = _pixels(shot)
    assert sum(pixels.values()) == WIDTH * HEIGHT
    assert sum(n for color, n in pixels.items() if color != WHITE) > WIDTH * HEIGHT // 100
    assert len(pixels) > 50  # text, borders, curves: far from a blank page
    for color in RUN_COLORS:  # each run's curves: 2 px wide across two charts (~1,200 pixels;
        # the run's colour square in the summary table is ~100)
        near = sum(
            n
            for c, n in pixels.items()
            if max(abs(a - b) for a, b in zip(c, color, strict=True)) <= 12
        )
        assert near > 600, f"curve colour {color} covers only {near} pixels"
