"""Waiting for something another thread or process does: poll a condition with a bound, never sleep blind."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL = 0.005  # seconds between looks: short against any bound, long enough not to starve the thread watched


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``condition`` holds within ``timeout`` seconds (for tests that assert on the answer)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(POLL)
    return True


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Return once ``condition`` holds; fail naming ``what`` when it does not within ``timeout`` seconds."""
    assert eventually(condition, timeout), f"timed out after {timeout} s waiting for {what}"


def settled(count: Callable[[], int], quiet: float = 0.25, timeout: float = 20.0) -> int:
    """``count()`` once it has not changed for ``quiet`` seconds: for work that ends without a signal to wait on
    (a listing thread stopping, a killed process's requests still in the server's hands). The quiet period is the
    claim itself: nothing happened for that long."""
    deadline = time.monotonic() + timeout
    value, since = count(), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, f"the count kept changing for {timeout} s (last {value})"
        time.sleep(POLL)
        now = count()
        if now != value:
            value, since = now, time.monotonic()
    return value
