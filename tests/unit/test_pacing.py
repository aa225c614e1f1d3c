"""The pacer keeps every rolling window within budget, counting from replies (HubSpot counts on arrival)."""

from __future__ import annotations

import threading

import pytest

from hubassoc.pacing import Pacer


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
