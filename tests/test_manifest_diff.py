"""Manifest diff: added, removed and modified files, grouped by directory."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repro_run.fingerprint import diff as diff_module
from repro_run.fingerprint.diff import diff_encoded, diff_manifests, file_changes, first_paths
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import ManifestEntry
from repro_run.models.comparison import file_change_lines


def _e(path: str, size: int = 4, digest: str = "aa", executable: bool = False) -> ManifestEntry:
    return ManifestEntry(path, size, digest, executable, None)


def test_identical_manifests_have_an_empty_diff() -> None:
    entries = [_e("a"), _e("d/b")]
    assert diff_manifests(entries, list(reversed(entries))).is_empty


def test_added_removed_and_modified_are_told_apart() -> None:
    old = [_e("keep"), _e("gone"), _e("train/x", 4, "aa"), _e("mode")]
    new = [_e("keep"), _e("train/x", 10, "bb"), _e("train/new", 7), _e("mode", executable=True)]
    diff = diff_manifests(old, new)
    assert [e.path for e in diff.added] == ["train/new"]
    assert [e.path for e in diff.removed] == ["gone"]
    assert [new.path for _, new in diff.modified] == ["mode", "train/x"]
    assert first_paths(diff) == ["- gone", "~ mode", "+ train/new", "~ train/x"]


def test_changes_are_grouped_by_top_directory_with_bytes() -> None:
    old = [_e("train/a", 10), _e("val/b", 5)]
    new = [_e("train/a", 10), _e("train/c", 100), _e("train/d", 200)]
    (train, val) = diff_manifests(old, new).by_directory()
    assert (train.directory, train.added, train.bytes_added) == ("train", 2, 300)
    assert (val.directory, val.removed, val.bytes_removed) == ("val", 1, 5)


def test_encoded_manifests_diff_like_decoded_ones() -> None:
    old, new = [_e("a"), _e("b")], [_e("a", 5, "bb"), _e("c")]
    assert diff_encoded(encode_manifest(old), encode_manifest(new)) == diff_manifests(old, new)
    assert diff_encoded(encode_manifest(old), encode_manifest(old)).is_empty


# --- the fast path: aligned byte ranges, only differing lines decoded -------------------
_paths = st.lists(
    st.text('abc/é"\\\x01', min_size=1, max_size=6).filter(
        lambda p: not p.startswith("/") and not p.endswith("/") and "//" not in p
    ),
    unique=True,
    max_size=40,
)


@given(_paths, st.data())
def test_encoded_diff_equals_the_decoded_diff_for_any_change(
    paths: list[str], data: st.DataObject
) -> None:
    old = [_e(p, 4, "aa") for p in paths]
    kept = [e for e in old if data.draw(st.booleans())]
    changed = [_e(e.path, 9, "bb") if data.draw(st.booleans()) else e for e in kept]
    extra = [_e(p + "x", 1) for p in data.draw(st.lists(st.sampled_from(paths or ["n"])))]
    new = list({e.path: e for e in changed + extra}.values())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diff_module, "_ANCHOR_SPACING", 16)  # an anchor every line or two
        patch.setattr(diff_module, "_SEARCH_SLACK", 0)
        fast = diff_encoded(encode_manifest(old), encode_manifest(new))
    assert fast == diff_manifests(old, new)


def test_a_large_diff_decodes_only_the_changed_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    old = [_e(f"train/{i // 1000:03d}/img{i:06d}.png", 4096, f"{i:064x}") for i in range(100_000)]
    new = list(old)
    new[10] = _e(new[10].path, 10, "f" * 64)  # modified
    del new[50_000]  # removed
    new += [_e(f"train/{i:03d}/extra.png", 7) for i in range(3)]  # added, spread out
    decoded: list[int] = []
    real = diff_module._decode_lines

    def counting(lines: Iterable[bytes]) -> list[ManifestEntry]:
        entries = real(lines)
        decoded.append(len(entries))
        return entries

    monkeypatch.setattr(diff_module, "_decode_lines", counting)
    result = diff_encoded(encode_manifest(old), encode_manifest(new))
    assert (len(result.added), len(result.removed), len(result.modified)) == (3, 1, 1)
    assert sum(decoded) == 6  # the old and new line of the modified file, +3, -1


def test_directory_changes_render_as_one_line_each() -> None:
    old = [_e("train/a.png", 100), _e("val/b.png", 5), _e("top.csv", 1)]
    new = [_e("train/a.png", 100), _e("top.csv", 3, "bb")]
    new += [_e(f"train/new{i}.png", 128_700) for i in range(3201)]
    result = diff_manifests(old, new)
    lines = file_change_lines(file_changes(result, 2), directories_shown=2)
    assert lines == [
        "train/: +3,201 files (+412.0 MB)",
        "./: ~1 modified (+2 B)",
        "… and 1 more directory",
        "~ top.csv",
        "+ train/new0.png",
        "… and 3,201 more files",
    ]
    assert file_change_lines(file_changes(result, 2))[2] == "val/: -1 file (-5 B)"
