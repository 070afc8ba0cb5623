"""The one JSON codec of every record: `to_json_dict` / `from_json_dict`, driven by the type
hints, so a new field needs no hand-written conversion.

The hints are read without `typing` (~2 ms to import, see record.py): each field's annotation
(a string, PEP 563) is evaluated in its module, as `typing.get_type_hints` does, and what
that gives is plain runtime objects: classes, `X | Y` (types.UnionType) and `tuple[X, ...]` or
`dict[K, V]` (types.GenericAlias). `Any`, which the models import for type checkers only,
evaluates to `object`, which accepts anything. Any other form (typing's `Optional[X]`,
`Literal`, `list[X]`) is a TypeError: write it as one of those."""

from __future__ import annotations

import sys
import types

from repro_run.models.base import Unavailable
from repro_run.record import Record, fields, has_default, is_record, items

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")
_UNAVAILABLE_KEY = "unavailable"


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


def _decode(tp: Any, value: Any, where: str) -> Any:
    if tp is object:  # Any
        return value
    if isinstance(tp, types.UnionType):
        return _decode_union(tp.__args__, value, where)
    origin = tp.__origin__ if isinstance(tp, types.GenericAlias) else None
    if origin is None and isinstance(tp, type) and is_record(tp):
        return _decode_record(tp, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(f"{where}: expected a list")
        (item,) = (a for a in tp.__args__ if a is not Ellipsis)
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{where}: expected an object")
        _, item = tp.__args__
        return {k: _decode(item, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is not None or not isinstance(tp, type):
        raise TypeError(f"{where}: the codec cannot decode the annotation {tp!r}")
    if not isinstance(value, tp):
        raise DecodeError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value


def _decode_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None and type(None) in args:
        return None
    if isinstance(value, dict) and _UNAVAILABLE_KEY in value and Unavailable in args:
        return Unavailable(str(value[_UNAVAILABLE_KEY]))
    candidates = [a for a in args if a is not type(None) and a is not Unavailable]
    errors = []
    for candidate in candidates:
        try:
            return _decode(candidate, value, where)
        except DecodeError as exc:
            errors.append(str(exc))
    raise DecodeError("; ".join(errors) or f"{where}: unexpected null")


def _decode_record(cls: type[Record], value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise DecodeError(f"{where}: expected an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name in fields(cls):
        if name in value:
            kwargs[name] = _decode(hints[name], value[name], f"{where}.{name}")
        elif not has_default(cls, name):
            raise DecodeError(f"{where}: missing field {name!r}")
    return cls(**kwargs)
