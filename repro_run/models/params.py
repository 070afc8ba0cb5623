"""Hyperparameters among a command's arguments: `--lr 0.001`, `--amp`, Hydra's `db.timeout=7`.

Pure, so that `repro run` records them and `repro diff` tells the arguments that are not
parameters apart from those that are, from the same reading of the same argv. The rules, for
arguments after the program (and after a Python interpreter's own options):

- `--name=value`, `-name=value`: a parameter; `--name value`, `-name value`: one too, when the
  next argument is not an option (a negative number is a value); `--name` (or `-name`) alone:
  a flag, true. One dash reads like two (argparse accepts `-lr 0.1`); a glued `-n4` is left
  alone (a bundle of short flags or a value: only the program's parser knows).
- Hydra's overrides: `key=value`, `+key=value` (adds), `++key=value` (adds or overrides),
  `~key` and `~key=value` (deletes); keys are dotted (`db.timeout`), config groups may hold
  `/` and `@` (`hydra/launcher=joblib`). An override is never taken as an option's value.
- `--` ends the options; what follows is positional. Repeated names keep every value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence

from repro_run.core.record import Record

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"[-+]?\d+")
_INT64 = 2**63  # the record's integers fit SQLite's 64 bits (models/codec.py)
_INT64_DIGITS = 20  # a sign and 19 digits: int() of more is never needed
_OPTION = re.compile(r"(?P<given>--?(?P<name>[A-Za-z_][\w.-]*))(?P<eq>=(?P<value>.*))?", re.DOTALL)
_OVERRIDE = re.compile(
    r"(?P<given>(?P<op>~|\+\+|\+)?(?P<name>[A-Za-z_$][\w$-]*(?:[./][\w$-]+)*(?:@[\w$.-]*)?))"
    r"(?P<eq>=(?P<value>.*))?",
    re.DOTALL,
)
_PYTHON = re.compile(r"python[0-9.]*(?:\.exe)?")
# The interpreter's own options that take the next argument (python(1)); -m and -c end them.
_PYTHON_VALUE_OPTIONS = frozenset({"-W", "-X", "--check-hash-based-pycs"})
_DELETED = "(deleted)"


class Param(Record):
    """One hyperparameter given as an argument, and how it was given."""

    name: str  # "lr", "db.timeout": without the dashes, and without Hydra's +, ++ or ~
    value: str | None  # as typed; a secret's "***:<key id>/<digest>"; None: a bare flag or `~key`
    given: str  # "--lr" (value next), "--lr=", "--amp" (flag), "db.timeout=", "+data.x=", "~key"
    parsed: bool | int | float | None = None  # the value where it reads as one (a flag: true)

    @property
    def source(self) -> str:
        """Where it came from, for `show`: `argument --lr`, `Hydra override +data.x= (adds)`."""
        if self.given.startswith("-"):
            return f"{'flag' if self.value is None else 'argument'} {self.given}"
        what = {"~": " (deletes)", "++": " (adds or overrides)", "+": " (adds)"}
        op = next((op for op in ("~", "++", "+") if self.given.startswith(op)), "")
        return f"Hydra override {self.given}{what.get(op, '')}"

    @property
    def shown(self) -> str:
        """The value as views print it: a flag reads `true`, a deletion `(deleted)`."""
        if self.given.startswith("~"):
            return _DELETED if self.value is None else f"{_DELETED} {self.value}"
        return "true" if self.value is None else self.value


class ParsedParam(Record):
    param: Param
    indices: tuple[int, ...]  # the arguments it was read from: one, or an option and its value


def parse_params(argv: Sequence[str]) -> Iterator[ParsedParam]:
    """The parameters among `argv` (the command as typed, the program first), in order."""
    i, end = _program_arguments_start(argv), len(argv)
    while i < end:
        arg = argv[i]
        if arg == "--":
            return
        option = None if _NUMBER.fullmatch(arg) else _OPTION.fullmatch(arg)
        override = None if option else _OVERRIDE.fullmatch(arg)
        if option and option["eq"]:
            yield _found(option["name"], option["value"], option["given"] + "=", i)
        elif option and i + 1 < end and _is_value(argv[i + 1]):
            yield _found(option["name"], argv[i + 1], option["given"], i, i + 1)
            i += 1
        elif option:
            yield ParsedParam(Param(option["name"], None, option["given"], True), (i,))
        elif override and override["eq"]:
            yield _found(override["name"], override["value"], override["given"] + "=", i)
        elif override and override["op"] == "~":
            yield ParsedParam(Param(override["name"], None, override["given"]), (i,))
        i += 1


def other_arguments(argv: Sequence[str]) -> tuple[str, ...]:
    """`argv` without its parameters: the program, its positional arguments, `--` and after."""
    taken = {index for found in parse_params(argv) for index in found.indices}
    return tuple(arg for index, arg in enumerate(argv) if index not in taken)


def parse_scalar(text: str) -> bool | int | float | None:
    """An int (64 bits), a finite float or true/false where `text` is one unambiguously, as
    YAML reads a config's `1`, `0.5`, `1e-3` and `true`; None otherwise (`yes`, `nan`, `1_000`)."""
    if _INTEGER.fullmatch(text):  # never a float: 40 digits are an integer that lost its type
        number = int(text) if len(text) <= _INT64_DIGITS else None
        return number if number is not None and -_INT64 <= number < _INT64 else None
    if _NUMBER.fullmatch(text):
        real = float(text)
        return real if math.isfinite(real) else None
    lowered = text.lower()
    return lowered == "true" if lowered in ("true", "false") else None


def _found(name: str, value: str, given: str, *indices: int) -> ParsedParam:
    return ParsedParam(Param(name, value, given, parse_scalar(value)), indices)


def _is_value(arg: str) -> bool:
    if _NUMBER.fullmatch(arg):
        return True
    if arg.startswith("-"):
        return False
    override = _OVERRIDE.fullmatch(arg)
    return override is None or not (override["eq"] or override["op"] == "~")


def _program_arguments_start(argv: Sequence[str]) -> int:
    """Where the program's own arguments start: after `python [options] script` (or `-m
    module`, `-c code`), else after the command's name."""
    if not argv or not _PYTHON.fullmatch(argv[0].rpartition("/")[2]):
        return 1
    i = 1
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        if argv[i] in ("-m", "-c"):
            return i + 2
        i += 2 if argv[i] in _PYTHON_VALUE_OPTIONS else 1
    return i + 1  # the script (or `-`, standard input)
