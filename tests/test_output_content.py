"""Output files compared by content: what real writers vary on every run is set aside, and a
changed value still differs (`verdict/content.py`, on files matplotlib really wrote)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from repro_run.verdict.content import equal_but_for
from repro_run.verdict.plots import (
    CREATION,
    ELEMENT_IDS,
    MODIFICATION,
    OFFSETS,
    PNG_TIME,
)

# One process writes the same plot at two times (and time zones), and with its last value
# changed: matplotlib reads SOURCE_DATE_EPOCH at each save. The PNG carries matplotlib's own
# "Creation Time" text (its `metadata` API) since by default it holds no date.
PLOT = """\
import datetime, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
out = sys.argv[1]
for side, value, epoch, hours in (
    ("first", 0.0625, 1700000000, 0), ("later", 0.0625, 1800000000, 1), ("changed", 0.0626, 1700000000, 0)
):
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    os.mkdir(f"{out}/{side}")
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2, 3], [0.5, 0.25, 0.125, value], marker="o")
    ax.set_title("loss")
    for ext in ("pdf", "ps", "eps", "svg"):
        fig.savefig(f"{out}/{side}/plot.{ext}")
    stamp = datetime.datetime.fromtimestamp(epoch).isoformat()
    fig.savefig(f"{out}/{side}/plot.png", metadata={"Creation Time": stamp})
    zone = datetime.timezone(datetime.timedelta(hours=hours))
    when = datetime.datetime.fromtimestamp(epoch, zone)
    fig.savefig(f"{out}/{side}/zoned.pdf", metadata={"CreationDate": when})
"""
FORMATS = ("pdf", "ps", "eps", "svg", "png")


@pytest.fixture(scope="module")
def plots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("plots")
    subprocess.run([sys.executable, "-c", PLOT, str(base)], check=True)
    return base


def read(plots: Path, side: str, name: str) -> bytes:
    return (plots / side / name).read_bytes()


@pytest.mark.parametrize("ext", FORMATS)
def test_the_same_plot_written_later_is_equal_but_for_its_creation_date(
    plots: Path, ext: str
) -> None:
    first, later = read(plots, "first", f"plot.{ext}"), read(plots, "later", f"plot.{ext}")
    assert first != later
    ignored = equal_but_for(first, later)
    assert ignored is not None and ignored[0] == CREATION
    # matplotlib salts the hashes that name SVG elements with a random UUID on every save.
    assert ignored[1:] == ((ELEMENT_IDS,) if ext == "svg" else ())


@pytest.mark.parametrize("ext", FORMATS)
def test_a_changed_plotted_value_differs(plots: Path, ext: str) -> None:
    name = f"plot.{ext}"
    assert equal_but_for(read(plots, "first", name), read(plots, "changed", name)) is None


def test_a_pdf_date_in_another_time_zone_moves_the_offsets_and_is_still_only_a_date(
    plots: Path,
) -> None:
    first, later = read(plots, "first", "zoned.pdf"), read(plots, "later", "zoned.pdf")
    assert b"Z)" in first and b"'00')" in later  # D:...Z against D:...-01'00': longer
    assert equal_but_for(first, later) == (CREATION, OFFSETS)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def with_chunk_after_header(png: bytes, chunk: bytes) -> bytes:
    end_of_header = 8 + 12 + 13  # signature, IHDR
    return png[:end_of_header] + chunk + png[end_of_header:]


def test_a_png_last_modified_time_chunk_is_set_aside(plots: Path) -> None:
    png = read(plots, "first", "plot.png")
    old = with_chunk_after_header(
        png, png_chunk(b"tIME", struct.pack(">HBBBBB", 2026, 1, 2, 3, 4, 5))
    )
    new = with_chunk_after_header(
        png, png_chunk(b"tIME", struct.pack(">HBBBBB", 2026, 1, 2, 3, 4, 6))
    )
    assert equal_but_for(old, new) == (PNG_TIME,)


def test_png_text_that_is_not_a_date_is_compared(plots: Path) -> None:
    png = read(plots, "first", "plot.png")
    modified = png_chunk(b"tEXt", b"date:modify\x002026-01-01")
    assert equal_but_for(png, with_chunk_after_header(png, modified)) == (MODIFICATION,)
    comment = png_chunk(b"tEXt", b"Comment\x00step 10")
    assert equal_but_for(png, with_chunk_after_header(png, comment)) is None


def test_a_truncated_png_is_compared_by_its_bytes(plots: Path) -> None:
    png = read(plots, "first", "plot.png")
    assert equal_but_for(png, png[:-20]) is None


def test_a_format_not_understood_is_compared_by_its_bytes() -> None:
    assert equal_but_for(b"created 2026-01-01\n", b"created 2026-01-02\n") is None
    assert equal_but_for(b"same\n", b"same\n") == ()


def test_files_of_two_formats_differ(plots: Path) -> None:
    assert equal_but_for(read(plots, "first", "plot.ps"), read(plots, "first", "plot.pdf")) is None


def _document(date: bytes, value: bytes) -> bytes:
    return b"%PDF-1.4\n<< /CreationDate (D:" + date + b"Z) >>\n1 0 obj [" + value + b"] endobj\n"


def test_a_value_changed_after_a_changed_date_differs() -> None:
    # The date is explained where it differs; the value after it is not a volatile part.
    old = _document(b"20261207120000", b"0.25")
    assert equal_but_for(old, _document(b"20261207120001", b"0.25")) == (CREATION,)
    assert equal_but_for(old, _document(b"20261207120001", b"0.26")) is None
