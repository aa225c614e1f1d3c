"""HubSpot's request budgets: a rolling window (ten-secondly by default) and a daily total.

Only accepted requests use budget; whether rejected ones do is undocumented, so ``count_rejected`` decides.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hubassoc.limits import (
    DAILY_LIMIT_HEADER,
    DAILY_REMAINING_HEADER,
    LIMIT_INTERVAL_HEADER,
    LIMIT_MAX_HEADER,
    LIMIT_REMAINING_HEADER,
)
from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.wire import Response, correlation_id

TEN_SECONDLY = "TEN_SECONDLY_ROLLING"
DAILY = "DAILY"
SEARCH = "SECONDLY"  # search's own limit; HubSpot does not document its 429 body, so this name is ours
UNLIMITED_DAILY_REPORTED = 1_000_000  # the headers need a number when daily_limit is None: HubSpot's top tier
_MESSAGES = {
    TEN_SECONDLY: "You have reached your ten_secondly_rolling limit.",
    DAILY: "You have reached your daily limit.",
    SEARCH: "You have reached your secondly limit.",
}


@dataclass(frozen=True)
class Admission:
    """The limiter's verdict on one request: ``policy`` is the exhausted one (None: admitted)."""

    policy: str | None
    stamp: float
    headers: dict[str, str]


class RateLimiter:
    """Rolling window of accepted request times plus a daily count, both behind one lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._daily = 0

    def reset(self) -> None:
        """Forget every request: a fresh window and a fresh day."""
        with self._lock:
            self._window.clear()
            self._daily = 0

    def admit(self, config: SandboxConfig) -> Admission:
        """Check both budgets and, when admitted (or ``count_rejected``), spend one request of each."""
        with self._lock:
            now = self._clock()
            self._prune(config, now)
            policy = self._exhausted(config)
            if policy is None or config.count_rejected:
                self._spend(now)
            return Admission(policy, now, self._headers(config))

    def refund(self, admission: Admission) -> None:
        """Give back what an admitted request spent (it was answered with an injected rejection)."""
        with self._lock:
            if admission.stamp in self._window:
                self._window.remove(admission.stamp)
                self._daily = max(0, self._daily - 1)

    def headers(self, config: SandboxConfig) -> dict[str, str]:
        """The rate-limit headers as they stand, without spending anything."""
        with self._lock:
            self._prune(config, self._clock())
            return self._headers(config)

    def _prune(self, config: SandboxConfig, now: float) -> None:
        while self._window and self._window[0] <= now - config.window_seconds:
            self._window.popleft()

    def _exhausted(self, config: SandboxConfig) -> str | None:
        if config.daily_limit is not None and self._daily >= config.daily_limit:
            return DAILY
        return TEN_SECONDLY if len(self._window) >= config.rate_limit else None

    def _spend(self, now: float) -> None:
        self._window.append(now)
        self._daily += 1

    def _headers(self, config: SandboxConfig) -> dict[str, str]:
        daily = UNLIMITED_DAILY_REPORTED if config.daily_limit is None else config.daily_limit
        return {
            LIMIT_INTERVAL_HEADER: str(round(config.window_seconds * 1000)),
            LIMIT_MAX_HEADER: str(config.rate_limit),
            LIMIT_REMAINING_HEADER: str(max(0, config.rate_limit - len(self._window))),
            DAILY_LIMIT_HEADER: str(daily),
            DAILY_REMAINING_HEADER: str(max(0, daily - self._daily)),
        }


class SearchLimiter:
    """Search's own limit, ``search_per_second`` requests a rolling second, besides the window it also spends."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque()

    def admit(self, config: SandboxConfig) -> bool:
        """Whether one more search may go now; when it may, it is counted."""
        if config.search_per_second is None:
            return True
        with self._lock:
            now = self._clock()
            while self._times and self._times[0] <= now - 1.0:
                self._times.popleft()
            if len(self._times) >= config.search_per_second:
                return False
            self._times.append(now)
            return True


def rate_limited(policy: str, config: SandboxConfig) -> Response:
    """HubSpot's 429 body for a policy, with Retry-After when the ``retry_after`` knob is set."""
    body = {
        "status": "error", "message": _MESSAGES[policy], "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(), "policyName": policy, "requestId": correlation_id(),
    }
    headers = {} if config.retry_after is None else {"Retry-After": f"{config.retry_after:g}"}
    return Response(429, body, headers)
