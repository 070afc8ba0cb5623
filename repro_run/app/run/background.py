"""A call run in a thread, its result or error collected later."""

from __future__ import annotations

import threading
from collections.abc import Callable

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


def in_background(name: str, call: Callable[[], T]) -> tuple[Callable[[], None], Callable[[], T]]:
    """`call`, to run in a thread named `name`: returns `start` and `result`. `result` starts
    the thread if `start` was not called, waits for it, and returns the call's value or raises
    its error. What concurrent.futures does, without its ~10 ms of imports (logging,
    traceback) on the launch path; a function, not a generic class, so that `typing` is not
    imported either."""
    outcome: list[tuple[bool, T | BaseException]] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed to the thread that asks for the result
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name=name)

    def result() -> T:
        if thread.ident is None:
            thread.start()
        thread.join()
        ok, value = outcome[0]
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]

    return thread.start, result
