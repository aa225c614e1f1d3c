"""One pacer per client: every rolling window within the request budget HubSpot enforces, chains first.

The pacer answers two questions, each in a class of its own:

- ``RollingWindow``: what was sent and answered when, and how long until one more request fits in the budget.
  HubSpot counts a request when it arrives, somewhere between our send and its reply, so a slot becomes free
  ``window`` seconds after the *reply* of the request that took it: the server's count never exceeds the budget
  however latency varies.
- ``Turns``: whose turn it is. Requests in a *chain* (listing pages: each cursor comes from the previous reply)
  go first, by rank: a run ends no sooner than its longest chain, while a read that waits delays only itself.
  A chain sends one request per round trip, so it is kept the room its coming round trips need and no more;
  a link takes what the chains ranked before it leave, and a request that is no chain's link what all open
  chains leave -- at least ``1 - CHAINS_SHARE_AT_MOST`` of the budget, so reads never stop -- less
  ``CHAIN_RESERVE`` free slot per chain for the jitter of its replies. Other requests go in the order they
  asked, since the tap emits a batch only after every earlier one; a *deferred* request (read-ahead: early
  work) goes only while no other request waits. A listing waiting on its reader keeps no share
  (``chain_paused``).

HubSpot reports its limit on every reply, and the pacer adopts a lower one the moment it sees it rather than
finding out through 429s; it never goes above the configured budget, which a user may keep below the account's.
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
# A waiter that only a reply or another waiter going can let through is woken by them; it looks again after
# this part of a window anyway, so that a missed wake-up costs a moment, not the run.
LOOK_AGAIN_FRACTION = 0.25


class Ticket:
    """One request's claim on the budget; ``done()`` starts its window, as HubSpot has seen it by then."""

    __slots__ = ("chain", "finished_at", "sent_at")

    def __init__(self, sent_at: float, *, chain: bool) -> None:
        self.sent_at = sent_at
        self.chain = chain  # a chain's link: its round trip feeds the chains' estimate
        self.finished_at: float | None = None


class RollingWindow:
    """``budget`` requests per ``seconds``: what was sent and answered when, and when one more request fits.

    Not thread-safe on its own: the ``Pacer`` calls it under its lock.
    """

    def __init__(self, budget: int, seconds: float, clock: Callable[[], float]) -> None:
        self.budget = budget
        self.seconds = seconds
        self._clock = clock
        self._tickets: deque[Ticket] = deque()
        self._hold_until = 0.0

    @property
    def look_again_after(self) -> float:
        """How long a waiter sleeps when no reply or turn is sure to wake it sooner."""
        return self.seconds * LOOK_AGAIN_FRACTION

    @property
    def held(self) -> int:
        """Requests in the window: in flight, or answered less than a window ago."""
        return len(self._tickets)

    def send(self, *, chain: bool) -> Ticket:
        """Count one request as sent now."""
        ticket = Ticket(self._clock(), chain=chain)
        self._tickets.append(ticket)
        return ticket

    def answered(self, ticket: Ticket) -> None:
        """Count ``ticket``'s request as answered now: its slot frees one window later."""
        ticket.finished_at = self._clock()

    def hold(self, seconds: float) -> None:
        """Let nothing through for ``seconds`` from now (after a 429, or a short ``Remaining``)."""
        self._hold_until = max(self._hold_until, self._clock() + seconds)

    def seconds_until_free(self, keep: int = 0) -> float:
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
            return max(hold, self.look_again_after)  # requests in flight hold the slots: a reply wakes us
        return max(hold, leaving[first_to_leave] + self.seconds - now)

    def seconds_until_room_beside(self, rate: float) -> float:
        """Seconds until one request fits beside others sending ``rate`` a second from now on.

        It fits when, at every moment of the coming window, what is still in the window, the request itself
        and those sends until then fit in the budget; slots the others leave unused are taken as they leave them.
        """
        held = len(self._tickets)
        if held + 1 + rate * self.seconds <= self.budget:  # fits even if nothing left the window
            return 0.0
        now = self._clock()
        leaving = sorted(t.finished_at + self.seconds for t in self._tickets if t.finished_at is not None)
        for gone, at in enumerate(leaving):  # just before ``at``, ``gone`` tickets have left the window
            if at > now and held - gone + 1 + rate * (at - now) > self.budget:
                return at - now  # looked at again when that ticket leaves, or when a reply comes
        if held - len(leaving) + 1 + rate * self.seconds > self.budget:
            return self.look_again_after  # requests in flight hold the room: a reply wakes us
        return 0.0

    def _forget_left(self, now: float) -> None:
        """Drop the tickets that have left the window, in whatever order their replies came.

        Replies do not come in the order of the sends: a request long in flight must not keep every ticket
        after it counted.
        """
        tickets = self._tickets
        while tickets and tickets[0].finished_at is not None and tickets[0].finished_at + self.seconds <= now:
            tickets.popleft()
        if any(t.finished_at is not None and t.finished_at + self.seconds <= now for t in tickets):
            self._tickets = deque(t for t in tickets if t.finished_at is None or t.finished_at + self.seconds > now)


