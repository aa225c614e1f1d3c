"""The pacer keeps every rolling window within budget, counting from replies (HubSpot counts on arrival)."""

from __future__ import annotations

import threading
import time

import pytest

from hubassoc.client import InFlightSlots
from hubassoc.pacing import CHAIN_RESERVE, Pacer
from tests.support.clients import FakeClock
from tests.support.waiting import eventually, wait_until


def test_budget_requests_go_out_without_waiting() -> None:
    clock = FakeClock()
    pacer = Pacer(5, 10.0, clock=clock)
    tickets = [pacer.acquire() for _ in range(5)]
    assert len(tickets) == 5


def test_slot_frees_one_window_after_the_reply_not_the_send() -> None:
    clock = FakeClock()
    pacer = Pacer(1, 10.0, clock=clock)
    ticket = pacer.acquire()
    clock.now += 3.0  # the reply arrives 3 s after the send
    pacer.done(ticket)
    clock.now += 9.9
    assert pacer.seconds_to_wait() == pytest.approx(0.1)
    clock.now += 0.1
    assert pacer.seconds_to_wait() <= 0


def test_a_request_long_in_flight_does_not_hide_the_slots_freed_after_it() -> None:
    """Replies come in any order: slots free as each reply is a window old, not in the order of the sends."""
    clock = FakeClock()
    pacer = Pacer(3, 10.0, clock=clock)
    pacer.acquire()  # in flight for the whole test (a request waiting for a connection, a slow reply)
    pacer.done(pacer.acquire())
    pacer.done(pacer.acquire())
    assert pacer.seconds_to_wait() > 0  # the window is full
    clock.now += 10.0  # the two answered requests have left it
    assert pacer.seconds_to_wait() <= 0


def test_a_full_window_frees_when_the_earliest_reply_is_a_window_old() -> None:
    clock = FakeClock()
    pacer = Pacer(2, 10.0, clock=clock)
    first, second = pacer.acquire(), pacer.acquire()
    clock.now += 3.0
    pacer.done(second)  # answered first
    clock.now += 1.0
    pacer.done(first)
    assert pacer.seconds_to_wait() == pytest.approx(9.0)  # the second's reply, at 103, leaves at 113


def test_hold_pauses_every_sender() -> None:
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    pacer.hold(2.5)
    assert pacer.seconds_to_wait() == pytest.approx(2.5)


def test_remaining_spent_by_our_own_requests_does_not_slow_us_down() -> None:
    clock = FakeClock()
    pacer = Pacer(10, 10.0, clock=clock)
    for _ in range(8):
        pacer.acquire()
    pacer.observe_remaining(2)  # HubSpot agrees: the other 8 are ours
    assert pacer.seconds_to_wait() <= 0


def test_remaining_spent_by_another_app_slows_us_down_in_proportion() -> None:
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    for _ in range(10):
        pacer.acquire()
    pacer.observe_remaining(40)  # we think 90 are left: 50 went to someone else
    assert pacer.seconds_to_wait() == pytest.approx(10.0 / 100 * 50)


def test_waiting_sender_wakes_when_an_in_flight_request_finishes() -> None:
    pacer = Pacer(1, 0.05)
    first = pacer.acquire()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(pacer.acquire()))
    waiter.start()
    pacer.done(first)
    waiter.join(timeout=5)
    assert got, "the second acquire should succeed one window after the first reply"


