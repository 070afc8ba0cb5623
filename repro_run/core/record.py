"""Frozen, slotted record classes, defined without generating code.

Every record repro writes or passes between layers is a `Record`: immutable, with `__slots__`,
built positionally or by keyword, compared and hashed by value, and copied with `replace`.
That is what `@dataclass(frozen=True, slots=True)` gives, but `dataclasses` compiles each
class's methods from source text when the class is defined (six `exec` calls a class on
Python 3.11): the ~60 records on `repro run`'s import path cost ~35 ms, more than half of
the wrapper's overhead budget. Here the methods are shared by every record class, so defining
one costs a few microseconds. Type checkers see records as dataclasses (PEP 681).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

# `typing` costs ~2 ms, a tenth of what repro adds before the command starts, and nothing in
# repro needs it at run time: modules write `TYPE_CHECKING = False` (what type checkers read as
# typing.TYPE_CHECKING) and import typing's names under it, for annotations only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar, dataclass_transform

    R = TypeVar("R", bound="Record")
else:  # the decorator only informs type checkers

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda cls: cls


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """A default built afresh for each record (`field(default_factory=dict)`)."""
    return _Factory(default_factory)


class FrozenRecordError(AttributeError):
    """An attempt to assign to or delete a field of a record."""


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class _RecordMeta(type):
    """Turns a class body's annotations into fields: slots, defaults and their order."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _RecordMeta:
        inherited: tuple[str, ...] = ()
        defaults: dict[str, Any] = {}
        for base in reversed(bases):
            inherited += tuple(
                f for f in getattr(base, "__record_fields__", ()) if f not in inherited
            )
            defaults.update(getattr(base, "__record_defaults__", {}))
        own = tuple(
            n
            for n in namespace.get("__annotations__", {})
            if n not in inherited and not (n.startswith("__") and n.endswith("__"))
        )
        for name_ in own:
            if name_ in namespace:
                defaults[name_] = namespace.pop(name_)
        fields = inherited + own
        seen_default = False
        for name_ in fields:
            if name_ in defaults:
                seen_default = True
            elif seen_default:
                raise TypeError(f"{name}: field {name_!r} without a default follows one with")
        namespace.update(
            __slots__=own,
            __record_fields__=fields,
            __record_defaults__=defaults,
            __match_args__=fields,
        )
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class Record(metaclass=_RecordMeta):
    """Base of every record: subclass it and annotate the fields, as with a dataclass."""

    __slots__ = ()
    __record_fields__: ClassVar[tuple[str, ...]] = ()
    __record_defaults__: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__record_fields__
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__}() takes {len(names)} arguments, {len(args)} given"
            )
        setter = object.__setattr__
        for name, value in zip(names, args, strict=False):  # the rest come by keyword or default
            setter(self, name, value)
        if len(args) == len(names) and not kwargs:
            return
        defaults = self.__record_defaults__
        for name in names[len(args) :]:
            if name in kwargs:
                value = kwargs.pop(name)
            elif name in defaults:
                value = defaults[name]
                if isinstance(value, _Factory):
                    value = value.make()
            else:
                raise TypeError(f"{type(self).__name__}() missing argument {name!r}")
            setter(self, name, value)
        if kwargs:
            unknown = ", ".join(repr(k) for k in kwargs)
            raise TypeError(f"{type(self).__name__}() got unexpected or repeated {unknown}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__record_fields__)

    if not TYPE_CHECKING:  # hidden from type checkers, which then flag unknown attributes

        def __setattr__(self, name: str, value: Any) -> None:
            raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen record")

        def __delattr__(self, name: str) -> None:
            raise FrozenRecordError(f"cannot delete field {name!r} of a frozen record")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        items = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_fields__)
        return f"{type(self).__name__}({items})"

    def __reduce__(self) -> tuple[type[Record], tuple[Any, ...]]:
        return type(self), self._values()  # pickle and copy: slots, no __dict__, frozen


def fields(record: Record | type[Record]) -> tuple[str, ...]:
    """The field names of a record (or record class), in definition order."""
    return record.__record_fields__


def is_record(obj: object) -> bool:
    """A record class or instance."""
    return isinstance(obj, Record) or (isinstance(obj, type) and issubclass(obj, Record))


def has_default(cls: type[Record], name: str) -> bool:
    return name in cls.__record_defaults__


def items(record: Record) -> Iterator[tuple[str, Any]]:
    """(name, value) for each field, in definition order."""
    for name in record.__record_fields__:
        yield name, getattr(record, name)


def replace(record: R, **changes: Any) -> R:
    """A copy of `record` with some fields changed; an unknown field name is a TypeError."""
    unknown = set(changes) - set(record.__record_fields__)
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {', '.join(sorted(unknown))}")
    values = {name: changes.get(name, value) for name, value in items(record)}
    return type(record)(**values)