class Turns:
    """Whose turn it is: open chains by rank, then other requests in the order they asked, deferred ones last.

    Not thread-safe on its own: the ``Pacer`` calls it under its lock.
    """

    def __init__(self) -> None:
        self._ranks: Counter[int] = Counter()  # open chains by rank
        self._chain_rtt: float | None = None  # running estimate of a chain request's round trip
        self._waiting = 0  # requests, not deferred ones, waiting for the budget now
        self._line: deque[object] = deque()  # requests that are no chain's link, in the order they asked

    @property
    def open_chains(self) -> int:
        """Chains under way."""
        return self._ranks.total()

    def open_chain(self, rank: int) -> None:
        """A chain of ``rank`` starts, or resumes after a pause."""
        self._ranks[rank] += 1

    def close_chain(self, rank: int) -> None:
        """A chain of ``rank`` ends, or pauses."""
        self._ranks[rank] -= 1

    def chains_before(self, *, chain: bool, rank: int) -> int:
        """How many open chains go before such a request: those ranked before a link, every one before others."""
        level = rank if chain else math.inf
        return sum(n for r, n in self._ranks.items() if r < level)

    def chains_rate(self, chains: int, budget: int, window: float) -> float | None:
        """Requests a second ``chains`` open chains send from now on (None: no round trip measured yet)."""
        if self._chain_rtt is None:
            return None
        per_chain = window / max(self._chain_rtt, 1e-3)
        return min(chains * per_chain, CHAINS_SHARE_AT_MOST * budget) / window

    def round_trip(self, seconds: float) -> None:
        """A chain's request was answered after ``seconds``: the estimate of a chain's round trip moves toward it."""
        rtt = self._chain_rtt
        self._chain_rtt = seconds if rtt is None else (1 - _RTT_WEIGHT) * rtt + _RTT_WEIGHT * seconds

    def join(self, *, chain: bool, deferred: bool) -> object | None:
        """A request starts waiting; its place in line (None for a chain's link or a deferred request)."""
        self._waiting += not deferred
        place = None if chain or deferred else object()
        if place is not None:
            self._line.append(place)
        return place

    def leave(self, place: object | None, *, deferred: bool) -> None:
        """A request has stopped waiting (it goes, or gave up)."""
        if place is not None:
            self._line.remove(place)
        self._waiting -= not deferred

    def is_next(self, place: object | None, *, deferred: bool) -> bool:
        """Whether no request that asked before this one still waits (a deferred one: none waits at all)."""
        if deferred:
            return not self._waiting
        return place is None or self._line[0] is place


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
        self.configured_budget = budget
        self.configured_window = window_seconds
        self._window = RollingWindow(budget, window_seconds, clock)
        self._turns = Turns()
        self._changed = threading.Condition(threading.RLock())  # seconds_to_wait is called with it held
        self._asking = 0  # requests inside acquire now

    @property
    def budget(self) -> int:
        """Requests allowed per window now."""
        return self._window.budget

    @property
    def window(self) -> float:
        """The window's length in seconds now."""
        return self._window.seconds

    @property
    def open_chains(self) -> int:
        """Chains under way: other requests leave room for them (here, and in the client's in-flight slots)."""
        return self._turns.open_chains

    @property
    def waiting(self) -> int:
        """Requests inside ``acquire`` now (deferred ones included): each has taken its place in line.

        For tests that order threads: wait until a request is in line before the next one asks.
        """
        with self._changed:
            return self._asking

    @contextmanager
    def chain(self, rank: int = 0) -> Iterator[None]:
        """While open, requests ranked after this chain leave room for it (see the module docstring)."""
        with self._changed:
            self._turns.open_chain(rank)
        try:
            yield
        finally:
            with self._changed:
                self._turns.close_chain(rank)
                self._changed.notify_all()

    @contextmanager
    def chain_paused(self, rank: int = 0) -> Iterator[None]:
        """While a chain waits on its consumer (a listing whose pages are not taken), it keeps no share.

        What the listing waits for is its reader's batch reads: kept out of the chain's share, they would crawl
        while the share went unused. Nobody is woken on pausing, as most pauses last a microsecond (the page is
        taken at once); a request waiting for the share looks again when its wait ends.
        """
        with self._changed:
            self._turns.close_chain(rank)
        try:
            yield
        finally:
            with self._changed:
                self._turns.open_chain(rank)

    def acquire(self, *, chain: bool = False, rank: int = 0, deferred: bool = False) -> Ticket:
        """Block until a request may be sent without exceeding the budget in any window, and count it sent.

        A link of a ``chain`` of ``rank`` r takes what the open chains ranked before r leave; a request that is
        no chain's link takes what every open chain leaves, in the order such requests asked. A ``deferred``
        request takes only budget no other request is waiting for.
        """
        with self._changed:
            place = self._turns.join(chain=chain, deferred=deferred)
            self._asking += 1
            try:
                while (wait := self._seconds_before_my_turn(chain, rank, place, deferred=deferred)) > 0:
                    self._changed.wait(timeout=wait)
            finally:
                self._asking -= 1
                self._turns.leave(place, deferred=deferred)
                if not deferred:
                    self._changed.notify_all()  # the next in line, and deferred requests, may look again
            return self._window.send(chain=chain)

    def seconds_to_wait(self, *, chain: bool = False, rank: int = 0) -> float:
        """How long such a request would wait now for the budget (0 or less: it may go), turns in line aside."""
        with self._changed:
            before = self._turns.chains_before(chain=chain, rank=rank)
            if not before:
                return self._window.seconds_until_free()
            keep = min(before * CHAIN_RESERVE, self.budget // 2)
            wait = self._window.seconds_until_free(keep)
            rate = self._turns.chains_rate(before, self.budget, self.window)
            return wait if rate is None else max(wait, self._window.seconds_until_room_beside(rate))

    def done(self, ticket: Ticket) -> None:
        """Mark a request answered (or failed): its slot frees one window later."""
        with self._changed:
            self._window.answered(ticket)
            if ticket.chain and ticket.finished_at is not None:
                self._turns.round_trip(ticket.finished_at - ticket.sent_at)
            self._changed.notify_all()

    def hold(self, seconds: float) -> None:
        """Send nothing for a while: after a 429, or when HubSpot reports the budget nearly spent."""
        with self._changed:
            self._window.hold(seconds)
            self._changed.notify_all()

    def observe_limit(self, maximum: int, interval_seconds: float | None = None) -> None:
        """Adopt HubSpot's reported limit (``maximum`` per ``interval_seconds``) when it is lower than ours.

        Limits are compared as rates (the interval may differ from our window; without one, ours is assumed)
        and only ever lowered: endpoint families report different limits, and the lowest seen is safe for all.
        Logged once per lowering, normally once a run.
        """
        if maximum < 1 or (interval_seconds is not None and interval_seconds <= 0):
            return  # not a usable limit: keep pacing as before
        with self._changed:
            window = self.window if interval_seconds is None else interval_seconds
            if maximum * self.window >= self.budget * window:  # maximum / window >= budget / self.window
                return
            self._window.budget, self._window.seconds = maximum, window
            self._changed.notify_all()  # a shorter window may free slots now
        logger.info(
            "HubSpot reports a rate limit of %d requests per %g s, below the configured requests_per_10s "
            "(%g per %g s): pacing at the reported limit",
            maximum, window, self.configured_budget, self.configured_window,
        )

    def observe_remaining(self, remaining: int) -> None:
        """Slow down when HubSpot has fewer slots left than our own ledger leaves us.

        Running at the budget drives ``X-HubSpot-RateLimit-Remaining`` to zero by design; only a shortfall
        beyond our own requests means someone else spends the budget, each missing slot worth one request
        interval of waiting. Measured against the limit in force, so a reported lower limit is no shortfall.
        """
        with self._changed:
            budget, window = self.budget, self.window
            ours_left = budget - self._window.held
        shortfall = ours_left - remaining
        if shortfall > 0:
            self.hold(window / budget * shortfall)

    def _seconds_before_my_turn(self, chain: bool, rank: int, place: object | None, *, deferred: bool) -> float:
        """How long to wait before looking again (0 or less: go now); one not next in line looks again later."""
        wait = self.seconds_to_wait(chain=chain, rank=rank)
        if not self._turns.is_next(place, deferred=deferred):  # woken when the one before it goes
            return max(wait, self._window.look_again_after)
        return wait
