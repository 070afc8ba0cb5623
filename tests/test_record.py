"""`Record`: what the records of every layer rely on (frozen, by value, defaults, copies)."""

from __future__ import annotations

import copy
import pickle
import typing

import pytest

from repro_run.core.record import FrozenRecordError, Record, field, fields, replace
from repro_run.models import (
    ChildFacts,
    DecodeError,
    PackageList,
    ProcessFacts,
    RunRecord,
    RunSummary,
    TreeRef,
    from_json_dict,
    to_json_dict,
)
from repro_run.models.codec import _hints


class Point(Record):
    x: int
    y: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


def test_built_positionally_or_by_keyword_with_defaults() -> None:
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2)
    assert Point(1).y == 0 and Point(1).norm1 == 1
    assert fields(Point) == ("x", "y", "tags") == Point.__match_args__


def test_each_record_gets_its_own_default_from_a_factory() -> None:
    a, b = Point(1), Point(1)
    a.tags["k"] = "v"
    assert b.tags == {}


def test_bad_arguments_are_type_errors_naming_the_field() -> None:
    with pytest.raises(TypeError, match="missing argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'x'"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 3 arguments"):
        Point(1, 2, {}, 4)  # type: ignore[call-arg]


def test_frozen_and_slotted() -> None:
    p = Point(1)
    with pytest.raises(FrozenRecordError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")


def test_compared_and_hashed_by_value_and_type() -> None:
    assert Point(1, 2) != Point(2, 1)
    ref = TreeRef("data", "ab" * 32, 3, 10, "ab" * 32)
    assert len({ref, replace(ref)}) == 1

    class Other(Record):
        x: int
        y: int = 0
        tags: dict[str, str] = field(default_factory=dict)

    assert Other(1) != Point(1)


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    p = Point(1, 2)
    assert replace(p, y=5) == Point(1, 5) and p.y == 2
    with pytest.raises(TypeError, match="no field z"):
        replace(p, z=1)


def test_a_field_without_default_after_one_with_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="'b' without a default"):

        class Bad(Record):
            a: int = 0
            b: int  # type: ignore[misc]


def test_survives_pickle_copy_and_the_json_codec() -> None:
    ref = TreeRef("data", "ab" * 32, 3, 10, "ab" * 32, ("fifo skipped",))
    assert pickle.loads(pickle.dumps(ref)) == ref  # forked workers hand records back
    assert copy.deepcopy(ref) == ref and copy.copy(ref) == ref
    summary = RunSummary("id", "now", "succeeded", 1.0, "true", "abc", 7, 0, False)
    assert from_json_dict(RunSummary, to_json_dict(summary)) == summary
    assert repr(Point(1)) == "Point(x=1, y=0, tags={})"


def _record_classes() -> list[type[Record]]:
    found: list[type[Record]] = []
    pending: list[type[Record]] = [Record]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("repro_run.models") and sub not in found:
                found.append(sub)
            pending.append(sub)
    return found


def test_the_codec_reads_every_model_field_as_typing_would() -> None:
    """The codec evaluates annotations itself (no `typing` on `repro run`'s path): for every
    record it decodes, its hints are what typing.get_type_hints gives."""
    classes = _record_classes()
    assert RunRecord in classes and PackageList in classes and ProcessFacts in classes
    for cls in classes:
        expected = typing.get_type_hints(cls, localns={"Any": object, "ClassVar": typing.ClassVar})
        assert _hints(cls) == {name: expected[name] for name in fields(cls)}, cls.__name__


class _Optional(Record):
    value: typing.Optional[int]  # noqa: UP045 - the form the codec refuses


def test_an_annotation_the_codec_cannot_read_is_a_loud_error() -> None:
    with pytest.raises(TypeError, match="cannot decode the annotation"):
        from_json_dict(_Optional, {"value": 1})


def _ranks(count: int) -> list[dict[str, typing.Any]]:
    return [
        to_json_dict(
            ProcessFacts(
                f"rank{r}.json",
                100 + r,
                1,
                rank=str(r),
                modules=("torch", "numpy"),
                launch_env={"RANK": str(r), "NCCL_ALGO": "Ring", "SECRET_TOKEN": None},
            )
        )
        for r in range(count)
    ]


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        (
            "launch_env",
            {"RANK": "1", "NCCL_ALGO": 5},
            "[700].launch_env['NCCL_ALGO']: expected str",
        ),
        ("launch_env", {"RANK": "x" * (2**20 + 1)}, "[700].launch_env['RANK']: 1048577 characters"),
        ("modules", ["torch", None], "[700].modules[1]: expected str, got NoneType"),
        ("modules", "torch", "[700].modules: expected a list"),
    ],
)
def test_a_wrong_value_among_many_valid_ones_is_refused_naming_where_it_is(
    field_name: str, value: object, message: str
) -> None:
    """Valid text passes through without a check per value; a wrong one still names its place."""
    processes = _ranks(1000)
    assert from_json_dict(ChildFacts, {"processes": processes}).processes[999].rank == "999"
    processes[700][field_name] = value
    with pytest.raises(DecodeError) as raised:
        from_json_dict(ChildFacts, {"processes": processes})
    assert str(raised.value).startswith(f"ChildFacts.processes{message}")
