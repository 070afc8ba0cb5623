"""Where any of many known secret values occurs in a text, in time linear in the text.

Masking used to try each secret in turn on each argument and each log chunk: 20,000 secret
arguments took minutes (issue 14, item 16). Here the secrets' first units form a trie; one regex
built from it finds the next place where a secret may start (one C scan for all the secrets),
and a walk of the trie there, then `startswith` for the few secrets sharing a long prefix, says
how far the longest one reaches. Works on `str` (argv, text) and `bytes` (the log) alike.
"""

from __future__ import annotations

import re
from collections.abc import Collection

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any
# Trie keys that no unit equals (a unit is a 1-character str, or an int for bytes).
_END = -1  # a secret ends at this node
_LONGER = -2  # the secrets going on past the trie's depth, longest first
_DEPTH = 32  # units per secret in the trie: the prefix that picks out its candidates
# sre's parser recurses once per nested group, and crafted secrets could nest a group per unit.
_MAX_NESTING = 16


class SecretMatcher:
    """The spans of every occurrence of `secrets` in a text, overlapping or adjacent ones merged:
    masking each span hides every unit of every secret, even where two secrets overlap."""

    def __init__(self, secrets: Collection[str] | Collection[bytes]) -> None:
        self._trie: dict[Any, Any] = {}
        self.longest = 0
        for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
            self.longest = max(self.longest, len(secret))
            node = self._trie
            for unit in secret[:_DEPTH]:
                node = node.setdefault(unit, {})
            if len(secret) > _DEPTH:
                node.setdefault(_LONGER, []).append(secret)
            else:
                node[_END] = True
        self._regex: re.Pattern[Any] | None = None
        if self._trie:
            pattern = _prefilter(self._trie)
            is_bytes = isinstance(next(iter(secrets)), bytes)
            self._regex = re.compile(pattern.encode("latin-1") if is_bytes else pattern)

    def __bool__(self) -> bool:
        return self._regex is not None

    def spans(self, text: str | bytes) -> list[tuple[int, int]]:
        """(start, end) of each stretch of `text` covered by secrets, in order."""
        found: list[tuple[int, int]] = []
        pos = 0
        while self._regex is not None and (match := self._regex.search(text, pos)) is not None:
            start = match.start()
            end = self._reach(text, start)
            if end == start:  # only a prefix of a secret starts here
                pos = start + 1
                continue
            probe = start + 1
            while probe < end:  # a secret starting inside this one may reach further
                end = max(end, self._reach(text, probe))
                probe += 1
            if found and start <= found[-1][1]:
                found[-1] = (found[-1][0], end)
            else:
                found.append((start, end))
            pos = end
        return found

    def partial_tail(self, text: str | bytes) -> int:
        """Length of the longest tail of `text` that a longer secret starts with."""
        for start in range(max(len(text) - self.longest + 1, 0), len(text)):
            node: dict[Any, Any] | None = self._trie
            index = start
            while node is not None and index < len(text) and index - start < _DEPTH:
                node = node.get(text[index])
                index += 1
            if node is None:
                continue
            tail = text[start:]
            longer = node.get(_LONGER, ())
            if index == len(text) and any(key != _END for key in node):
                return len(tail)
            if any(len(s) > len(tail) and s.startswith(tail) for s in longer):
                return len(tail)
        return 0

    def _reach(self, text: str | bytes, start: int) -> int:
        """The end of the longest secret at `start` (`start` itself when none starts there)."""
        node: dict[Any, Any] = self._trie
        end = start
        for index in range(start, min(start + _DEPTH, len(text))):
            child = node.get(text[index])
            if child is None:
                return end
            node = child
            if _END in node:
                end = index + 1
        for secret in node.get(_LONGER, ()):
            if text.startswith(secret, start):
                return start + len(secret)
        return end


def _prefilter(trie: dict[Any, Any]) -> str:
    """A regex matching where some secret may start: the trie, each branching a group, cut at
    the first secret's end and at `_MAX_NESTING` groups (the trie walk decides the rest).

    Bytes go through latin-1, which maps each byte to the character of the same number.
    """
    built: dict[int, str] = {}
    stack: list[tuple[dict[Any, Any], int, bool]] = [(trie, 0, False)]
    while stack:  # post-order without recursion: a trie path is up to _DEPTH long
        node, nesting, children_done = stack.pop()
        units = [key for key in node if key not in (_END, _LONGER)]
        if _END in node or _LONGER in node or nesting >= _MAX_NESTING:
            built[id(node)] = ""
        elif not children_done:
            stack.append((node, nesting, True))
            stack.extend((node[unit], nesting + (len(units) > 1), False) for unit in units)
        else:
            branches = [_escape(unit) + built.pop(id(node[unit])) for unit in units]
            built[id(node)] = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return built[id(trie)]


def _escape(unit: str | int) -> str:
    return re.escape(chr(unit) if isinstance(unit, int) else unit)
