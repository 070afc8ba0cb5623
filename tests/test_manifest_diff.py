"""Manifest diff: added, removed and modified files, grouped by directory."""

from __future__ import annotations

from repro_run.fingerprint.diff import diff_encoded, diff_manifests, first_paths
from repro_run.fingerprint.manifest import encode_manifest
from repro_run.models import ManifestEntry


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
