"""Whether a requirement's environment marker (`; python_version < "3.11"`) applies here.

https://packaging.python.org/en/latest/specifications/dependency-specifiers/#environment-markers
— three-valued: None when the marker names a variable not given (`extra`) or does not parse,
so a caller skips a requirement only when its marker clearly does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from repro_run.compare.specifiers import spec_contains

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in\b|in\b)
    |(?P<word>and\b|or\b|[A-Za-z_][\w.]*)|(?P<paren>[()]))""",
    re.VERBOSE,
)
_VERSION_VARIABLES = {"python_version", "python_full_version", "implementation_version"}
_MAX_TOKENS = 200  # a marker is a line of a requirements file: bounded work on a hostile one


def marker_applies(marker: str, environment: Mapping[str, str]) -> bool | None:
    """True or False when `marker` evaluates in `environment`; None when it cannot tell."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(marker.rstrip()) and len(tokens) <= _MAX_TOKENS:
        match = _TOKEN.match(marker, position)
        if match is None or match.end() == position:
            return None
        kind = match.lastgroup or ""
        tokens.append((kind, " ".join(match[kind].split())))
        position = match.end()
    if len(tokens) > _MAX_TOKENS:
        return None
    parser = _Parser(tokens, environment)
    value = parser.disjunction()
    return value if parser.at_end() and not parser.failed else None


class _Parser:
    """marker := and_expr ('or' and_expr)*; and_expr := atom ('and' atom)*."""

    def __init__(self, tokens: list[tuple[str, str]], environment: Mapping[str, str]) -> None:
        self.tokens, self.environment, self.index, self.failed = tokens, environment, 0, False

    def at_end(self) -> bool:
        return self.index == len(self.tokens)

    def _take(self, kind: str, text: str | None = None) -> str | None:
        if self.at_end():
            return None
        got_kind, got = self.tokens[self.index]
        if got_kind != kind or (text is not None and got != text):
            return None
        self.index += 1
        return got

    def disjunction(self) -> bool | None:
        values = [self.conjunction()]
        while self._take("word", "or") is not None:
            values.append(self.conjunction())
        return True if True in values else (None if None in values else False)

    def conjunction(self) -> bool | None:
        values = [self.atom()]
        while self._take("word", "and") is not None:
            values.append(self.atom())
        return False if False in values else (None if None in values else True)

    def atom(self) -> bool | None:
        if self._take("paren", "(") is not None:
            value = self.disjunction()
            self.failed = self.failed or self._take("paren", ")") is None
            return value
        left, op, right = self._operand(), self._take("op"), self._operand()
        if left is None or op is None or right is None:
            self.failed = True
            return None
        return _compare(left, op, right)

    def _operand(self) -> tuple[str, str | None] | None:
        """(name, value): a quoted string names itself; a variable is None when not given."""
        text = self._take("str")
        if text is not None:
            return "", text[1:-1]
        name = self._take("word")
        if name is None or name in ("and", "or"):
            return None
        return name, self.environment.get(name)


def _compare(left: tuple[str, str | None], op: str, right: tuple[str, str | None]) -> bool | None:
    (left_name, a), (right_name, b) = left, right
    if a is None or b is None:
        return None
    if op == "in":
        return a in b
    if op == "not in":
        return a not in b
    if {left_name, right_name} & _VERSION_VARIABLES:
        return spec_contains(f"{op}{b}", a)
    if op in ("==", "==="):
        return a == b
    if op == "!=":
        return a != b
    return None  # ordering of non-version strings: not something to guess
