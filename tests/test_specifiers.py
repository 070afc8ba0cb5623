"""PEP 440 specifier and PEP 508 marker matching, against `packaging` (pytest's own dependency,
so here as the oracle only: repro itself does not depend on it)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import Specifier
from packaging.version import Version

from repro_run.compare.markers import marker_applies
from repro_run.compare.specifiers import spec_contains

_number = st.integers(0, 3).map(str)
_release = st.lists(_number, min_size=1, max_size=3).map(".".join)
versions = st.builds(
    lambda epoch, release, pre, post, dev, local: epoch + release + pre + post + dev + local,
    st.sampled_from(["", "", "", "1!"]),
    _release,
    st.sampled_from(["", "", "a", "b", "rc"]).flatmap(
        lambda p: _number.map(lambda n: p + n) if p else st.just("")
    ),
    st.sampled_from(["", "", ".post0", ".post2"]),
    st.sampled_from(["", "", ".dev0", ".dev1"]),
    st.sampled_from(["", "", "", "+cpu", "+cu121"]),
)
operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="])


@settings(max_examples=1500, deadline=None)
@given(op=operators, target=versions, version=versions)
def test_ordered_and_exact_clauses_agree_with_packaging(op: str, target: str, version: str) -> None:
    spec = op + target
    try:
        oracle = Specifier(spec)
    except ValueError:
        return  # `~=1`, `<1+cpu`: not valid specifiers
    expected = oracle.contains(Version(version), prereleases=True)  # as `pip check` judges
    assert spec_contains(spec, version) is expected


@settings(max_examples=1500, deadline=None)
@given(op=st.sampled_from(["==", "!="]), prefix=_release, epoch=st.booleans(), version=versions)
def test_wildcard_clauses_agree_with_packaging(
    op: str, prefix: str, epoch: bool, version: str
) -> None:
    spec = f"{op}{'1!' if epoch else ''}{prefix}.*"
    expected = Specifier(spec).contains(Version(version), prereleases=True)
    assert spec_contains(spec, version) is expected


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        ("<2.6", "2.14.0", False),
        (">=1.26,<3", "2.4.6", True),
        ("==2.13.0", "2.13.0+cpu", True),
        ("==2.13.0+cu121", "2.13.0+cpu", False),
        ("~=2.2", "2.9", True),
        ("~=2.2.0", "2.3.0", False),
        ("!=1.3.*", "1.3.7", False),
        ("<3", "3.0rc1", False),
        (">3", "3.0.post1", False),
        ("===1.0", "1.0", True),
        ("", "1.0", True),
        (">=1.0", "not-a-version", None),
        ("=>1.0", "1.0", None),
        ("~=1", "1.0", None),
    ],
)
def test_specifier_table(spec: str, version: str, expected: bool | None) -> None:
    assert spec_contains(spec, version) is expected


ENVIRONMENT = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux"}


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('python_version < "3.11"', False),
        ("python_version >= '3.8'", True),
        ("'3.8' < python_version", True),
        ('sys_platform == "win32"', False),
        ('sys_platform == "win32" or python_version >= "3.12"', True),
        ('(sys_platform == "linux" and python_version < "3") or sys_platform == "darwin"', False),
        ('extra == "gpu"', None),
        ('extra == "gpu" and python_version < "3"', False),
        ('extra == "gpu" or python_version < "3"', None),
        ('sys_platform < "x"', None),
        ('python_version < "3.11', None),
        ('python_version "3.11"', None),
        ("(" * 300 + "python_version > '3'" + ")" * 300, None),
    ],
)
def test_marker_table(marker: str, expected: bool | None) -> None:
    assert marker_applies(marker, ENVIRONMENT) is expected
