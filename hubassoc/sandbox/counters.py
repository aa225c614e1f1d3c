"""What really reached "HubSpot": request counts by route, statuses, 429s, faults, concurrency, inputs.

Tests and benchmarks assert on these rather than on what a client believes it sent. Nothing here ever sees
a header, so no token can end up in a counter or the request log.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Counters:
    """Thread-safe tallies; ``snapshot()`` is a deep copy callers may keep."""

    def __init__(self, log_size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._log_size = log_size
        self._reset_locked()

    def _reset_locked(self) -> None:
        self._requests_total = 0
        self._requests: dict[str, int] = {}
        self._statuses: dict[int, int] = {}
        self._rate_limited = 0
        self._peak = self._in_flight
        self._faults: dict[str, int] = {}
        self._oauth_refreshes = 0
        self._inputs: dict[str, int] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=self._log_size)

    def reset(self) -> None:
        """Start counting afresh (peak concurrency restarts from the requests now in flight)."""
        with self._lock:
            self._reset_locked()

    def resize_log(self, log_size: int) -> None:
        """Keep the last ``log_size`` request log entries from now on."""
        with self._lock:
            self._log_size = log_size
            self._log = deque(self._log, maxlen=log_size)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a HubSpot request as in flight for the duration of the block."""
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def request(
        self, method: str, route: str, status: int | None, path: str = "", *, started: float, latency_s: float,
    ) -> None:
        """Count one HubSpot request (status None: the connection broke before a whole reply was sent).

        ``path`` is the request target as sent, query included: the log shows anything a client put in a URL.
        ``started`` (when the request was read) and ``latency_s`` (the latency it was given) let a benchmark tell
        the sandbox's own time, ``time - started - latency_s``, from the client's time between requests.
        """
        with self._lock:
            self._requests_total += 1
            self._requests[route] = self._requests.get(route, 0) + 1
            self._answered(method, route, status, path, {"started": started, "latency_s": latency_s})

    def oauth(self, method: str, route: str, status: int, path: str = "") -> None:
        """Log one token-endpoint request, counting it as a refresh when it succeeded."""
        with self._lock:
            self._oauth_refreshes += int(status == 200)
            self._log.append({"method": method, "route": route, "path": path, "status": status, "time": time.time()})

    def _answered(self, method: str, route: str, status: int | None, path: str, timing: dict[str, float]) -> None:
        if status is not None:
            self._statuses[status] = self._statuses.get(status, 0) + 1
            self._rate_limited += int(status == 429)
        self._log.append({"method": method, "route": route, "path": path, "status": status, "time": time.time(),
                          **timing})

    def fault(self, kind: str) -> None:
        """Count one injected fault."""
        with self._lock:
            self._faults[kind] = self._faults.get(kind, 0) + 1

    def inputs(self, route: str, count: int) -> None:
        """Count the inputs of a batch request whose body was read."""
        with self._lock:
            self._inputs[route] = self._inputs.get(route, 0) + count

    def snapshot(self) -> dict[str, Any]:
        """Everything counted so far, as a deep copy."""
        with self._lock:
            return copy.deepcopy({
                "requests_total": self._requests_total,
                "requests": self._requests,
                "statuses": self._statuses,
                "rate_limited": self._rate_limited,
                "peak_concurrency": self._peak,
                "faults_injected": self._faults,
                "oauth_refreshes": self._oauth_refreshes,
                "inputs": self._inputs,
                "request_log": list(self._log),
            })
