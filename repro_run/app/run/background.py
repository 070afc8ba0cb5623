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
    value: T | None = None
    error: BaseException | None = None

    def run() -> None:
        nonlocal value, error
        try:
            value = call()
        except BaseException as exc:  # handed to the thread that asks for the result
            error = exc

    thread = threading.Thread(target=run, name=name)

    def result() -> T:
        if thread.ident is None:
            thread.start()
        thread.join()
        if error is not None:
            raise error
        return value  # type: ignore[return-value]  # T itself may hold None

    return thread.start, result
