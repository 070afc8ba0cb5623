"""Ordering package versions: enough of PEP 440 to tell an upgrade from a downgrade.

https://packaging.python.org/en/latest/specifications/version-specifiers/ — epoch, release,
pre (a/b/rc), post and dev segments; a local label (`+cu121`) does not order, so two versions
that differ only there are "changed", not upgraded. Anything unparsable is "changed" too.
"""

from __future__ import annotations

import re

_VERSION = re.compile(
    r"""v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre>a|alpha|b|beta|c|rc|pre|preview)[-_.]?(?P<pre_n>\d*))?
    (?:-(?P<post_implicit>\d+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n>\d*))?
    (?:[-_.]?dev[-_.]?(?P<dev_n>\d*))?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?""",
    re.VERBOSE | re.IGNORECASE,
)
_PRE_ORDER = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}

# A key sorts like the version: (epoch, release, pre, post, dev); inf/-inf place the absent.
VersionKey = tuple[int, tuple[int, ...], tuple[float, float], float, float]


def version_key(version: str) -> VersionKey | None:
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        return None
    release = [int(part) for part in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()  # 1.0 == 1.0.0
    dev = float(match["dev_n"] or 0) if match["dev_n"] is not None else float("inf")
    if match["pre"]:
        pre: tuple[float, float] = (_PRE_ORDER[match["pre"].lower()], float(match["pre_n"] or 0))
    elif match["post_implicit"] is None and match["post_n"] is None and dev != float("inf"):
        pre = (float("-inf"), 0.0)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (float("inf"), 0.0)
    post_text = match["post_implicit"] or match["post_n"]
    has_post = match["post_implicit"] is not None or match["post_n"] is not None
    post = float(post_text or 0) if has_post else float("-inf")
    return (int(match["epoch"] or 0), tuple(release), pre, post, dev)


def compare_versions(old: str, new: str) -> int | None:
    """-1 when `new` is older, 1 when newer, 0 when they order equal; None when unknown."""
    a, b = version_key(old), version_key(new)
    if a is None or b is None:
        return None
    return int(a < b) - int(a > b)
