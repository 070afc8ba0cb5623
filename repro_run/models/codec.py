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
`__limits__`.

Each annotation gets its decoder once (a closure, `_decoder`); a valid value builds no error
location, which is built on the way out of a wrong one; text in a container is checked in C.
A record of 1,000 ranks' facts decodes in ~25 ms (bench/ranks.py)."""

from __future__ import annotations

import sys
import types
from collections.abc import Collection

from repro_run.core.record import Record, fields, has_default, is_record
from repro_run.models.base import Unavailable

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")
_UNAVAILABLE_KEY = "unavailable"
MAX_TEXT = 1 << 20  # characters in one string: argv and env values stop at 128 KiB on Linux
_INT64 = (-(2**63), 2**63 - 1)  # what an SQLite INTEGER holds: the index stores these
_INFINITY = float("inf")
_FLOAT_MAX = sys.float_info.max


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
    # Most leaves are text: a leaf is passed through before any call (bench/ranks.py).
    if type(obj) in _PLAIN:
        return obj
    if isinstance(obj, Unavailable):
        return {_UNAVAILABLE_KEY: obj.reason}
    if isinstance(obj, Record):
        return {
            name: v if type(v := getattr(obj, name)) in _PLAIN else to_json_dict(v)
            for name in obj.__record_fields__
        }
    if isinstance(obj, (list, tuple)):
        return [v if type(v) in _PLAIN else to_json_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else to_json_dict(v)
            for k, v in obj.items()
        }
    return obj


_PLAIN = frozenset({str, int, float, bool, type(None)})


def from_json_dict(cls: type[T], data: Any) -> T:
    """Build a `cls` record from what `to_json_dict` produced; raises DecodeError."""
    try:
        decoded: T = _decoder(cls, _DEFAULT)(data)
    except _Unsupported as exc:
        raise TypeError(exc.message(cls.__name__)) from None
    except _Invalid as exc:
        raise DecodeError(exc.message(cls.__name__)) from None
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


class _Invalid(Exception):
    """What a decoder raises: each problem's location (built on the way out, so that a valid
    record, the common case, builds no location strings) and its message."""

    def __init__(self, text: str) -> None:
        self.problems: list[tuple[str, str]] = [("", text)]

    def at(self, where: str) -> _Invalid:
        self.problems = [(where + inner, text) for inner, text in self.problems]
        return self

    def message(self, root: str) -> str:
        return "; ".join(f"{root}{where}: {text}" for where, text in self.problems)


class _Unsupported(_Invalid):
    """An annotation the codec cannot decode: a TypeError, raised only where a value is read."""


if TYPE_CHECKING:
    from collections.abc import Callable

    Decoder = Callable[[Any], Any]

# One decoder per annotation and limit, built on its first use. The annotation's type is part
# of the key: typing's Optional[int] equals int | None, yet only the latter is decoded.
_DECODERS: dict[tuple[type, Any, Limit], Decoder] = {}


def _decoder(tp: Any, limit: Limit) -> Decoder:
    key = (type(tp), tp, limit)
    if key not in _DECODERS:
        _DECODERS[key] = _build(tp, limit)
    return _DECODERS[key]


def _build(tp: Any, limit: Limit) -> Decoder:
    if tp is object:  # Any
        return _as_is
    if isinstance(tp, types.UnionType):
        return _union_decoder(tp.__args__, limit)
    origin = tp.__origin__ if isinstance(tp, types.GenericAlias) else None
    if origin is None and isinstance(tp, type) and is_record(tp):
        return _record_decoder(tp)
    items = [a for a in tp.__args__ if a is not Ellipsis] if origin is not None else []
    if origin is tuple and len(items) == 1:
        return _tuple_decoder(items[0], limit)
    if origin is dict:
        return _dict_decoder(items[1], limit)
    if origin is not None or not isinstance(tp, type):
        return _unsupported(tp)
    if tp is str:
        return _text_decoder
    return _scalar_decoder(tp, limit)


def _as_is(value: Any) -> Any:
    return value


def _unsupported(tp: Any) -> Decoder:
    def decode(value: Any) -> Any:
        raise _Unsupported(f"the codec cannot decode the annotation {tp!r}")

    return decode


def _text_decoder(value: Any) -> str:
    if type(value) is str and len(value) <= MAX_TEXT:
        return value
    if not isinstance(value, str):
        raise _Invalid(f"expected str, got {type(value).__name__}")
    return _text(value)


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise _Invalid(f"{len(value)} characters, over the limit of {MAX_TEXT}")
    return value


def _scalar_decoder(tp: type, limit: Limit) -> Decoder:
    low = limit.low if limit.low is not None else _INT64[0] if tp is int else -_INFINITY
    high = limit.high if limit.high is not None else _INT64[1] if tp is int else _INFINITY
    # what passes as it is, told by one comparison (NaN fails it): numbers in range, and
    # finite where they must be
    numeric = tp in (int, float, bool)
    fast_low = max(low, -_FLOAT_MAX) if limit.finite else low
    fast_high = min(high, _FLOAT_MAX) if limit.finite else high

    def decode(value: Any) -> Any:
        kind = type(value)  # not narrowing `value`, which the checks below need whole
        if numeric and kind is tp and fast_low <= value <= fast_high:
            return value
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # 10**400 has no float
                raise _Invalid("a number beyond a float's range") from None
        if not isinstance(value, tp):
            raise _Invalid(f"expected {tp.__name__}, got {type(value).__name__}")
        if isinstance(value, str):
            return _text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _number(value, limit.finite, low, high)
        return value

    return decode