def test_a_deferred_request_goes_only_after_the_requests_waiting_beside_it() -> None:
    """Work done early (the tap's read-ahead) must not take a slot a request the run waits on is waiting for.

    The deferred request starts waiting first, so it would be first in line without the rule.
    """
    clock = FakeClock()
    pacer = Pacer(1, 10.0, clock=clock)
    pacer.done(pacer.acquire())  # the window's one slot frees at 110
    order: list[str] = []

    def send(name: str, *, deferred: bool) -> None:
        ticket = pacer.acquire(deferred=deferred)
        order.append(name)
        pacer.done(ticket)

    early = threading.Thread(target=send, args=("early",), kwargs={"deferred": True})
    needed = threading.Thread(target=send, args=("needed",), kwargs={"deferred": False})
    early.start()
    wait_until(lambda: pacer.waiting == 1, "the deferred request to wait for the slot")
    needed.start()
    wait_until(lambda: pacer.waiting == 2, "both requests to wait for the slot")
    for sent, now in enumerate((110.0, 120.0), start=1):  # each window frees one slot
        clock.now = now
        pacer.hold(0)  # wakes the waiters, as a reply would
        assert eventually(lambda sent=sent: len(order) == sent)
    early.join(timeout=5)
    needed.join(timeout=5)
    assert order == ["needed", "early"]


def test_requests_waiting_for_the_budget_go_in_the_order_they_asked() -> None:
    """The tap emits a batch's records only after every earlier batch's: its reads and pages must go in order.

    Six requests wait for a full window; three slots free at once. Woken together, any three could take them.
    """
    clock = FakeClock()
    pacer = Pacer(3, 10.0, clock=clock)
    for _ in range(3):
        pacer.done(pacer.acquire())  # the window's three slots free at 110
    order: list[int] = []

    def send(name: int) -> None:
        pacer.acquire()
        order.append(name)

    waiting = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(6)]
    for asked, thread in enumerate(waiting, start=1):
        thread.start()
        wait_until(lambda asked=asked: pacer.waiting == asked, "each request to wait before the next asks")
    clock.now = 110.0
    pacer.hold(0)  # wakes the waiters, as a reply would
    assert eventually(lambda: len(order) == 3)
    time.sleep(0.1)  # room for a wrong implementation to let a fourth go: that nothing happens takes time to see
    assert order == [0, 1, 2]


def test_budget_and_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0, 10.0)


# -- chains (listing pages) go first ------------------------------------------------------------------------


def _answered_after(pacer: Pacer, clock: FakeClock, rtt: float, rank: int = 0) -> None:
    """One chain request answered after ``rtt``: the pacer's estimate of a chain's round trip moves toward it."""
    ticket = pacer.acquire(chain=True, rank=rank)
    clock.now += rtt
    pacer.done(ticket)


def _measured_chain(pacer: Pacer, clock: FakeClock, rtt: float, rank: int = 0) -> None:
    """The pacer knows a chain's round trip from a request a window ago: the window starts empty."""
    _answered_after(pacer, clock, rtt, rank)
    clock.now += pacer.window  # its slot is free again: the window starts empty


def _reads(pacer: Pacer, count: int) -> None:
    """``count`` reads, each free to go at once (the clock stands still: a read that had to wait never would)."""
    for _ in range(count):
        assert pacer.seconds_to_wait() <= 0
        pacer.done(pacer.acquire())


def test_while_a_chain_is_open_other_requests_share_what_its_round_trips_leave() -> None:
    """A listing sends one page per round trip: at 0.2 s that is 50 of a 10 s window's 100 slots kept for it."""
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain():
        _measured_chain(pacer, clock, 0.2)
        _reads(pacer, 50)
        assert pacer.seconds_to_wait() > 0  # the 51st read waits: the rest is the chain's
        assert pacer.seconds_to_wait(chain=True) <= 0  # while the chain's next page still goes at once
    assert pacer.seconds_to_wait() <= 0  # the chain is done: its share is free again


def test_reads_take_the_slots_a_chain_slower_than_its_round_trips_leaves() -> None:
    """A chain's share is its round trips from now on, not a fixed part of every window.

    Listing pages come slower than one per round trip when the client takes its time between them; the slots
    they leave are the reads', or no one's: HubSpot's window rolls on.
    """
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain():
        _measured_chain(pacer, clock, 0.2)  # 50 pages a window at most
        _reads(pacer, 50)
        assert pacer.seconds_to_wait() > 0
        for _ in range(5):  # in 5 s the chain sends 5 pages where it could have sent 25
            clock.now += 0.8
            _answered_after(pacer, clock, 0.2)
        _reads(pacer, 20)  # 50 + 5 + 20 in the window, and 25 more pages fit before the first reads leave it
        assert pacer.seconds_to_wait() > 0
        assert pacer.seconds_to_wait(chain=True) <= 0


