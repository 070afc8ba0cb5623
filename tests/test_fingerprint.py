"""Dataset manifests: canonical, stable digests; symlinks as links; special files skipped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.fingerprint import reference_entries
from hypothesis import given
from hypothesis import strategies as st

from repro_run.core.errors import DataError
from repro_run.fingerprint import hashing
from repro_run.fingerprint.engine import fingerprint
from repro_run.fingerprint.manifest import decode_manifest, encode_manifest, manifest_digest
from repro_run.fingerprint.tree import scan_tree
from repro_run.models import ManifestEntry


def _digest(path: Path) -> str:
    return fingerprint(path).digest


def _engine_entries(path: Path) -> tuple[ManifestEntry, ...]:
    return decode_manifest(fingerprint(path).manifest)


def _dataset(root: Path) -> Path:
    (root / "train").mkdir(parents=True)
    (root / "train" / "a.csv").write_bytes(b"1,2\n")
    (root / "train" / "b.csv").write_bytes(b"3,4\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    return root


def test_the_digest_does_not_depend_on_the_locale(tmp_path: Path) -> None:
    """`café`, a name that is not UTF-8 and a link to `café`: the same manifest whether the
    file system encoding is UTF-8 or, in a C locale without UTF-8 mode, ASCII. The
    manifest's names map back to the file's own bytes in either."""
    root = tmp_path / "d"
    root.mkdir()
    (root / os.fsdecode(b"caf\xc3\xa9")).write_bytes(b"x")
    (root / os.fsdecode(b"bad\xff")).write_bytes(b"y")
    os.symlink(b"caf\xc3\xa9", os.path.join(os.fsencode(root), b"link\xc3\xa9"))
    probe = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from repro_run.fingerprint.engine import fingerprint\n"
        "from repro_run.fingerprint.manifest import decode_manifest\n"
        "from repro_run.models import local_name\n"
        "result = fingerprint(Path(sys.argv[1]))\n"
        "names = sorted(os.fsencode(local_name(e.path)) for e in decode_manifest(result.manifest))\n"
        "assert names == sorted(os.listdir(os.fsencode(sys.argv[1]))), names\n"
        "print(sys.getfilesystemencoding(), result.digest)\n"
    )
    c_locale = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    outputs = []
    for extra in ({"LC_ALL": "C.UTF-8"}, c_locale):
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **extra}
        done = subprocess.run(
            [sys.executable, "-c", probe, str(root)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    (utf8, digest), (ascii_, same) = outputs
    assert (utf8, ascii_) == ("utf-8", "ascii") and same == digest


def test_golden_digest_is_pinned(tmp_path: Path) -> None:
    """The digest depends only on names, sizes, contents, exec bits and link targets."""
    root = _dataset(tmp_path / "d")
    os.symlink("train/a.csv", root / "latest")
    encoded = fingerprint(root).manifest
    assert encode_manifest(reference_entries(root)) == encoded
    assert fingerprint(root, workers=2, parallel_after_s=0).manifest == encoded
    assert encoded.decode().splitlines() == [
        '{"format":"repro-manifest","version":1}',
        '["latest",0,null,false,"train/a.csv"]',
        '["run.sh",10,"bc1f407a11c9377c8b9b13f956b279c8462775105eb958fc9ae3c40de87cc96e",true,null]',
        '["train/a.csv",4,"6c703dc4a0fba77a7fa9ee6cc2a992b8d1dbe86e17f897c3c91636539e61f2f1",false,null]',
        '["train/b.csv",4,"50aea7b72332711a7a9d81fe22aed5597dd7b5a87ea51d6e64ff38b3ebf66d02",false,null]',
    ]
    assert (
        manifest_digest(encoded)
        == "b9b55ebacde24f60d5ebb5948034aa069cd6057696f5182fd96f883a2612a390"
    )


def test_digest_does_not_depend_on_creation_order(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root, names in ((one, ["x", "b", "a"]), (two, ["a", "x", "b"])):
        root.mkdir()
        for name in names:
            (root / name).write_text(name)
    assert _digest(one) == _digest(two)


def test_content_size_and_exec_bit_change_the_digest(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d")
    before = _digest(root)
    (root / "train" / "a.csv").write_bytes(b"1,3\n")
    after_content = _digest(root)
    (root / "run.sh").chmod(0o644)
    after_mode = _digest(root)
    assert len({before, after_content, after_mode}) == 3


def test_symlinks_are_recorded_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("do not read")
    root = tmp_path / "d"
    root.mkdir()
    os.symlink(secret, root / "link")
    os.symlink("loop", root / "loop")  # a link loop ends: links are never followed
    entries = {e.path: e for e in _engine_entries(root)}
    assert entries["link"].link == str(secret) and entries["link"].hash is None
    assert entries["loop"].link == "loop"


def test_symlinked_root_is_followed(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "d")
    os.symlink(root, tmp_path / "alias")
    assert _digest(tmp_path / "alias") == _digest(root)


def test_fifo_and_socket_are_skipped_without_reading(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "ok").write_text("x")
    os.mkfifo(root / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        scan = scan_tree(root)
    finally:
        sock.close()
    assert [f.rel for f in scan.files] == ["ok"]
    assert sorted(scan.skipped) == ["fifo: pipe", "socket: sock"]


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="path not found"):
        scan_tree(tmp_path / "nope")


def test_a_file_removed_between_listing_and_hashing_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. deleted by a cleanup job: the directory is listed again, and the manifest
    describes it as it is now."""
    root = tmp_path / "d"
    root.mkdir()
    (root / "keep.bin").write_text("k")
    (root / "vanishing.bin").write_text("x")
    real_open = hashing._open

    def open_after_cleanup(path: str) -> int:
        if path.endswith("vanishing.bin"):
            (root / "vanishing.bin").unlink(missing_ok=True)
        return real_open(path)

    monkeypatch.setattr(hashing, "_open", open_after_cleanup)
    assert [e.path for e in _engine_entries(root)] == ["keep.bin"]


