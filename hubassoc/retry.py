"""Which failed requests are sent again, after how long, and when to give up: one policy, its waits run by backoff.

A reply becomes either an answer or an exception (``error_for``): a ``RetriableError`` is worth sending the same
request again (every endpoint used is idempotent), any other ``HubSpotError`` ends the request. ``RetryPolicy.call``
sends until an answer, a fatal error, or the policy's limits: ``max_attempts`` sends and ``max_retry_wait``
seconds of waiting in all, each wait exponential with full jitter but never shorter than HubSpot asked for.
"""

from __future__ import annotations

import email.utils
import itertools
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff

from hubassoc.errors import (
    AuthenticationError,
    DailyLimitError,
    HubSpotError,
    MissingScopesError,
    RetriesExhaustedError,
)
from hubassoc.limits import DAILY_LIMIT_HEADER, TRANSIENT_5XX

T = TypeVar("T")

RETRY_STATUSES = frozenset({423, 429, *TRANSIENT_5XX})
LOCKED_WAIT_SECONDS = 2.0  # HubSpot asks for at least this long before a request answered 423 goes again


class RetriableError(HubSpotError):
    """A failure the same request may not meet again: 423, 429, a transient 5xx, a timeout, a malformed reply.

    ``reason`` names it in the run's summary (the status, or ``timed out``); ``retry_after`` is the least wait
    HubSpot asked for.
    """

    def __init__(self, message: str, *, reason: str | None = None, retry_after: float = 0.0, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.reason = reason or str(self.status)
        self.retry_after = retry_after


# Told of each retry before its wait: the failure, the wait in seconds, and the number of the attempt that failed.
RetryHook = Callable[[RetriableError, float, int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is sent again; the defaults are the plugins' settings' defaults."""

    max_attempts: int = 8
    max_retry_wait: float = 300.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    def call(self, send: Callable[[int], T], before_retry: RetryHook) -> T:
        """``send(attempt)`` until it returns or raises a fatal error; ``RetriesExhaustedError`` once the policy stops.

        Attempts are numbered from 1; ``before_retry`` hears of each retry before its wait.
        """
        tries = 0
        started = time.monotonic()

        def attempt() -> T:
            nonlocal tries
            tries += 1
            return send(tries)

        retrying = backoff.on_exception(
            self._waits, RetriableError, max_tries=self.max_attempts, jitter=None, logger=None,
            on_backoff=lambda details: before_retry(details["exception"], details["wait"], details["tries"]),
        )(attempt)
        try:
            return retrying()
        except RetriableError as failure:
            msg = f"gave up after {tries} attempts in {time.monotonic() - started:.1f}s: {failure.message}"
            raise RetriesExhaustedError(msg, **failure.fields) from failure

    def wait_before_retry(self, failure: RetriableError, attempt: int) -> float:
        """Exponential backoff with full jitter after the ``attempt``-th send, but no shorter than HubSpot asked."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** attempt)
        return max(random.uniform(0, ceiling), failure.retry_after)  # noqa: S311 (jitter, not secrecy)

    def retry_after(self, status: int, headers: Mapping[str, str]) -> float:
        """The least wait before sending again: Retry-After (seconds or an HTTP date, at most ``max_retry_wait``)."""
        asked = min(_seconds_from(headers.get("Retry-After", "")), self.max_retry_wait)
        return max(asked, LOCKED_WAIT_SECONDS if status == 423 else 0.0)

    def error_for(
        self, status: int, body: Any, headers: Mapping[str, str], route: str, fallback: str = "",
    ) -> HubSpotError:
        """HubSpot's error reply as the exception it deserves: retriable, or one of the fatal kinds.

        ``fallback`` is the message when the body has none (the HTTP reason phrase).
        """
        error = HubSpotError.from_body(status, body, route, fallback=fallback)
        if status == 401:
            return AuthenticationError(error.message, **error.fields)
        if status == 403:
            return MissingScopesError(error.message, scopes=_scopes(body), **error.fields)
        if status == 429 and isinstance(body, dict) and body.get("policyName") == "DAILY":
            return _daily_limit(error, headers)
        if status in RETRY_STATUSES:
            return RetriableError(error.message, retry_after=self.retry_after(status, headers), **error.fields)
        return error

    def _waits(self) -> Generator[float, RetriableError, None]:
        """The wait generator backoff runs: sent each failure, it yields the wait before the next attempt.

        It ends, and backoff gives up, when that wait would take the request's waiting past ``max_retry_wait``.
        """
        failure = yield 0.0  # backoff primes the generator; this value is not used
        waited = 0.0
        for attempt in itertools.count(1):
            wait = self.wait_before_retry(failure, attempt)
            if waited + wait > self.max_retry_wait:
                return
            waited += wait
            failure = yield wait


def _seconds_from(retry_after: str) -> float:
    """A Retry-After value in seconds: a number of seconds, or an HTTP date from now; 0 when it is neither."""
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, when.timestamp() - time.time())


def _scopes(body: Any) -> tuple[str, ...]:
    """HubSpot names missing scopes in errors[].context.requiredGranularScopes (or requiredScopes)."""
    found: list[str] = []
    for item in (body.get("errors") or []) if isinstance(body, dict) else []:
        context = item.get("context") or {} if isinstance(item, dict) else {}
        for key in ("requiredGranularScopes", "requiredScopes", "requiredAllScopes"):
            found += [str(s) for s in context.get(key) or []]
    return tuple(dict.fromkeys(found))


def _daily_limit(error: HubSpotError, headers: Mapping[str, str]) -> DailyLimitError:
    limit = headers.get(DAILY_LIMIT_HEADER, "?")
    msg = (
        f"HubSpot's daily request limit ({limit} requests) is spent: it resets at midnight in the HubSpot "
        "account's time zone; run again after that (a resumed run continues where this one stopped)"
    )
    return DailyLimitError(msg, **error.fields)