def test_a_read_waits_while_the_chain_needs_every_slot_until_the_next_one_frees() -> None:
    """Slots free in the rhythm of the sends a window earlier: a read must not take one the chain needs first."""
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain():
        _measured_chain(pacer, clock, 0.2)
        _reads(pacer, 40)
        clock.now += 8.0  # those 40 leave the window in 2 s; the chain sends 10 pages before then
        _reads(pacer, 50)  # 90 held and 10 pages to come: the window is full until the first 40 leave
        assert pacer.seconds_to_wait() == pytest.approx(2.0)
        assert pacer.seconds_to_wait(chain=True) <= 0


def test_reads_keep_a_twentieth_of_the_budget_beside_fast_listings() -> None:
    """Reads must go on beside listings that could take every slot: they keep at least 5 of 100."""
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain(), pacer.chain():
        _measured_chain(pacer, clock, 0.05)  # 200 round trips a window, for each of two chains
        _reads(pacer, 4)
        assert pacer.seconds_to_wait() <= 0
        _reads(pacer, 1)
        assert pacer.seconds_to_wait() > 0


def test_a_listing_ranked_later_leaves_an_earlier_one_its_share() -> None:
    """Two listings at 0.2 s a page want 100 slots between them: the first-ranked keeps its 50."""
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain(rank=0), pacer.chain(rank=1):
        _measured_chain(pacer, clock, 0.2)
        for _ in range(49):
            pacer.acquire(chain=True, rank=1)
        assert pacer.seconds_to_wait(chain=True, rank=1) <= 0
        pacer.acquire(chain=True, rank=1)
        assert pacer.seconds_to_wait(chain=True, rank=1) > 0
        assert pacer.seconds_to_wait(chain=True, rank=0) <= 0


def test_listings_of_one_rank_share_the_budget_first_come() -> None:
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain(), pacer.chain():
        _measured_chain(pacer, clock, 0.2)
        for _ in range(98):
            pacer.done(pacer.acquire(chain=True))
        assert pacer.seconds_to_wait(chain=True) <= 0  # the last slot: no share is kept from an equal


def test_reads_leave_room_for_every_open_listing_the_later_ranked_too() -> None:
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain(rank=0), pacer.chain(rank=1):
        _measured_chain(pacer, clock, 0.2)  # 50 each: 100, of which chains keep at most 95
        _reads(pacer, 4)
        assert pacer.seconds_to_wait() <= 0
        _reads(pacer, 1)
        assert pacer.seconds_to_wait() > 0
        assert pacer.seconds_to_wait(chain=True, rank=1) <= 0


def test_other_requests_leave_free_slots_to_each_open_chain() -> None:
    """Slots come free in the rhythm of the sends a window earlier; a chain's next page must find one at once."""
    clock = FakeClock()
    pacer = Pacer(20, 10.0, clock=clock)
    with pacer.chain():
        for _ in range(20 - CHAIN_RESERVE):
            pacer.acquire()
        assert pacer.seconds_to_wait() > 0  # a read now waits
        assert pacer.seconds_to_wait(chain=True) <= 0  # a chain request goes


def test_a_request_that_is_not_a_chain_link_leaves_a_connection_to_each_open_chain() -> None:
    pacer = Pacer(100, 10.0)
    slots = InFlightSlots(2, pacer)
    with pacer.chain():
        slots.acquire()
        taken = threading.Event()
        reader = threading.Thread(target=lambda: (slots.acquire(), taken.set()), daemon=True)
        reader.start()
        slots.acquire(chain=True)  # the chain's page gets the second connection
        slots.release(chain=True)
        assert not taken.is_set()  # while the chain is open, reads have one connection, the first read's
        slots.release()
        assert taken.wait(5)
        slots.release()
