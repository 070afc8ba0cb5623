"""Two PyTorch checkpoints (`torch.save`'s zip format: `.pt`, `.pth`, Lightning's `.ckpt`) that
hold the same tensors and the same pickled objects once the run folders they name are set aside
(pure reading: the pickle is parsed by `pickletools`, never loaded, so no code runs).

Lightning pickles the checkpoint's own path and folder (`ModelCheckpoint`'s `best_model_path`,
`dirpath`): `logs/lightning_logs/version_1/checkpoints/...` in the original, `version_0/...` in a
rerun's fresh worktree, or the worktree's absolute path. Those strings are compared with the
run-specific parts of their paths masked (`core.runparts`); `.data/serialization_id`, a digest
torch derives from the records, follows the pickle and is set aside. Every other record (the
tensors' bytes) must be equal byte for byte, streamed, so a changed weight still differs.
"""

from __future__ import annotations

import pickletools
import zipfile
from collections.abc import Iterator, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import IO

from repro_run.core.runparts import normalise

ZIP_MAGIC = b"PK\x03\x04"
PICKLE_CAP = 64 << 20  # one checkpoint's pickle (objects, not tensors) parsed whole, two at once
SET_ASIDE = "the run folders it names"
_CHUNK = 1 << 20
_PICKLE = "data.pkl"
_SERIALIZATION_ID = ".data/serialization_id"
# Opcodes whose argument is text: one family, as a longer path may take another of them.
_TEXT = {"UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
_END = object()  # what the shorter pickle gives once it ends


def is_checkpoint(head: bytes) -> bool:
    """Whether a file starting with `head` may be a torch zip checkpoint (then it is opened)."""
    return head.startswith(ZIP_MAGIC)


def checkpoint_equal_but_for(
    old: Path | IO[bytes], new: Path | IO[bytes], new_replacements: Sequence[tuple[str, str]] = ()
) -> str | None:
    """SET_ASIDE when the two checkpoints are equal once the run folders they name are masked;
    None when they differ, or either is not a torch checkpoint (its bytes are all there is).
    `new_replacements`: the rerun's directories as the original's, as in a path it pickled."""
    try:
        with zipfile.ZipFile(old) as a, zipfile.ZipFile(new) as b:
            names = a.namelist()
            pickle = _pickle_name(names)
            if pickle is None or names != b.namelist():
                return None
            for name in names:
                if name.endswith(_SERIALIZATION_ID):
                    continue
                if name == pickle:
                    if not _pickles_equal(a, b, name, new_replacements):
                        return None
                elif not _records_equal(a, b, name):
                    return None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return None
    return SET_ASIDE


def _pickle_name(names: list[str]) -> str | None:
    # torch writes `<archive>/data.pkl` first; `<archive>` is the file's stem or "archive".
    pickles = [n for n in names if n.count("/") == 1 and n.endswith("/" + _PICKLE)]
    return pickles[0] if len(pickles) == 1 else None


def _pickles_equal(
    a: zipfile.ZipFile, b: zipfile.ZipFile, name: str, new_replacements: Sequence[tuple[str, str]]
) -> bool:
    if max(a.getinfo(name).file_size, b.getinfo(name).file_size) > PICKLE_CAP:
        return False
    old, new = a.read(name), b.read(name)
    if old == new:
        return True
    # Opcode by opcode: a pickle of millions of small objects is never held as a list.
    pairs = zip_longest(_opcodes(old, ()), _opcodes(new, new_replacements), fillvalue=_END)
    return all(x == y for x, y in pairs)


def _opcodes(data: bytes, replacements: Sequence[tuple[str, str]]) -> Iterator[object]:
    """The pickle's opcodes and arguments; each text a path of the run masked."""
    for opcode, argument, _ in pickletools.genops(data):
        if opcode.name in _TEXT and isinstance(argument, str) and "/" in argument:
            for rerun_dir, original_dir in replacements:
                argument = argument.replace(rerun_dir, original_dir)
            yield "text", normalise(argument)
        else:
            yield opcode.name, argument


def _records_equal(a: zipfile.ZipFile, b: zipfile.ZipFile, name: str) -> bool:
    if a.getinfo(name).file_size != b.getinfo(name).file_size:
        return False
    with a.open(name) as left, b.open(name) as right:
        while chunk := left.read(_CHUNK):
            if chunk != right.read(len(chunk)):
                return False
    return True
