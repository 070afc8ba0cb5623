"""Does an installed version satisfy a PEP 440 specifier set (`>=1.2,!=1.3.*,<2`)?

https://packaging.python.org/en/latest/specifications/version-specifiers/#version-specifiers —
built on versions.py's ordering, so repro needs no `packaging`. An installed version is judged
as `pip check` judges it: a pre-release is accepted when the clauses accept it.
"""

from __future__ import annotations

import re

from repro_run.compare.versions import VersionKey, version_key

_CLAUSE = re.compile(r"\s*(===|~=|==|!=|<=|>=|<|>)\s*([^\s,;]+)\s*")
_PREFIX = re.compile(r"(?:(\d+)!)?(\d+(?:\.\d+)*)", re.IGNORECASE)
_FINAL = (float("inf"), 0.0)  # versions.py's pre-release slot of a final or post release


def spec_contains(specifiers: str, version: str) -> bool | None:
    """Whether `version` meets every clause of `specifiers`; None when either is unparsable."""
    if version_key(version) is None:
        return None
    verdicts = []
    for clause in specifiers.split(","):
        if not clause.strip():
            continue
        match = _CLAUSE.fullmatch(clause)
        if match is None:
            return None
        verdicts.append(_clause_contains(match[1], match[2], version.strip()))
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _clause_contains(op: str, target: str, version: str) -> bool | None:
    if op == "===":
        return version.lower() == target.lower()
    if op in ("==", "!="):
        equal = (
            _prefix_equal(target[:-2], version)
            if target.endswith(".*")
            else _equal(target, version)
        )
        return equal if equal is None or op == "==" else not equal
    if op == "~=":
        prefix = _PREFIX.match(target)
        if prefix is None or "." not in prefix[2]:
            return None  # `~=1` is invalid: the release needs two parts
        epoch = f"{prefix[1]}!" if prefix[1] else ""
        at_least = _ordered(">=", target, version)
        same_series = _prefix_equal(epoch + prefix[2].rsplit(".", 1)[0], version)
        return None if at_least is None or same_series is None else at_least and same_series
    return _ordered(op, target, version)


def _equal(target: str, version: str) -> bool | None:
    want, have = version_key(target), version_key(version)
    if want is None or have is None:
        return None
    if "+" in target:  # a local label in the clause must match; without one, any local matches
        return want == have and _local(target) == _local(version)
    return want == have


def _local(version: str) -> str:
    return re.sub(r"[-_]", ".", version.partition("+")[2].lower())


def _prefix_equal(prefix: str, version: str) -> bool | None:
    """`==1.4.*`: the version's release, zero-padded, starts with 1.4 (same epoch)."""
    match = _PREFIX.fullmatch(prefix)
    have = version_key(version)
    if match is None or have is None:
        return None
    parts = tuple(int(p) for p in match[2].split("."))
    release = have[1] + (0,) * max(0, len(parts) - len(have[1]))
    return have[0] == int(match[1] or 0) and release[: len(parts)] == parts


def _ordered(op: str, target: str, version: str) -> bool | None:
    if "+" in target:
        return None  # local labels are not allowed in ordered comparisons
    want, have = version_key(target), version_key(version)
    if want is None or have is None:
        return None
    if op == "<=":
        return have <= want
    if op == ">=":
        return have >= want
    if op == "<":
        # `<3` excludes 3.0rc1, `<3.post1` excludes 3.post1.dev0: pre-releases of the version
        same_series = not _is_post(want) or have[2:4] == want[2:4]
        pre_of_target = have[:2] == want[:2] and same_series and _is_pre(have) and not _is_pre(want)
        return have < want and not pre_of_target
    # `>3` excludes 3.post1: a post-release of the very version named
    post_of_target = (
        have[:3] == want[:3] and _is_post(have) and not _is_post(want) and want[4] == float("inf")
    )
    return have > want and not post_of_target


def _is_pre(key: VersionKey) -> bool:
    return key[2] != _FINAL or key[4] != float("inf")


def _is_post(key: VersionKey) -> bool:
    return key[3] != float("-inf")