def test_store_directory_inside_a_dataset_is_not_walked(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / ".repro" / "objects").mkdir(parents=True)
    (root / ".repro" / "objects" / "x").write_text("x")
    (root / "a").write_text("a")
    assert [f.rel for f in scan_tree(root).files] == ["a"]


def test_non_utf8_names_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    name = os.fsdecode(b"caf\xe9.bin")
    try:
        (root / name).write_bytes(b"x")
    except OSError:
        pytest.skip("this filesystem rejects non-UTF-8 names")
    entries = _engine_entries(root)
    assert entries == reference_entries(root)
    assert decode_manifest(encode_manifest(entries)) == entries


def test_names_that_need_json_escapes_encode_exactly_like_json(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for name in (
        'quo"te',
        "back\\slash",
        "tab\there",
        "caf\u00e9",
        "\u65e5\u672c",
        "del\x7f",
        "ok",
    ):
        (root / name).mkdir(parents=True)
        (root / name / name).write_text(name)
    assert fingerprint(root).manifest == encode_manifest(reference_entries(root))


# Names as the filesystem gives them: any bytes but "/" and NUL, decoded like os.scandir does.
_names = (
    st.binary(min_size=1, max_size=12)
    .filter(lambda b: b"/" not in b and b"\x00" not in b)
    .map(os.fsdecode)
)
_entries = st.lists(
    st.builds(
        ManifestEntry,
        path=_names,
        size=st.integers(0, 2**40),
        hash=st.one_of(st.none(), st.text("0123456789abcdef", min_size=64, max_size=64)),
        executable=st.booleans(),
        link=st.one_of(st.none(), _names),
    ),
    unique_by=lambda e: e.path,
    max_size=20,
)


@given(_entries)
def test_manifest_encoding_is_order_independent_and_round_trips(
    entries: list[ManifestEntry],
) -> None:
    encoded = encode_manifest(entries)
    assert encode_manifest(reversed(entries)) == encoded
    assert set(decode_manifest(encoded)) == set(entries)
