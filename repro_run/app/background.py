"""A call run in a thread, its result or error collected later."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(threading.Thread, Generic[T]):
    """A call run in a thread (started at once, or later with `start`); `result` joins it and
    returns its value or raises its error. What concurrent.futures does, without its ~10 ms
    of imports (logging, traceback) on the launch path."""

    def __init__(self, name: str, call: Callable[[], T]) -> None:
        super().__init__(name=name)
        self._call = call
        self._outcome: tuple[bool, T | BaseException] | None = None

    def run(self) -> None:
        try:
            self._outcome = (True, self._call())
        except BaseException as exc:  # handed to the thread that asks for the result
            self._outcome = (False, exc)

    def result(self) -> T:
        if self.ident is None:
            self.start()
        self.join()
        assert self._outcome is not None
        ok, value = self._outcome
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]
