"""prometheus_client's context managers and decorators over Sonde's
instruments: ``Histogram.time()``, ``Gauge.time()``,
``Gauge.track_inprogress()`` and ``Counter.count_exceptions()`` return
these (each usable as ``with ...:`` or as ``@...``)."""

from __future__ import annotations

import functools
import time
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar, Union

F = TypeVar("F", bound=Callable[..., Any])


class Guard:
    """Runs ``enter()`` before a block or call and ``leave(exception)``
    after it."""

    def enter(self) -> None:
        """Before the block."""

    def leave(self, exception: Optional[BaseException]) -> None:
        """After the block, with the exception it raised (or None)."""

    def __enter__(self) -> Guard:
        self.enter()
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        exception: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.leave(exception)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with self.copy():
                return fn(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    def copy(self) -> Guard:
        """A fresh guard like this one (each decorated call gets its own)."""
        return self


class Timer(Guard):
    """Records the seconds a block took with ``record(seconds)``."""

    def __init__(self, record: Callable[[float], None]) -> None:
        self.record = record
        self.started = 0.0

    def enter(self) -> None:
        self.started = time.perf_counter()

    def leave(self, exception: Optional[BaseException]) -> None:
        self.record(max(time.perf_counter() - self.started, 0.0))

    def copy(self) -> Timer:
        return Timer(self.record)


class InProgress(Guard):
    """Adds one while a block runs (``add(1)`` then ``add(-1)``)."""

    def __init__(self, add: Callable[[float], None]) -> None:
        self.add = add

    def enter(self) -> None:
        self.add(1.0)

    def leave(self, exception: Optional[BaseException]) -> None:
        self.add(-1.0)


class ExceptionCounter(Guard):
    """Counts the blocks that raise ``kind`` (the exception propagates)."""

    def __init__(self, inc: Callable[[], None], kind: Union[type[BaseException], tuple[type[BaseException], ...]]) -> None:
        self.inc = inc
        self.kind = kind

    def leave(self, exception: Optional[BaseException]) -> None:
        if exception is not None and isinstance(exception, self.kind):
            self.inc()
