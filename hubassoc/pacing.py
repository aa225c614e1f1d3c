"""One pacer per client: keeps every rolling window within the request budget HubSpot enforces.

HubSpot counts a request when it arrives, which is somewhere between our send and its reply. A slot therefore
becomes free ``window`` seconds after the *reply* of the request that took it: the server's count can never
exceed the budget however latency varies, at the cost of about one round trip per window (1.5 % at 150 ms and
10 s). That is the difference between running at the budget and living on 429s.

Requests in a *chain* (listing pages: each cursor comes from the previous reply) go first: a run can finish no
sooner than its longest chain, while a read that waits delays nothing but itself. A chain sends one request per
round trip, so while chains are open the other requests share what the chains leave of each window: the budget
less one window's worth of round trips per chain (at most three quarters of it), and never the last
``CHAIN_RESERVE`` free slots per chain (slots come free in the rhythm of the sends a window earlier, in bursts,
and a chain's next page must not wait for the next burst). Leaving chains one slot, as before, let reads take
the budget: the benchmark's 500-page listing chain, 77 s alone, ran 84 to 93 s beside the reads; with this,
82 to 88 s (benchmarks/).

The configured budget may be above what the account allows. HubSpot reports its limit on every reply
(``X-HubSpot-RateLimit-Max`` per ``X-HubSpot-RateLimit-Interval-Milliseconds``), so the pacer adopts a lower one
the moment it sees it rather than finding out through 429s or a short ``Remaining``. It never goes above the
configured budget: a user may keep some of the account's limit for other apps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger("hubassoc.pacing")
CHAIN_RESERVE = 6  # free slots other requests leave to each open chain
CHAINS_SHARE_AT_MOST = 0.75  # of the budget, kept for chains while they are open
_RTT_WEIGHT = 0.2  # of each chain round trip in the running estimate


class Ticket:
    """One request's claim on the budget; ``done()`` starts its window, as HubSpot has seen it by then."""

    __slots__ = ("chain", "finished_at", "sent_at")

    def __init__(self, sent_at: float, *, chain: bool) -> None:
        self.sent_at = sent_at
        self.chain = chain
        self.finished_at: float | None = None


