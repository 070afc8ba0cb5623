"""The one JSON codec of every record: `to_json_dict` / `from_json_dict`, driven by the type
hints, so a new field needs no hand-written conversion.

The hints are read without `typing` (~2 ms to import, see core/record.py): each field's annotation
(a string, PEP 563) is evaluated in its module, as `typing.get_type_hints` does, and what
that gives is plain runtime objects: classes, `X | Y` (types.UnionType) and `tuple[X, ...]` or
`dict[K, V]` (types.GenericAlias). `Any`, which the models import for type checkers only,
evaluates to `object`, which accepts anything. Any other form (typing's `Optional[X]`,
`Literal`, `list[X]`) is a TypeError: write it as one of those.

Decoding also bounds what a record may hold, so that every reader shares one idea of a valid
record and a hostile one (an imported bundle, a hand-edited run.json) is refused where it is
read: integers fit SQLite's signed 64 bits (the index), numbers are finite, text is at most
MAX_TEXT characters. A field whose numbers differ says so with a `Limit` in its class's
`__limits__`."""

from __future__ import annotations

import sys
import types

from repro_run.core.record import Record, fields, has_default, is_record, items
from repro_run.models.base import Unavailable

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")
_UNAVAILABLE_KEY = "unavailable"
MAX_TEXT = 1 << 20  # characters in one string: argv and env values stop at 128 KiB on Linux
_INT64 = (-(2**63), 2**63 - 1)  # what an SQLite INTEGER holds: the index stores these
_INFINITY = float("inf")


class Limit:
    """A field's range, where the defaults do not fit: integers in 64 bits, finite floats."""

    __slots__ = ("finite", "high", "low")

    def __init__(
        self, low: float | None = None, high: float | None = None, *, finite: bool = True
    ) -> None:
        self.low, self.high, self.finite = low, high, finite


_DEFAULT = Limit()
ANY_SIZE = Limit(-_INFINITY, _INFINITY)  # seeds: the index keeps them as text
NON_FINITE = Limit(finite=False)  # metric values and tolerances: a diverged loss is NaN


class DecodeError(ValueError):
    """A JSON document does not have the shape of the record it should hold."""


def to_json_dict(obj: Any) -> Any:
    """Turn a record (or anything inside one) into JSON-ready builtins."""
    if isinstance(obj, Unavailable):
        return {_UNAVAILABLE_KEY: obj.reason}
    if isinstance(obj, Record):
        return {name: to_json_dict(value) for name, value in items(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_json_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_json_dict(v) for k, v in obj.items()}
    return obj


def from_json_dict(cls: type[T], data: Any) -> T:
    """Build a `cls` record from what `to_json_dict` produced; raises DecodeError."""
    decoded: T = _decode(cls, data, cls.__name__)
    return decoded


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type[Record]) -> dict[str, Any]:
    """Each field's annotation, evaluated in the module of the class that declares it."""
    if cls not in _HINTS:
        hints: dict[str, Any] = {}
        wanted = set(fields(cls))
        for base in reversed(cls.__mro__):
            namespace = vars(sys.modules[base.__module__])
            for name, hint in vars(base).get("__annotations__", {}).items():
                if name in wanted:
                    hints[name] = (
                        eval(hint, namespace, {"Any": object}) if isinstance(hint, str) else hint
                    )
        _HINTS[cls] = hints
    return _HINTS[cls]


def _decode(tp: Any, value: Any, where: str, limit: Limit = _DEFAULT) -> Any:
    if tp is object:  # Any
        return value
    if isinstance(tp, types.UnionType):
        return _decode_union(tp.__args__, value, where, limit)
    origin = tp.__origin__ if isinstance(tp, types.GenericAlias) else None
    if origin is None and isinstance(tp, type) and is_record(tp):
        return _decode_record(tp, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(f"{where}: expected a list")
        (item,) = (a for a in tp.__args__ if a is not Ellipsis)
        return tuple(
            v if _valid_as_is(item, v) else _decode(item, v, f"{where}[{i}]", limit)
            for i, v in enumerate(value)
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{where}: expected an object")
        _, item = tp.__args__
        # repr: a hostile key must not put control characters into the message
        return {
            _text(k, where): v
            if _valid_as_is(item, v)
            else _decode(item, v, f"{where}[{k!r:.40}]", limit)
            for k, v in value.items()
        }
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:  # 10**400 has no float
            raise DecodeError(f"{where}: a number beyond a float's range") from None
    if origin is not None or not isinstance(tp, type):
        raise TypeError(f"{where}: the codec cannot decode the annotation {tp!r}")
    if not isinstance(value, tp):
        raise DecodeError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    if isinstance(value, str):
        return _text(value, where)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, where, limit, isinstance(value, int))
    return value


_TEXT_TYPES = frozenset({str, object, str | None})  # what a str decodes as, unchanged
_NONE_TYPES = frozenset({object, str | None})


def _valid_as_is(tp: Any, value: Any) -> bool:
    """What `_decode` would return unchanged, told without building its error location: a
    record of 1,000 ranks holds ~100,000 such strings (bench/ranks.py)."""
    if type(value) is str:
        return len(value) <= MAX_TEXT and tp in _TEXT_TYPES
    return tp is object or (value is None and tp in _NONE_TYPES)


def _number(value: int | float, where: str, limit: Limit, integer: bool) -> int | float:
    if value != value or value in (_INFINITY, -_INFINITY):  # NaN, infinities
        if limit.finite:
            raise DecodeError(f"{where}: {value} is not a finite number")
        return value
    low = limit.low if limit.low is not None else _INT64[0] if integer else -_INFINITY
    high = limit.high if limit.high is not None else _INT64[1] if integer else _INFINITY
    if not low <= value <= high:
        digits = len(str(abs(int(value))))
        shown = str(value) if digits <= 24 else f"a {digits}-digit number"
        raise DecodeError(f"{where}: {shown} is out of range ({_bound(low)}..{_bound(high)})")
    return value


def _bound(value: float) -> str:
    return str(int(value)) if abs(value) != _INFINITY else ""


def _text(value: str, where: str) -> str:
    if len(value) > MAX_TEXT:
        raise DecodeError(f"{where}: {len(value)} characters, over the limit of {MAX_TEXT}")
    return value


def _decode_union(args: tuple[Any, ...], value: Any, where: str, limit: Limit) -> Any:
    if value is None and type(None) in args:
        return None
    if isinstance(value, dict) and _UNAVAILABLE_KEY in value and Unavailable in args:
        return Unavailable(_text(str(value[_UNAVAILABLE_KEY]), where))
    candidates = [a for a in args if a is not type(None) and a is not Unavailable]
    errors = []
    for candidate in candidates:
        try:
            return _decode(candidate, value, where, limit)
        except DecodeError as exc:
            errors.append(str(exc))
    raise DecodeError("; ".join(errors) or f"{where}: unexpected null")


def _decode_record(cls: type[Record], value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise DecodeError(f"{where}: expected an object")
    hints = _hints(cls)
    limits: dict[str, Limit] = getattr(cls, "__limits__", {})
    kwargs: dict[str, Any] = {}
    for name in fields(cls):
        if name in value:
            limit = limits.get(name, _DEFAULT)
            kwargs[name] = _decode(hints[name], value[name], f"{where}.{name}", limit)
        elif not has_default(cls, name):
            raise DecodeError(f"{where}: missing field {name!r}")
    return cls(**kwargs)
