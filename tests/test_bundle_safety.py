"""`repro import` of hostile bundles (scenarios B11-B18): refused before anything is written."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import blake3
import pytest
from helpers.bundles import (
    PEAK_RSS_LIMIT,
    craft_bundle,
    extension_bomb,
    file_member,
    rebuild_bundle,
)
from helpers.cli import repro, repro_peak_rss, store_bytes
from helpers.repos import MakeRepo
from hypothesis import given, settings
from hypothesis import strategies as st

from repro_run.bundle import Limits, Member, check_member_name, open_bundle, write_bundle
from repro_run.core.errors import BundleError

DATA = b"hello"
DIGEST = blake3.blake3(DATA).hexdigest()


def _manifest(members: dict[str, bytes], total: int | None = None) -> bytes:
    listing = {
        n: {"size": len(d), "blake3": blake3.blake3(d).hexdigest()} for n, d in members.items()
    }
    size = sum(len(d) for d in members.values()) if total is None else total
    document = {"bundle_version": 1, "run": "x", "total_size": size, "members": listing}
    return json.dumps(document).encode()


def _special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, b""


def _read(path: Path, free_bytes: int = 1 << 40) -> dict[str, bytes]:
    """The members, extracted into a fresh directory beside the bundle, by name."""
    into = path.with_name(path.name + ".unpacked")
    into.mkdir()
    with open_bundle(path, Limits(1 << 30, 200.0, free_bytes)) as reader:
        names = list(reader.extract(into))
    return {name: (into / name).read_bytes() for name in names}


def test_a_written_bundle_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "ok.tar.gz"
    source = tmp_path / "hello"
    source.write_bytes(DATA)
    write_bundle(path, [Member(f"objects/{DIGEST}", source, len(DATA), DIGEST)], {"run": "x"})
    assert _read(path) == {f"objects/{DIGEST}": DATA}


@pytest.mark.parametrize("name", ["../../evil", "/abs/evil", "C:\\evil", "objects/../../evil"])
def test_escaping_member_names_are_refused(tmp_path: Path, name: str) -> None:
    path = craft_bundle(tmp_path / "b.tar.gz", [file_member(name, DATA)], _manifest({name: DATA}))
    with pytest.raises(BundleError, match="unexpected name"):
        _read(path)


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        (tarfile.SYMTYPE, "symbolic link"),
        (tarfile.LNKTYPE, "hard link"),
        (tarfile.CHRTYPE, "character device"),
        (tarfile.BLKTYPE, "block device"),
        (tarfile.FIFOTYPE, "FIFO"),
    ],
)
def test_links_and_special_members_are_refused(tmp_path: Path, kind: bytes, what: str) -> None:
    name = f"objects/{DIGEST}"
    entries = [_special(name, kind, linkname="bundle.json")]
    path = craft_bundle(tmp_path / "b.tar.gz", entries, _manifest({name: DATA}))
    with pytest.raises(BundleError, match=what):
        _read(path)


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    name = f"objects/{DIGEST}"
    path = craft_bundle(
        tmp_path / "b.tar.gz",
        [file_member(name, DATA), file_member(name, DATA)],
        _manifest({name: DATA}),
    )
    with pytest.raises(BundleError, match="twice"):
        _read(path)


def test_tampered_object_is_a_hash_mismatch(tmp_path: Path) -> None:
    name = f"objects/{DIGEST}"
    path = craft_bundle(
        tmp_path / "b.tar.gz", [file_member(name, b"hellp")], _manifest({name: b"hellp"})
    )
    with pytest.raises(BundleError, match="hash mismatch"):
        _read(path)


def test_declared_size_over_the_limit_aborts_early(tmp_path: Path) -> None:
    name = f"objects/{DIGEST}"
    path = craft_bundle(
        tmp_path / "b.tar.gz", [file_member(name, DATA)], _manifest({name: DATA}, total=10**15)
    )
    with pytest.raises(BundleError, match="over the limit"):
        _read(path)


def test_not_enough_free_space_refuses(tmp_path: Path) -> None:
    name = f"objects/{DIGEST}"
    path = craft_bundle(tmp_path / "b.tar.gz", [file_member(name, DATA)], _manifest({name: DATA}))
    with pytest.raises(BundleError, match="are free"):
        _read(path, free_bytes=2)


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    zeros = bytes(8 * 1024 * 1024)
    name = f"objects/{blake3.blake3(zeros).hexdigest()}"
    path = craft_bundle(tmp_path / "b.tar.gz", [file_member(name, zeros)], _manifest({name: zeros}))
    with pytest.raises(BundleError, match="expands more than"):
        _read(path)


NAMES = st.one_of(
    st.sampled_from(
        [
            "..",
            "../x",
            "%2e%2e/x",
            "objects\\..\\x",
            "objects/\x00",
            "bundle.json/",
            "\uff4fbjects/x",
            "objects/" + "a" * 300,
            "run/run.json/",
            "run/../run.json",
            "./bundle.json",
        ]
    ),
    st.text(alphabet=st.sampled_from("./\\%2e\x00ab_-\uff4f"), max_size=40),
    st.builds(
        "/".join, st.lists(st.sampled_from(["objects", "run", "..", ".", "", DIGEST]), max_size=4)
    ),
    # a part's members: run/parts/<part>.json and run/parts/<part>/<file>
    st.builds(
        lambda part, tail: f"run/parts/{part}{tail}",
        st.text(alphabet=st.sampled_from("./\\%\x00ab-_\uff4f"), max_size=12),
        st.sampled_from([".json", "/output.log", "/../output.log", "/x", "", "/", ".json/"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(NAMES)
def test_accepted_member_names_stay_inside_staging(name: str) -> None:
    staging = os.path.realpath("/tmp/repro-staging")
    try:
        accepted = check_member_name(name)
    except BundleError:
        return
    target = os.path.realpath(os.path.join(staging, accepted))
    assert target.startswith(staging + os.sep)
    assert not accepted.endswith("/") and "\x00" not in accepted and ".." not in accepted


def test_hostile_import_leaves_the_store_byte_identical(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    root = make_repo()
    assert repro(root, "fsck").returncode == 0  # creates the store
    before = store_bytes(root)
    path = craft_bundle(
        tmp_path / "b.tar.gz", [file_member("../../evil", DATA)], _manifest({"../../evil": DATA})
    )
    done = repro(root, "import", str(path))
    assert done.returncode == 32
    assert done.stderr.count("\n") == 1 and "unexpected name" in done.stderr
    assert store_bytes(root) == before
    assert not (tmp_path / "evil").exists() and not (root.parent / "evil").exists()


def test_nothing_is_written_through_a_planted_symlink(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo({"t.py": "print('hi')\n"})
    assert repro(source, "run", "t.py").returncode == 0
    bundle = tmp_path / "b.tar.gz"
    assert repro(source, "export", "@", "-o", str(bundle)).returncode == 0
    target = make_repo()
    assert repro(target, "fsck").returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / ".repro" / "objects" / "tmp" / "x").symlink_to(outside)
    done = repro(target, "import", str(bundle))
    assert done.returncode == 0, done.stderr
    assert list(outside.iterdir()) == []
    assert repro(target, "list").stdout.count("t.py") == 1


def test_tampered_bundle_imports_nothing(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo({"t.py": "print('hi')\n"})
    assert repro(source, "run", "t.py").returncode == 0
    bundle = tmp_path / "b.tar.gz"
    assert repro(source, "export", "@", "-o", str(bundle)).returncode == 0
    with tarfile.open(bundle) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]
    name = next(n for n in members if n.startswith("objects/"))
    members[name] = bytes([members[name][0] ^ 1]) + members[name][1:]
    entries = [file_member(n, d) for n, d in members.items() if n != "bundle.json"]
    craft_bundle(bundle, entries, members["bundle.json"])
    target = make_repo()
    done = repro(target, "import", str(bundle))
    assert done.returncode == 32
    assert "hash mismatch" in done.stderr
    assert repro(target, "list", "--json").stdout.strip() == "[]"


def test_a_record_whose_data_digest_is_a_path_is_refused(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """A dataset's digest names the directory a rerun rebuilds it in (`.repro/data/<digest>`):
    a crafted one must not name a path outside the store."""
    source = make_repo({"t.py": "print(open('d/x.txt').read())\n", ".gitignore": "d/\n"})
    (source / "d").mkdir()
    (source / "d" / "x.txt").write_text("data\n")
    assert repro(source, "run", "--data", "d", "t.py").returncode == 0
    bundle = tmp_path / "b.tar.gz"
    assert repro(source, "export", "@", "--with-data", "-o", str(bundle)).returncode == 0
    escape = tmp_path / "escaped"

    def aim_outside(members: dict[str, bytes]) -> None:
        name = next(n for n in members if n.endswith("run.json"))
        record = json.loads(members[name])
        record["data"][0]["digest"] = str(escape)
        members[name] = json.dumps(record).encode()

    rebuild_bundle(bundle, aim_outside)
    target = make_repo()
    done = repro(target, "import", str(bundle))
    assert done.returncode == 32 and "digest" in done.stderr, done.stderr
    assert repro(target, "list", "--json").stdout.strip() == "[]"
    assert not escape.exists()


def test_a_manifest_nested_past_pythons_limit_is_exit_32(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    bundle = craft_bundle(tmp_path / "b.tar.gz", [], b"[" * 100_000 + b"]" * 100_000)
    done = repro(make_repo(), "import", str(bundle))
    assert done.returncode == 32 and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not gzip at all", "not a readable repro bundle"), (None, "no bundle at")],
)
def test_a_file_that_is_no_bundle_is_one_line_exit_32(
    make_repo: MakeRepo, tmp_path: Path, content: bytes | None, message: str
) -> None:
    root = make_repo()
    path = tmp_path / "b.tar.gz"
    if content is not None:
        path.write_bytes(content)
    done = repro(root, "import", str(path))
    assert done.returncode == 32
    assert done.stderr.count("\n") == 1 and message in done.stderr


@pytest.mark.parametrize(
    ("kind", "what"),
    [(tarfile.GNUTYPE_LONGNAME, "GNU long-name"), (tarfile.XHDTYPE, "PAX extended")],
)
def test_a_huge_extension_header_is_refused_unread_in_bounded_memory(
    make_repo: MakeRepo, tmp_path: Path, kind: bytes, what: str
) -> None:
    bundle = extension_bomb(tmp_path / "b.tar.gz", kind, 256 << 20)
    root = make_repo()
    done, peak = repro_peak_rss(root, "import", str(bundle))
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    assert done.returncode == 32, done.stderr
    assert done.stderr.count("\n") == 1
    assert f"a {what} header of {256 << 20} bytes" in done.stderr
    assert repro(root, "list", "--json").stdout.strip() == "[]"


def test_a_run_record_over_the_size_limit_is_refused_before_it_is_read(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    source = make_repo({"t.py": "print('hi')\n"})
    assert repro(source, "run", "t.py").returncode == 0
    bundle = tmp_path / "b.tar.gz"
    assert repro(source, "export", "@", "-o", str(bundle)).returncode == 0

    def pad(members: dict[str, bytes]) -> None:  # a valid record, 8 MB that barely compress
        record = json.loads(members["run/run.json"])
        record["problems"] = [os.urandom(4 << 20).hex()]
        members["run/run.json"] = json.dumps(record).encode()

    rebuild_bundle(bundle, pad)
    target = make_repo()
    done, peak = repro_peak_rss(target, "import", str(bundle))
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak >> 20} MiB"
    assert done.returncode == 32, done.stderr
    assert done.stderr.count("\n") == 1 and "the bundle's run record is" in done.stderr
    assert "over the limit" in done.stderr
    assert repro(target, "list", "--json").stdout.strip() == "[]"
