"""The pacer keeps every rolling window within budget, counting from replies (HubSpot counts on arrival)."""

from __future__ import annotations

import threading

import pytest

from hubassoc.client import InFlightSlots
from hubassoc.pacing import CHAIN_RESERVE, Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


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
    assert pacer._wait_needed() == pytest.approx(0.1)
    clock.now += 0.1
    assert pacer._wait_needed() <= 0


def test_hold_pauses_every_sender() -> None:
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    pacer.hold(2.5)
    assert pacer._wait_needed() == pytest.approx(2.5)


def test_remaining_spent_by_our_own_requests_does_not_slow_us_down() -> None:
    clock = FakeClock()
    pacer = Pacer(10, 10.0, clock=clock)
    for _ in range(8):
        pacer.acquire()
    pacer.observe_remaining(2)  # HubSpot agrees: the other 8 are ours
    assert pacer._wait_needed() <= 0


def test_remaining_spent_by_another_app_slows_us_down_in_proportion() -> None:
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    for _ in range(10):
        pacer.acquire()
    pacer.observe_remaining(40)  # we think 90 are left: 50 went to someone else
    assert pacer._wait_needed() == pytest.approx(10.0 / 100 * 50)


def test_waiting_sender_wakes_when_an_in_flight_request_finishes() -> None:
    pacer = Pacer(1, 0.05)
    first = pacer.acquire()
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(pacer.acquire()))
    waiter.start()
    pacer.done(first)
    waiter.join(timeout=5)
    assert got, "the second acquire should succeed one window after the first reply"


def test_budget_and_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0, 10.0)


# -- chains (listing pages) go first ------------------------------------------------------------------------


def _measured_chain(pacer: Pacer, clock: FakeClock, rtt: float) -> None:
    """One chain request answered after ``rtt``: the pacer's estimate of a chain's round trip."""
    ticket = pacer.acquire(chain=True)
    clock.now += rtt
    pacer.done(ticket)


def test_while_a_chain_is_open_other_requests_share_what_its_round_trips_leave() -> None:
    """A listing sends one page per round trip: at 0.2 s that is 50 of a 10 s window's 100 slots kept for it."""
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain():
        _measured_chain(pacer, clock, 0.2)
        for _ in range(50):
            pacer.done(pacer.acquire())
        assert pacer._wait_for_share() > 0  # the 51st read waits: the rest is the chain's
        assert pacer._wait_needed() <= 0  # while the chain's next page still goes at once
    assert pacer._wait_for_share() <= 0  # the chain is done: its share is free again


def test_chains_keep_at_most_three_quarters_of_the_budget() -> None:
    """Reads must go on beside a fast listing: they keep at least a quarter of each window."""
    clock = FakeClock()
    pacer = Pacer(100, 10.0, clock=clock)
    with pacer.chain(), pacer.chain():
        _measured_chain(pacer, clock, 0.05)  # 200 round trips a window, for each of two chains
        for _ in range(25):
            pacer.done(pacer.acquire())
        assert pacer._wait_for_share() > 0


def test_other_requests_leave_free_slots_to_each_open_chain() -> None:
    """Slots come free in bursts; a chain's next page must find one without waiting for the next burst."""
    clock = FakeClock()
    pacer = Pacer(20, 10.0, clock=clock)
    with pacer.chain():
        for _ in range(20 - CHAIN_RESERVE):
            pacer.acquire()
        assert pacer._wait_needed(CHAIN_RESERVE) > 0  # a read now waits
        assert pacer._wait_needed() <= 0  # a chain request goes


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
