"""A budget set above the account's limit: the pacer adopts the limit HubSpot reports, and never goes above ours.

HubSpot fact relied on: every reply carries ``X-HubSpot-RateLimit-Max`` per
``X-HubSpot-RateLimit-Interval-Milliseconds`` (the rolling window's limit) and ``X-HubSpot-RateLimit-Remaining``;
the sandbox sends them from its own limiter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from hubassoc.associations_v3 import AssociationsV3
from hubassoc.client import HubSpotClient
from hubassoc.pacing import Pacer
from tests.support.clients import CLIENT_TOKEN, FakeClock, make_client

REQUESTS = 40  # two of the sandbox's 1 s windows at 20 per window


def run_over_budget(sandbox: Callable[..., Any], holds: list[float] | None = None) -> tuple[Any, HubSpotClient]:
    """requests_per_10s 1000 (a 10 s window) against an account limit of 20 per 1 s, many requests at once."""
    box = sandbox(tokens=[CLIENT_TOKEN], rate_limit=20, window_seconds=1.0, seed="demo")
    with make_client(box.url, requests_per_10s=1000, max_workers=16) as client:
        if holds is not None:
            hold = client.pacer.hold

            def recording_hold(seconds: float) -> None:
                holds.append(seconds)
                hold(seconds)

            client.pacer.hold = recording_hold  # type: ignore[method-assign]
        results = list(client.map_ordered(lambda _: AssociationsV3(client).association_types("contacts", "companies"),
                                          range(REQUESTS)))
    assert len(results) == REQUESTS
    return box, client


# -- against the sandbox ---------------------------------------------------------------------------------------


def test_lower_reported_limit_becomes_the_budget_and_no_request_is_rate_limited(
    sandbox: Callable[..., Any],
) -> None:
    box, client = run_over_budget(sandbox)
    assert (client.pacer.budget, client.pacer.window) == (20, 1.0)
    counters = box.counters()
    assert counters["rate_limited"] == 0
    assert client.stats.snapshot() == {"requests": REQUESTS, "retries": 0, "rate_limited": 0}


def test_lower_reported_limit_is_not_mistaken_for_another_app_spending_the_budget(
    sandbox: Callable[..., Any],
) -> None:
    """Before, Remaining measured against 1000 looked like ~970 missing slots: a hold of ~9.7 s per reply."""
    holds: list[float] = []
    run_over_budget(sandbox, holds)
    assert sum(holds) < 1.0, holds  # less than one of the sandbox's windows in all


def test_adopting_the_reported_limit_is_logged_once_at_info_without_the_token(
    sandbox: Callable[..., Any], caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="hubassoc"):
        run_over_budget(sandbox)
    adopted = [r for r in caplog.records if r.name == "hubassoc.pacing" and "reports a rate limit" in r.message]
    assert len(adopted) == 1
    assert adopted[0].levelno == logging.INFO
    assert "20 requests per 1 s" in adopted[0].message
    assert CLIENT_TOKEN not in caplog.text


def test_reported_limit_at_or_above_the_configured_budget_changes_nothing(sandbox: Callable[..., Any]) -> None:
    """A user may deliberately take less than the account allows, to leave room for other apps."""
    box = sandbox(tokens=[CLIENT_TOKEN], rate_limit=100, window_seconds=10.0, seed="demo")
    with make_client(box.url, requests_per_10s=50) as client:
        AssociationsV3(client).association_types("contacts", "companies")
        assert (client.pacer.budget, client.pacer.window) == (50, 10.0)


# -- the pacer alone, on a fake clock --------------------------------------------------------------------------


def test_reported_limit_never_raises_the_budget_above_the_configured_one() -> None:
    pacer = Pacer(100, 10.0, clock=FakeClock())
    pacer.observe_limit(250, 10.0)
    assert (pacer.budget, pacer.window) == (100, 10.0)


def test_reported_limits_only_ever_lower_the_budget() -> None:
    """Endpoint families may report different limits (associations have their own): the lowest seen is kept."""
    pacer = Pacer(1000, 10.0, clock=FakeClock())
    pacer.observe_limit(100, 10.0)
    pacer.observe_limit(150, 10.0)
    pacer.observe_limit(1000, 10.0)
    assert (pacer.budget, pacer.window) == (100, 10.0)


def test_limits_with_another_interval_are_compared_as_rates() -> None:
    pacer = Pacer(100, 10.0, clock=FakeClock())  # 10 per second
    pacer.observe_limit(20, 1.0)  # 20 per second: more than configured, ignored
    assert (pacer.budget, pacer.window) == (100, 10.0)
    pacer.observe_limit(5, 1.0)  # 5 per second: adopted with its own window
    assert (pacer.budget, pacer.window) == (5, 1.0)


def test_reported_limit_without_an_interval_keeps_our_window() -> None:
    pacer = Pacer(1000, 10.0, clock=FakeClock())
    pacer.observe_limit(100)
    assert (pacer.budget, pacer.window) == (100, 10.0)


def test_configured_budget_is_kept_alongside_the_adopted_one() -> None:
    pacer = Pacer(1000, 10.0, clock=FakeClock())
    pacer.observe_limit(100, 10.0)
    assert (pacer.configured_budget, pacer.configured_window) == (1000, 10.0)


def test_unusable_reported_limits_are_ignored() -> None:
    pacer = Pacer(100, 10.0, clock=FakeClock())
    pacer.observe_limit(0, 10.0)
    pacer.observe_limit(50, 0.0)
    assert (pacer.budget, pacer.window) == (100, 10.0)


def test_adopted_budget_paces_requests() -> None:
    clock = FakeClock()
    pacer = Pacer(1000, 10.0, clock=clock)
    pacer.observe_limit(2, 1.0)
    for ticket in [pacer.acquire(), pacer.acquire()]:
        pacer.done(ticket)
    assert pacer.seconds_to_wait() == pytest.approx(1.0)  # the third waits one reported interval after the replies


def test_shortfall_is_measured_against_the_adopted_budget() -> None:
    pacer = Pacer(1000, 10.0, clock=FakeClock())
    for _ in range(8):
        pacer.acquire()
    pacer.observe_limit(100, 10.0)
    pacer.observe_remaining(90)  # we think 92 are left of 100: 2 went to someone else
    assert pacer.seconds_to_wait() == pytest.approx(10.0 / 100 * 2)
