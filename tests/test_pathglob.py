"""Gitignore-like ignore patterns (core/pathglob.py): `**`, anchoring, directories."""

from __future__ import annotations

import pytest

from repro_run.core.pathglob import compile_pattern, matches

CASES = [
    ("*.log", "train.log", True),
    ("*.log", "logs/deep/train.log", True),  # no slash: a name at any depth
    ("*.log", "train.log.txt", False),
    ("wandb/**", "wandb/run-x/files/a.json", True),
    ("wandb/**", "out/wandb/a.json", False),  # a slash anchors it
    ("wandb/**", "wandb", False),  # only what is inside
    ("wandb", "out/wandb/run-1/a.json", True),  # a directory matches what it holds
    ("logs/*.txt", "logs/a.txt", True),
    ("logs/*.txt", "logs/sub/a.txt", False),  # * stays within one segment
    ("**/tmp/*.bin", "tmp/a.bin", True),
    ("**/tmp/*.bin", "a/b/tmp/c.bin", True),
    ("a/**/b.csv", "a/b.csv", True),
    ("a/**/b.csv", "a/x/y/b.csv", True),
    ("a/**/b.csv", "ab/b.csv", False),
    ("/out/*.pt", "out/m.pt", True),
    ("ckpt/", "ckpt/epoch=1.ckpt", True),
    ("run-?.txt", "run-1.txt", True),
    ("run-?.txt", "run-10.txt", False),
    ("run-[0-9].txt", "run-7.txt", True),
    ("run-[!0-9].txt", "run-7.txt", False),
    ("a.b", "axb", False),  # regex characters are literal
    ("**", "anything/at/all", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), CASES)
def test_a_pattern_matches_paths_as_gitignore_would(
    pattern: str, path: str, expected: bool
) -> None:
    assert matches(compile_pattern(pattern), path) is expected


@pytest.mark.parametrize("pattern", ["", "/", "!keep.log"])
def test_an_empty_or_negated_pattern_is_refused_by_name(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        compile_pattern(pattern)