def _number(value: float, finite: bool, low: float, high: float) -> float:
    if value != value or value in (_INFINITY, -_INFINITY):  # NaN, infinities
        if finite:
            raise _Invalid(f"{value} is not a finite number")
        return value
    if not low <= value <= high:
        digits = len(str(abs(int(value))))
        shown = str(value) if digits <= 24 else f"a {digits}-digit number"
        raise _Invalid(f"{shown} is out of range ({_bound(low)}..{_bound(high)})")
    return value


def _bound(value: float) -> str:
    return str(int(value)) if abs(value) != _INFINITY else ""


# Item annotations whose valid values a container keeps as they are: checked in C (map, set,
# max), without a call per item (a record of 1,000 ranks holds ~100,000 such strings:
# bench/ranks.py). Anything else, or any doubt, takes the item-by-item path.
_KINDS: dict[Any, frozenset[type]] = {
    str: frozenset({str}),
    str | None: frozenset({str, type(None)}),
}


def _all_text(values: Collection[Any], kinds: frozenset[type]) -> bool:
    """Whether every value is of `kinds` (str, None) and no text is over MAX_TEXT."""
    return set(map(type, values)) <= kinds and max(map(len, filter(None, values)), default=0) <= (
        MAX_TEXT
    )


def _text_kinds(item: Any) -> frozenset[type] | None:
    # typing's Optional[str] equals str | None, yet is no annotation the codec reads
    return _KINDS.get(item) if type(item) in (type, types.UnionType) else None


def _tuple_decoder(item: Any, limit: Limit) -> Decoder:
    decode_item, kinds = _decoder(item, limit), _text_kinds(item)

    def decode(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _Invalid("expected a list")
        if kinds is not None and _all_text(value, kinds):
            return tuple(value)
        try:
            return tuple([decode_item(v) for v in value])
        except _Invalid:
            for i, v in enumerate(value):  # the first wrong item names the location
                try:
                    decode_item(v)
                except _Invalid as exc:
                    raise exc.at(f"[{i}]") from None
            raise

    return decode


def _dict_decoder(item: Any, limit: Limit) -> Decoder:
    decode_item, kinds = _decoder(item, limit), _text_kinds(item)

    def decode(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Invalid("expected an object")
        if _all_text(value, _KINDS[str]) and (
            item is object or (kinds is not None and _all_text(value.values(), kinds))
        ):
            return dict(value)
        decoded = {}
        for k, v in value.items():
            try:
                decoded[_text_decoder(k)] = decode_item(v)
            except _Invalid as exc:  # repr: a hostile key must not put control characters out
                raise exc.at(f"[{k!r:.40}]") from None
        return decoded

    return decode


def _union_decoder(args: tuple[Any, ...], limit: Limit) -> Decoder:
    nullable, unavailable = type(None) in args, Unavailable in args
    candidates = [_decoder(a, limit) for a in args if a is not type(None) and a is not Unavailable]
    if nullable and not unavailable and len(candidates) == 1:  # X | None: most unions
        (only,) = candidates

        def decode_or_none(value: Any) -> Any:
            return None if value is None else only(value)

        return decode_or_none

    def decode(value: Any) -> Any:
        if value is None and nullable:
            return None
        if unavailable and isinstance(value, dict) and _UNAVAILABLE_KEY in value:
            return Unavailable(_text(str(value[_UNAVAILABLE_KEY])))
        problems: list[tuple[str, str]] = []
        for candidate in candidates:
            try:
                return candidate(value)
            except _Unsupported:
                raise
            except _Invalid as exc:
                problems += exc.problems
        error = _Invalid("unexpected null")
        error.problems = problems or error.problems
        raise error

    return decode


def _record_decoder(cls: type[Record]) -> Decoder:
    # (name, decoder, required): filled after this decoder is registered, so a record that
    # holds its own kind finds it
    specs: list[tuple[str, Decoder, bool]] = []

    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Invalid("expected an object")
        kwargs: dict[str, Any] = {}
        for name, decode_field, required in specs:
            if name in value:
                try:
                    kwargs[name] = decode_field(value[name])
                except _Invalid as exc:
                    raise exc.at(f".{name}") from None
            elif required:
                raise _Invalid(f"missing field {name!r}")
        return cls(**kwargs)

    _DECODERS[type(cls), cls, _DEFAULT] = decode
    hints, limits = _hints(cls), getattr(cls, "__limits__", {})
    specs += [
        (name, _decoder(hints[name], limits.get(name, _DEFAULT)), not has_default(cls, name))
        for name in fields(cls)
    ]
    return decode
