"""HubSpot's rate limits: the rolling window and the daily total, their 429 bodies and headers (1-second windows)."""

from __future__ import annotations

import time

from tests.support.sandbox_api import UUID, Api, ApiFactory, SandboxFactory

TYPES = "/crm/v3/associations/contacts/companies/types"
RATE_HEADERS = ("X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Max",
                "X-HubSpot-RateLimit-Remaining", "X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining")


def _statuses(caller: Api, count: int) -> list[int]:
    return [caller.get(TYPES).status_code for _ in range(count)]


def test_beyond_the_window_budget_is_a_429_with_hubspots_exact_body(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(rate_limit=3, window_seconds=1.0))
    assert _statuses(caller, 3) == [200, 200, 200]
    response = caller.get(TYPES)
    assert response.status_code == 429
    assert response.json() == {
        "status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
        "correlationId": UUID, "policyName": "TEN_SECONDLY_ROLLING", "requestId": UUID,
    }


def test_rate_limit_headers_count_down_the_window(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(rate_limit=3, window_seconds=1.0))
    answers = [caller.get(TYPES).headers for _ in range(4)]
    assert [h["X-HubSpot-RateLimit-Remaining"] for h in answers] == ["2", "1", "0", "0"]
    assert {(h["X-HubSpot-RateLimit-Interval-Milliseconds"], h["X-HubSpot-RateLimit-Max"]) for h in answers} == {
        ("1000", "3")}


def test_every_hubspot_response_carries_the_rate_limit_headers(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox()
    answers = [api(box).get(TYPES), api(box, token=None).get(TYPES), api(box).get("/crm/v3/objects/widgets"),
               api(box).post("/crm/v3/associations/contacts/companies/batch/read", {"inputs": []})]
    assert [r.status_code for r in answers] == [200, 401, 400, 200]
    assert all(name in r.headers for r in answers for name in RATE_HEADERS)


def test_the_window_rolls_and_admits_again(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(rate_limit=2, window_seconds=1.0))
    assert _statuses(caller, 3) == [200, 200, 429]
    time.sleep(1.05)  # the 1 s window rolls past the first requests: time passing is the behaviour
    assert _statuses(caller, 2) == [200, 200]


def test_rejected_requests_do_not_use_the_window(sandbox: SandboxFactory, api: ApiFactory) -> None:
    """Undocumented by HubSpot, so a knob: by default a 429 spends no budget."""
    caller = api(sandbox(rate_limit=2, window_seconds=1.0))
    assert _statuses(caller, 2) == [200, 200]
    time.sleep(0.6)  # still inside the window of the admitted ones: time passing is the behaviour
    assert _statuses(caller, 3) == [429, 429, 429]
    time.sleep(0.5)  # the two admitted ones have left the window; the rejected ones never entered it
    assert _statuses(caller, 2) == [200, 200]


def test_with_count_rejected_a_429_spends_budget_too(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(rate_limit=2, window_seconds=1.0, count_rejected=True))
    assert _statuses(caller, 2) == [200, 200]
    time.sleep(0.6)  # still inside the window of the admitted ones: time passing is the behaviour
    assert _statuses(caller, 1) == [429]
    time.sleep(0.5)  # the admitted ones have left the window: time passing is the behaviour
    assert _statuses(caller, 2) == [200, 429]


def test_429s_carry_retry_after_when_configured(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(rate_limit=1, window_seconds=1.0, retry_after=2))
    assert [caller.get(TYPES).headers.get("Retry-After") for _ in range(2)] == [None, "2"]


def test_no_retry_after_by_default(sandbox: SandboxFactory, api: ApiFactory) -> None:
    """HubSpot does not document Retry-After: clients must not depend on it."""
    caller = api(sandbox(rate_limit=1, window_seconds=1.0))
    assert "Retry-After" not in [caller.get(TYPES) for _ in range(2)][1].headers


def test_beyond_the_daily_limit_is_a_429_daily(sandbox: SandboxFactory, api: ApiFactory) -> None:
    caller = api(sandbox(daily_limit=2))
    assert _statuses(caller, 2) == [200, 200]
    response = caller.get(TYPES)
    assert response.status_code == 429
    assert response.json() == {
        "status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
        "correlationId": UUID, "policyName": "DAILY", "requestId": UUID,
    }
    assert (response.headers["X-HubSpot-RateLimit-Daily"], response.headers["X-HubSpot-RateLimit-Daily-Remaining"]) \
        == ("2", "0")


def test_429s_of_both_policies_are_counted_as_rate_limited(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(rate_limit=1, window_seconds=1.0)
    caller = api(box)
    _statuses(caller, 2)
    box.configure(daily_limit=1)
    _statuses(caller, 1)
    counters = box.counters()
    assert (counters["rate_limited"], counters["statuses"]) == (2, {200: 1, 429: 2})


def test_the_token_endpoint_and_inspection_routes_are_not_rate_limited(
    sandbox: SandboxFactory, api: ApiFactory,
) -> None:
    box = sandbox(rate_limit=1, window_seconds=1.0)
    caller = api(box)
    assert _statuses(caller, 1) == [200]
    assert [caller.get("/_sandbox/counters").status_code for _ in range(3)] == [200, 200, 200]


def test_reset_rate_limits_starts_a_fresh_window(sandbox: SandboxFactory, api: ApiFactory) -> None:
    box = sandbox(rate_limit=1, window_seconds=10.0)
    caller = api(box)
    assert _statuses(caller, 2) == [200, 429]
    box.reset_rate_limits()
    assert _statuses(caller, 1) == [200]


def test_search_has_its_own_limit_of_5_a_second_and_its_429_spends_no_window(
    sandbox: SandboxFactory, api: ApiFactory,
) -> None:
    """HubSpot allows 5 search requests a second (hubspot-associations-api.md), whatever the window has left."""
    box = sandbox()
    caller = api(box)
    statuses = [caller.post("/crm/v3/objects/contacts/search", {"limit": 1}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert caller.get(TYPES).headers["X-HubSpot-RateLimit-Remaining"] == str(100 - 5 - 1)
