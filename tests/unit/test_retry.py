"""The retry policy: which replies are retried, how long each wait is at least, and when it gives up."""

from __future__ import annotations

import email.utils
import time

import pytest

from hubassoc.errors import AuthenticationError, DailyLimitError, HubSpotError, RetriesExhaustedError
from hubassoc.retry import RetriableError, RetryPolicy

NO_BACKOFF = RetryPolicy(max_attempts=3, max_retry_wait=30.0, backoff_base=0.0, backoff_max=0.0)


def test_retry_after_in_seconds_is_the_least_wait() -> None:
    assert NO_BACKOFF.retry_after(429, {"Retry-After": "3"}) == 3.0


def test_retry_after_as_an_http_date_is_the_time_until_then() -> None:
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert NO_BACKOFF.retry_after(503, {"Retry-After": in_ten_seconds}) == pytest.approx(10.0, abs=1.5)


def test_retry_after_is_capped_at_the_longest_wait_allowed() -> None:
    assert NO_BACKOFF.retry_after(429, {"Retry-After": "86400"}) == 30.0


def test_a_locked_resource_waits_at_least_two_seconds() -> None:
    assert NO_BACKOFF.retry_after(423, {}) == 2.0


def test_replies_are_retriable_or_fatal_by_status_and_policy() -> None:
    def kind(status: int, body: object = None) -> type[HubSpotError]:
        return type(NO_BACKOFF.error_for(status, body, {}, "GET /x"))

    assert [kind(s) for s in (423, 429, 500, 502, 503, 504, 521, 523, 524)] == [RetriableError] * 9
    assert kind(429, {"policyName": "DAILY"}) is DailyLimitError
    assert kind(401) is AuthenticationError
    assert kind(400) is HubSpotError


def test_a_request_failing_every_time_is_sent_max_attempts_times_then_given_up() -> None:
    sent: list[int] = []
    retried: list[int] = []

    def send(attempt: int) -> None:
        sent.append(attempt)
        raise RetriableError("unavailable", status=503, correlation_id="c-1")

    with pytest.raises(RetriesExhaustedError, match="gave up after 3 attempts") as failure:
        NO_BACKOFF.call(send, lambda error, wait, attempt: retried.append(attempt))
    assert sent == [1, 2, 3]
    assert retried == [1, 2]
    assert failure.value.correlation_id == "c-1"


def test_the_policy_gives_up_before_a_wait_would_pass_the_longest_total_wait() -> None:
    policy = RetryPolicy(max_attempts=10, max_retry_wait=5.0, backoff_base=0.0, backoff_max=0.0)
    sent: list[int] = []

    def send(attempt: int) -> None:
        sent.append(attempt)
        raise RetriableError("slow down", status=429, retry_after=6.0)

    with pytest.raises(RetriesExhaustedError, match="gave up after 1 attempts"):
        policy.call(send, lambda error, wait, attempt: None)
    assert sent == [1]


def test_a_fatal_error_is_raised_at_once() -> None:
    sent: list[int] = []

    def send(attempt: int) -> None:
        sent.append(attempt)
        raise AuthenticationError("no", status=401)

    with pytest.raises(AuthenticationError):
        NO_BACKOFF.call(send, lambda error, wait, attempt: None)
    assert sent == [1]
