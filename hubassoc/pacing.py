"""One pacer per client: keeps every rolling window within the request budget HubSpot enforces.

HubSpot counts a request when it arrives, which is somewhere between our send and its reply. A slot therefore
becomes free ``window`` seconds after the *reply* of the request that took it: the server's count can never
exceed the budget however latency varies, at the cost of about one round trip per window (1.5 % at 150 ms and
10 s). That is the difference between running at the budget and living on 429s.

Requests in a *chain* (listing pages: each cursor comes from the previous reply) go first: a run can finish no
sooner than its longest chain, while a read that waits delays nothing but itself. A chain sends one request per
round trip, so it needs one window's worth of its round trips; what it does not use, others take. Chains have
a rank (the tap ranks the largest type's listing first, tap_hubassoc/order.py): a link of a chain takes what the
chains ranked before it leave, and a request that is no chain's link what all open chains leave -- at least
``1 - CHAINS_SHARE_AT_MOST`` of the budget, so reads never stop -- less ``CHAIN_RESERVE`` free slot per chain
for the jitter of its replies. Ranks matter when two listings run at once and together want more than the
budget: shared equally, both are slowed, the longer one with them. HubSpot's listing tells no total; the tap
counts each type by search, and when it cannot, ranks in partition order: guessed wrong, the shorter listing
ends early at full speed and the longer one then has the budget to itself.

Measured with ``python -m benchmarks.timeline --full`` (50,000 contacts and 10,000 companies listed at once,
150 +- 50 ms, 100 requests / 10 s, 8 workers), the 500-page contacts listing, 77 s alone, ended at 82.4 s with
contacts first and 88.5 s with companies first when listings shared the budget equally and others left six
free slots per chain (windows 93-95 requests full while a listing ran); ranked, with one free slot, at 79.0 s
and 87.2 s, windows 97-99 full, and the runs took 88.8 and 88.4 s instead of 91.4 and 89.3 s.

A chain's share is its round trips *from now on*: another request may go when, at every moment of the coming
window, what is still in the window, that request and the chains' sends until then fit in the budget. A share
fixed per window (budget less one window of round trips) left empty every slot a listing did not use -- its
pages come a little slower than one per round trip -- and the timeline's 10 s windows held 92 to 100 requests.
Projected, they hold 98 or 99 (one slot is kept free per open chain).

Requests that are no chain's link go in the order they asked. The tap emits a batch's records only after every
earlier batch's, and woken together its reads and pages went as it fell: the companies batches' pages went in
the order 2, 3, 5, 7, 0, 6, 1, 4, 9, 8, and most records went out in the run's last 10 s, while the contacts
reads waited for them. In order, the same timeline ran 87.4 s instead of 89.0 to 91.0 s (87.2 s with 4 workers,
88.3 s with 16).

A *deferred* request (the tap's read-ahead of a later partition: early work, not needed yet) goes only while no
other request waits. On equal terms, at 16 workers, reads ahead took the budget the current partition's pages
needed; those pages ended 8 s later and the run with them (timeline: 91.1 s, deferred 88.9 s).

A listing that has run far enough ahead of its reader waits for it, and keeps no share meanwhile
(``chain_paused``): what it waits for is the reader's batch reads. Kept to 5 % beside a waiting listing, they
made the 1,000,000-contact scale benchmark (one listing, no latency) take 118.3 and 123.5 s; now 110.4 s.

The configured budget may be above what the account allows. HubSpot reports its limit on every reply
(``X-HubSpot-RateLimit-Max`` per ``X-HubSpot-RateLimit-Interval-Milliseconds``), so the pacer adopts a lower one
the moment it sees it rather than finding out through 429s or a short ``Remaining``. It never goes above the
configured budget: a user may keep some of the account's limit for other apps.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

logger = logging.getLogger("hubassoc.pacing")
CHAIN_RESERVE = 1  # free slots other requests leave to each open chain
CHAINS_SHARE_AT_MOST = 0.95  # of the budget, kept for chains while they are open
_RTT_WEIGHT = 0.2  # of each chain round trip in the running estimate


class Ticket:
    """One request's claim on the budget; ``done()`` starts its window, as HubSpot has seen it by then."""

    __slots__ = ("chain", "finished_at", "sent_at")

    def __init__(self, sent_at: float, *, chain: bool) -> None:
        self.sent_at = sent_at
        self.chain = chain  # a chain's link: its round trip feeds the chains' estimate
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
        self._ranks: Counter[int] = Counter()  # open chains by rank
        self._chain_rtt: float | None = None  # running estimate of a chain request's round trip
        self._waiting = 0  # requests, not deferred ones, waiting for the budget now
        self._queue: deque[object] = deque()  # requests that are no chain's link, in the order they asked
        self._changed = threading.Condition(threading.RLock())  # seconds_to_wait is called with it held

    @contextmanager
    def chain(self, rank: int = 0) -> Iterator[None]:
        """While open, requests ranked after this chain leave room for it (see the module docstring)."""
        with self._changed:
            self._ranks[rank] += 1
        try:
            yield
        finally:
            with self._changed:
                self._ranks[rank] -= 1
                self._changed.notify_all()

    @contextmanager
    def chain_paused(self, rank: int = 0) -> Iterator[None]:
        """While a chain waits on its consumer (a listing whose pages are not taken), it keeps no share.

        A listing that has run far enough ahead of its reader sends nothing until the reader catches up, and
        the reader's batch reads are what it waits for: kept out of the chain's share, they would crawl while
        the share went unused. Nobody is woken on pausing, as most pauses last a microsecond (the page is
        taken at once); a request waiting for the share looks again when its wait ends.
        """
        with self._changed:
            self._ranks[rank] -= 1
        try:
            yield
        finally:
            with self._changed:
                self._ranks[rank] += 1

    @property
    def open_chains(self) -> int:
        """Chains under way: other requests leave room for them (here, and in the client's in-flight slots)."""
        return self._ranks.total()

    def acquire(self, *, chain: bool = False, rank: int = 0, deferred: bool = False) -> Ticket:
        """Block until a request may be sent without exceeding the budget in any window.

        A link of a ``chain`` of ``rank`` r takes what the open chains ranked before r leave; a request that is
        no chain's link takes what every open chain leaves (module docstring), in the order such requests
        asked. A ``deferred`` request also waits while any other request waits: it takes only budget nobody
        else is asking for.
        """
        with self._changed:
            self._waiting += not deferred
            turn = None if chain or deferred else object()
            if turn is not None:
                self._queue.append(turn)
            try:
                while (wait := self._wait(chain=chain, rank=rank, deferred=deferred, turn=turn)) > 0:
                    self._changed.wait(timeout=wait)
            finally:
                if turn is not None:
                    self._queue.remove(turn)
                if not deferred:
                    self._waiting -= 1
                    self._changed.notify_all()  # the next in line, and deferred requests, may look again
            ticket = Ticket(self._clock(), chain=chain)
            self._tickets.append(ticket)
            return ticket

    def _wait(self, *, chain: bool, rank: int, deferred: bool, turn: object | None) -> float:
        """How long to wait before looking again (0 or less: go now); requests in line wait for their turn."""
        wait = self.seconds_to_wait(chain=chain, rank=rank)
        if deferred and self._waiting:  # woken when those requests go
            return max(wait, self.window / 4)
        if turn is not None and self._queue[0] is not turn:  # woken when the one before goes
            return max(wait, self.window / 4)
        return wait

    def seconds_to_wait(self, *, chain: bool = False, rank: int = 0) -> float:
        """How long such a request would wait now for the budget (0 or less: it may go)."""
        with self._changed:
            level = rank if chain else math.inf
            before = sum(n for r, n in self._ranks.items() if r < level)
            if not before:
                return self._wait_needed()
            keep = min(before * CHAIN_RESERVE, self.budget // 2)
            return max(self._wait_needed(keep), self._wait_for_share(before))

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

    def _wait_for_share(self, before: int) -> float:
        """Seconds until a request leaves the ``before`` chains ranked before it room to keep pace.

        Each of those chains sends one request per round trip from now on (together at most
        ``CHAINS_SHARE_AT_MOST`` of the budget). The request may go when, at every moment of the coming window,
        what is still in the window, the request itself and the chains' sends until then fit in the budget.
        Slots a chain leaves unused (a slower round trip, time between its pages) are then taken by others as
        it leaves them, where a fixed share per window left them empty for good.
        """
        if self._chain_rtt is None:
            return 0.0
        per_chain = self.window / max(self._chain_rtt, 1e-3)
        rate = min(before * per_chain, CHAINS_SHARE_AT_MOST * self.budget) / self.window  # chain sends a second
        held = len(self._tickets)
        if held + 1 + rate * self.window <= self.budget:  # fits even if nothing left the window
            return 0.0
        now = self._clock()
        leaving = sorted(t.finished_at + self.window for t in self._tickets if t.finished_at is not None)
        for gone, at in enumerate(leaving):  # just before ``at``, ``gone`` tickets have left the window
            if at > now and held - gone + 1 + rate * (at - now) > self.budget:
                return at - now  # looked at again when that ticket leaves, or when a reply comes
        if held - len(leaving) + 1 + rate * self.window > self.budget:
            return self.window / 4  # requests in flight hold the room: woken by done() before then
        return 0.0

    def _wait_needed(self, keep: int = 0) -> float:
        """Seconds until a slot is free beyond the ``keep`` kept for chains (at most 0: free now)."""
        now = self._clock()
        self._forget_left(now)
        hold = self._hold_until - now
        allowed = max(1, self.budget - keep)
        if len(self._tickets) < allowed:
            return hold
        leaving = sorted(t.finished_at for t in self._tickets if t.finished_at is not None)
        first_to_leave = len(self._tickets) - allowed  # it, and every ticket leaving before it, must leave first
        if first_to_leave >= len(leaving):
            return max(hold, self.window / 4)  # requests in flight hold the slots: woken by done() before then
        return max(hold, leaving[first_to_leave] + self.window - now)

    def _forget_left(self, now: float) -> None:
        """Drop the tickets that have left the window, in whatever order their replies came.

        Replies do not come in the order of the sends. A request long in flight (one waiting for a connection,
        a slow reply) once kept every ticket after it counted: with one worker, 100 tickets were counted
        where 60 were in the window, and a read waited a whole window for nothing.
        """
        tickets = self._tickets
        while tickets and tickets[0].finished_at is not None and tickets[0].finished_at + self.window <= now:
            tickets.popleft()
        if any(t.finished_at is not None and t.finished_at + self.window <= now for t in tickets):
            self._tickets = deque(t for t in tickets if t.finished_at is None or t.finished_at + self.window > now)
