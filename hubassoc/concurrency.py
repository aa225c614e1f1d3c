"""Running a function over many items on worker threads, results handed on in input order, memory bounded."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_END: Any = object()


def map_in_order(
    submit: Callable[[Callable[[T], R], T], Future[R]], fn: Callable[[T], R], items: Iterable[T], limit: int,
    started: Iterable[Future[R]] = (),
) -> Iterator[R]:
    """``fn`` over ``items`` through ``submit``, results in input order after those of ``started``.

    At most ``limit`` results are pending, so ``items`` may be a lazy, endless generator. An exception from
    ``fn``, or from ``items`` itself, is raised at its place in order; what is pending is cancelled when the
    caller stops. The next task is submitted before each result is handed on, so the workers are not idle
    while the caller works on it.
    """
    pending: deque[Future[R]] = deque(started)
    source = iter(items)
    failure: Exception | None = None  # from ``items``: raised after the results before it
    try:
        while True:
            if len(pending) < limit:
                try:
                    item = next(source, _END)
                except Exception as exc:  # re-raised below, after the results before it
                    failure = exc
                    break
                if item is _END:
                    break
                pending.append(submit(fn, item))
            if pending and (len(pending) >= limit or pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        if failure is not None:
            raise failure
    finally:
        for future in pending:
            future.cancel()
