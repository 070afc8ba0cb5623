"""Gitignore-like path patterns (`*.log`, `wandb/**`, `**/tmp/*.bin`) matched against paths.

fnmatch lets `*` cross `/` and has no `**`; this follows gitignore instead: `*` and `?` stay
within one path segment, `**` as a whole segment spans any number of them, a pattern without a
`/` (but a trailing one) matches a name at any depth, and a pattern that matches a directory
matches everything under it. Negation (`!`) is not supported.
"""

from __future__ import annotations

import re


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regex for `pattern`, matched whole against a path or any of its leading parts;
    ValueError (naming the problem) when it is empty or negated."""
    body = pattern.strip("/")
    if not body:
        raise ValueError(f"empty ignore pattern {pattern!r}")
    if pattern.startswith("!"):
        raise ValueError(f"ignore pattern {pattern!r}: negation (!) is not supported")
    anchored = "/" in pattern.rstrip("/")
    out = "" if anchored else "(?:[^/]*/)*"
    parts = body.split("/")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:[^/]*/)*"
        else:
            out += _segment(part) + ("" if last else "/")
    return re.compile(out)


def matches(compiled: re.Pattern[str], path: str) -> bool:
    """Whether `path` ("a/b/c.txt") or a directory above it matches."""
    parts = path.strip("/").split("/")
    return any(compiled.fullmatch("/".join(parts[:n])) for n in range(1, len(parts) + 1))


def _segment(part: str) -> str:
    """One segment: `*` and `?` never cross `/`; `[...]` is a class (`[!x]` negated)."""
    out, i = [], 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(part):
            i += 1
            out.append(re.escape(part[i]))
        elif char == "[" and (end := part.find("]", i + 2)) != -1:
            inner = part[i + 1 : end]
            negate = inner[0] in "!^"
            inner = inner[1:] if negate else inner
            out.append("[" + ("^/" if negate else "") + inner.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
