"""Progress lines for long runs: a background thread that asks for lines every few seconds and logs them.

A sync of millions of associations takes hours at HubSpot's rate limit; a user watching stderr should see
that it moves and how fast, without the plugin's hot loop doing any timekeeping. Both plugins can use it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from hubassoc.client import HubSpotClient

DEFAULT_PROGRESS_INTERVAL = 10.0  # seconds between progress lines, for both plugins


class PeriodicReporter:
    """Every ``interval`` seconds, log each line ``lines()`` returns; ``lines`` must be thread-safe."""

    def __init__(
        self, interval: float, lines: Callable[[], Iterable[str]], log: Callable[[str], None],
    ) -> None:
        if interval <= 0:
            msg = "the progress interval must be positive"
            raise ValueError(msg)
        self.interval = interval
        self._lines = lines
        self._log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> PeriodicReporter:
        """Start reporting (daemon thread: a crashed run is never kept alive by it)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hubassoc-progress", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reporting and wait for the thread, so no line comes after the summary."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> PeriodicReporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for line in self._lines():
                self._log(line)


class RequestRate:
    """The client's requests and 429s, and its recent request rate against the budget, for progress lines."""

    def __init__(self, client: HubSpotClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._last = (clock(), client.stats.snapshot()["requests"])

    def describe(self) -> str:
        """``requests 1234 (98 in the last 10.0 s, budget 100 per 10 s), 429s 0``: counted, not extrapolated.

        A rate scaled up from a short interval reads as a broken budget (33 requests in 0.2 s is within the
        first window's allowance, not "1650 per 10 s"), so the line says what was counted over what time.
        """
        stats = self._client.stats.snapshot()
        now = self._clock()
        with self._lock:
            then, before = self._last
            self._last = (now, stats["requests"])
        recent = stats["requests"] - before
        budget = self._client.settings.requests_per_10s
        return (f"requests {stats['requests']} ({recent} in the last {now - then:.1f} s, budget {budget} per 10 s), "
                f"429s {stats['rate_limited']}")