class Pacer:
    """A rolling-window limiter shared by all threads of one client.

    ``budget`` requests per ``window`` seconds is the limit in force: the configured one, or a lower one HubSpot
    reported (see ``observe_limit``). ``configured_budget`` and ``configured_window`` keep what was asked for.
    """

    def __init__(
        self, budget: int, window_seconds: float, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget < 1 or window_seconds <= 0:
            msg = "the request budget and window must be positive"
            raise ValueError(msg)
        self.budget = budget
        self.window = window_seconds
        self.configured_budget = budget
        self.configured_window = window_seconds
        self._clock = clock
        self._tickets: deque[Ticket] = deque()
        self._hold_until = 0.0
        self._chains = 0
        self._chain_rtt: float | None = None  # running estimate of a chain request's round trip
        self._changed = threading.Condition()

    @contextmanager
    def chain(self) -> Iterator[None]:
        """While open, keep a slot free for this chain's next request (see the module docstring)."""
        with self._changed:
            self._chains += 1
        try:
            yield
        finally:
            with self._changed:
                self._chains -= 1
                self._changed.notify_all()

    @property
    def open_chains(self) -> int:
        """Chains under way: other requests leave room for them (here, and in the client's in-flight slots)."""
        return self._chains

    def acquire(self, *, chain: bool = False) -> Ticket:
        """Block until a request may be sent without exceeding the budget in any window.

        A ``chain`` request may take any free slot; another takes what open chains leave (module docstring).
        """
        with self._changed:
            while True:
                wait = self._wait_needed() if chain else max(
                    self._wait_needed(min(self._chains * CHAIN_RESERVE, self.budget // 2)),
                    self._wait_for_share(),
                )
                if wait <= 0:
                    ticket = Ticket(self._clock(), chain=chain)
                    self._tickets.append(ticket)
                    return ticket
                self._changed.wait(timeout=wait)

    def done(self, ticket: Ticket) -> None:
        """Mark a request answered (or failed): its slot frees one window later."""
        with self._changed:
            ticket.finished_at = self._clock()
            if ticket.chain:
                rtt = ticket.finished_at - ticket.sent_at
                self._chain_rtt = rtt if self._chain_rtt is None else \
                    (1 - _RTT_WEIGHT) * self._chain_rtt + _RTT_WEIGHT * rtt
            self._changed.notify_all()

    def hold(self, seconds: float) -> None:
        """Send nothing for a while: after a 429, or when HubSpot reports the budget nearly spent."""
        with self._changed:
            self._hold_until = max(self._hold_until, self._clock() + seconds)
            self._changed.notify_all()

    def observe_limit(self, maximum: int, interval_seconds: float | None = None) -> None:
        """Adopt HubSpot's reported limit (``maximum`` per ``interval_seconds``) when it is lower than ours.

        Without this, a budget set above the account's limit shows only as ``Remaining`` falling short, and each
        shortfall became a hold of most of a window. Limits are compared as rates (the interval may differ from
        our window; without one, ours is assumed) and only ever lowered: never above the configured budget, and
        no flapping when endpoint families report different limits (the associations limit is not the general
        one) -- the lowest seen is safe for all. Logged once per lowering, normally once a run.
        """
        if maximum < 1 or (interval_seconds is not None and interval_seconds <= 0):
            return  # not a usable limit: keep pacing as before
        with self._changed:
            window = self.window if interval_seconds is None else interval_seconds
            if maximum * self.window >= self.budget * window:  # maximum / window >= budget / self.window
                return
            self.budget, self.window = maximum, window
            self._changed.notify_all()  # a shorter window may free slots now
        logger.info(
            "HubSpot reports a rate limit of %d requests per %g s, below the configured requests_per_10s "
            "(%g per %g s): pacing at the reported limit",
            maximum, window, self.configured_budget, self.configured_window,
        )

    def observe_remaining(self, remaining: int) -> None:
        """Slow down when HubSpot has fewer slots left than our own ledger leaves us.

        Running at the budget drives ``X-HubSpot-RateLimit-Remaining`` to zero every window by design; only a
        shortfall beyond our own requests (another app on the account, a lower limit than configured) means
        someone else is spending the budget, and each missing slot is worth one request interval of waiting.
        Measured against the limit in force, so a reported lower limit (``observe_limit``) is no shortfall.
        """
        with self._changed:
            budget, window = self.budget, self.window
            ours_left = budget - len(self._tickets)
        shortfall = ours_left - remaining
        if shortfall > 0:
            self.hold(window / budget * shortfall)

    def _wait_for_share(self) -> float:
        """Seconds until a request that is not a chain link fits in what the open chains leave of the window."""
        if not self._chains or self._chain_rtt is None:
            return 0.0
        per_chain = self.window / max(self._chain_rtt, 1e-3)
        allowed = max(1, int(self.budget - min(self._chains * per_chain, CHAINS_SHARE_AT_MOST * self.budget)))
        others = [ticket for ticket in self._tickets if not ticket.chain]  # the window's, oldest first
        if len(others) < allowed:
            return 0.0
        leaving = others[len(others) - allowed]
        if leaving.finished_at is None:
            return self.window / 4  # woken by done() before then
        return leaving.finished_at + self.window - self._clock()

    def _wait_needed(self, keep: int = 0) -> float:
        """Seconds until a slot is free beyond the ``keep`` kept for chains (at most 0: free now)."""
        now = self._clock()
        tickets = self._tickets
        while tickets and tickets[0].finished_at is not None and tickets[0].finished_at + self.window <= now:
            tickets.popleft()
        hold = self._hold_until - now
        allowed = max(1, self.budget - keep)
        if len(tickets) < allowed:
            return hold
        leaving = tickets[len(tickets) - allowed]  # it and every older ticket must leave the window first
        if leaving.finished_at is None:
            return max(hold, self.window / 4)  # woken by done() before then
        return max(hold, leaving.finished_at + self.window - now)
