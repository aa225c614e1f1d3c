"""The only code that talks HTTP to HubSpot: pacing, retries, auth refresh and concurrency.

The endpoints (objects_api, associations_v3, associations_v4) send their requests through ``request``. Every
one of them is idempotent (reads; creating an existing association and archiving an absent one are not
errors), so any transient failure is retried with the same body.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

import msgspec
import requests

from hubassoc.auth import Credentials, Secret, TokenSource, validate_api_url
from hubassoc.concurrency import map_in_order
from hubassoc.errors import (
    AuthenticationError,
    DailyLimitError,
)
from hubassoc.limits import (
    LIMIT_INTERVAL_HEADER,
    LIMIT_MAX_HEADER,
    LIMIT_REMAINING_HEADER,
)
from hubassoc.pacing import Pacer
from hubassoc.retry import RetriableError, RetryPolicy

logger = logging.getLogger("hubassoc.client")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ClientSettings:
    """How hard to push HubSpot and how long to keep trying; the defaults suit a Free/Starter portal."""

    api_url: str = "https://api.hubapi.com"
    requests_per_10s: int = 100
    window_seconds: float = 10.0
    max_workers: int = 8
    max_attempts: int = 8
    max_retry_wait: float = 300.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 60.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClientSettings:
        """Pick the client's settings out of a plugin config, ignoring the rest.

        The SDK reads JSON numbers with a fraction as Decimal, which does not mix with float arithmetic, so
        each value is converted to its setting's type (every setting is a str, an int or a float).
        """
        types = get_type_hints(cls)
        return cls(**{k: types[k](v) for k, v in config.items() if k in types and v is not None})

    @property
    def retry_policy(self) -> RetryPolicy:
        """How often and how patiently a failed request is sent again."""
        return RetryPolicy(max_attempts=self.max_attempts, max_retry_wait=self.max_retry_wait,
                           backoff_base=self.backoff_base, backoff_max=self.backoff_max)

    @property
    def budget(self) -> int:
        """Requests allowed per window: the budget is stated per 10 s and scaled to the window."""
        return max(1, round(self.requests_per_10s * self.window_seconds / 10.0))


@dataclass
class ClientStats:
    """What this client did, for progress lines and summaries; thread-safe."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    retry_reasons: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int | None, *, retried: bool) -> None:
        """Record one response (status None: no response at all)."""
        with self._lock:
            self.requests += 1
            self.retries += int(retried)
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.rate_limited += int(status == 429)

    def snapshot(self) -> dict[str, int]:
        """The counters as plain numbers."""
        with self._lock:
            return {"requests": self.requests, "retries": self.retries, "rate_limited": self.rate_limited}

    def retried_for(self, reason: str) -> None:
        """Record why a request is about to be sent again (a status such as 429 or 503, or a transport fault)."""
        with self._lock:
            self.retry_reasons[reason] = self.retry_reasons.get(reason, 0) + 1

    def summary_line(self) -> str:
        """``Summary: 40 API calls, 3 429s, 5 retries (429: 3, 503: 1, timed out: 1)``, for both plugins."""
        calls = self.snapshot()
        with self._lock:
            reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.retry_reasons.items()))
        return (f"Summary: {calls['requests']} API calls, {calls['rate_limited']} 429s, {calls['retries']} retries"
                + (f" ({reasons})" if reasons else ""))


class InFlightSlots:
    """``max_workers`` requests in flight at once; one that is not a chain's link leaves a slot per open chain.

    The pacer gives chains (listing pages) first call on the budget; without the same here, a listing page
    would wait behind reads for a connection, and the run's longest chain with it.
    """

    def __init__(self, limit: int, pacer: Pacer) -> None:
        self.limit = limit
        self._pacer = pacer
        self._busy = 0
        self._others = 0  # of which not chain links
        self._changed = threading.Condition()

    def acquire(self, *, chain: bool = False) -> None:
        """Wait for a slot; one that is not a chain link also for one beyond those kept for open chains."""
        with self._changed:
            while self._busy >= self.limit or (
                not chain and self._others >= max(1, self.limit - self._pacer.open_chains)
            ):
                self._changed.wait(timeout=0.1)  # chains closing do not notify: look again now and then
            self._busy += 1
            self._others += not chain

    def release(self, *, chain: bool = False) -> None:
        """A request is answered (or failed)."""
        with self._changed:
            self._busy -= 1
            self._others -= not chain
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is under way (at most ``timeout`` seconds); True if none is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout=timeout)


class HubSpotClient:
    """Shared by all streams or sinks of one plugin run: one pacer, one token, one thread pool."""

    def __init__(self, settings: ClientSettings, credentials: Credentials) -> None:
        self.settings = settings
        self.base_url = validate_api_url(settings.api_url)
        self.stats = ClientStats()
        self.pacer = Pacer(settings.budget, settings.window_seconds)
        self.tokens = TokenSource(credentials, self._request_token)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(settings.max_workers, thread_name_prefix="hubassoc")
        # Per-object pages of one batch read go side by side on threads of their own: each object past 100
        # associations is an independent chain, and one after another they would make the batch one long chain.
        self._pages = ThreadPoolExecutor(settings.max_workers, thread_name_prefix="hubassoc-pages")
        # max_workers bounds the requests in flight, whichever thread sends them (the pool's, or a listing one)
        self._in_flight = InFlightSlots(settings.max_workers, self.pacer)
        self.retry_policy = settings.retry_policy
        self._day_spent: DailyLimitError | None = None  # HubSpot's daily limit, once a reply said it is spent

    def settle(self) -> None:
        """Wait for the requests under way to be answered, so that ``stats`` counts every request sent.

        A run that stops says what it spent: other threads' requests sent before the failure are still on the
        wire, and each takes at most the request timeout. None is sent after a daily limit (``_attempt``).
        """
        self._in_flight.wait_idle(timeout=_CONNECT_TIMEOUT + self.settings.timeout)

    def close(self) -> None:
        """Stop the worker threads; requests under way finish first."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pages.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- how this thread's requests are paced ----------------------------------------------------------------

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Requests this thread sends inside take only budget no other request is waiting for.

        For work that is early rather than needed (the tap's read-ahead of a later partition): it must not
        delay the requests the run is waiting on.
        """
        self._local.deferred = True
        try:
            yield
        finally:
            self._local.deferred = False

    @contextmanager
    def chain_link(self, rank: int) -> Iterator[None]:
        """Requests this thread sends inside are links of a chain of ``rank`` (see ``Pacer.acquire``)."""
        self._local.chain_rank = rank
        try:
            yield
        finally:
            self._local.chain_rank = None

    # -- concurrency -----------------------------------------------------------------------------------------

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``fn(*args)`` on a worker thread; for callers that keep their own order and bound (the writer)."""
        return self._pool.submit(fn, *args)

    def map_pages(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Run ``fn`` over ``items`` on the page threads, in order: for a batch read's per-object pages.

        The batch read runs on a worker thread; its objects' pages are independent chains that must not wait
        for a worker thread of their own.
        """
        return self._pages.map(fn, items)

    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Iterator[R]:
        """Run ``fn`` over ``items`` on the worker threads, yielding results in input order.

        At most ``ahead`` calls are submitted before their results are taken, so memory stays bounded and
        ``items`` may be a lazy, endless generator. An exception from ``fn`` is raised at its place in order.
        """
        return map_in_order(self._pool.submit, fn, items, ahead or 2 * self.settings.max_workers)

    # -- transport -------------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
        also_paced_by: Pacer | None = None, read: Callable[[bytes], Any] = msgspec.json.decode,
    ) -> Any:
        """Send one request under the pacer, retrying what is transient; returns the decoded body or None.

        ``also_paced_by`` is a route's own limit on top of the window (search's 5 a second): every attempt,
        retries included, waits for both. ``read`` decodes a 2xx reply's body (an error's is always read
        whole); it raises ``msgspec.DecodeError`` on a malformed one, which is retried.
        """
        call = _Request(method, path, params, json_body, read, also_paced_by)
        if self._day_spent is not None:  # every request until the reset would be one more 429: send none
            raise self._spent_for(call.route)
        try:
            return self.retry_policy.call(lambda attempt: self._attempt(call, retried=attempt > 1),
                                          self._before_retry)
        except DailyLimitError as spent:
            self._day_spent = spent
            raise

    def _spent_for(self, route: str) -> DailyLimitError:
        assert self._day_spent is not None
        spent = self._day_spent
        return DailyLimitError(spent.message, status=spent.status, category=spent.category, route=route)

    def _before_retry(self, failure: RetriableError, wait: float, attempt: int) -> None:
        """Told by the retry policy before each wait: a 429 holds every thread, not only this one."""
        if failure.status == 429:
            self.pacer.hold(wait)
        logger.info("retrying %s in %.2fs (attempt %d of %d): %s", failure.route, wait, attempt + 1,
                    self.settings.max_attempts, failure.message)
        self.stats.retried_for(failure.reason)

    def _attempt(self, call: _Request, *, retried: bool) -> Any:
        """One send of ``call``, and one more at once if HubSpot said its token expired and it was refreshed."""
        try:
            return self._send_paced(call, retried=retried)
        except _TokenRefreshed:
            return self._send_paced(call, retried=retried)

    def _send_paced(self, call: _Request, *, retried: bool) -> Any:
        """One send under the pacer and an in-flight slot; a 401 is settled while the slot is held.

        A request may wait seconds for budget: the token it sends is the one current when it goes, and the
        one HubSpot refused is refreshed or set aside before another request can start, so no request sent
        after a 401 carries that token (only those already in flight can meet it).
        """
        rank = getattr(self._local, "chain_rank", None)
        chain = rank is not None
        own = None if call.also_paced_by is None else call.also_paced_by.acquire()
        ticket = self.pacer.acquire(chain=chain, rank=rank or 0, deferred=getattr(self._local, "deferred", False))
        self._in_flight.acquire(chain=chain)  # after the pacer: a request waiting for budget holds no slot
        try:
            if self._day_spent is not None:  # spent while this request waited: it would be one more 429
                raise self._spent_for(call.route)
            token = self.tokens.bearer()
            try:
                return self._send(call, token, retried=retried)
            except AuthenticationError as rejected:
                self._after_rejection(token, rejected, call)
                raise
        finally:
            self.pacer.done(ticket)
            if call.also_paced_by is not None and own is not None:
                call.also_paced_by.done(own)
            self._in_flight.release(chain=chain)

    def _send(self, call: _Request, token: Secret, *, retried: bool) -> Any:
        """Send once: the decoded 2xx body (None when empty), or the failure raised as HubSpot's error."""
        try:
            response = self._session().request(
                call.method, self.base_url + call.path, params=call.params,
                data=None if call.json_body is None else _encode_json(call.json_body),
                headers={"Authorization": "Bearer " + token.value, "Content-Type": "application/json"},
                timeout=(_CONNECT_TIMEOUT, self.settings.timeout),
            )
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # ChunkedEncodingError: the connection broke part-way through the reply (not a ConnectionError).
            self.stats.count(None, retried=retried)
            kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
            raise RetriableError(f"{kind}: {type(exc).__name__}", route=call.route, reason=kind) from exc
        with response:
            self.stats.count(response.status_code, retried=retried)
            self._watch_remaining(response)
            return self._reply_body(response, call)

    def _reply_body(self, response: requests.Response, call: _Request) -> Any:
        """A 2xx reply's body (None when empty); any other reply raised as the error the retry policy names."""
        status = response.status_code
        if status not in (200, 201, 204, 207):
            raise self.retry_policy.error_for(status, _decode(response), response.headers, call.route,
                                              fallback=response.reason)
        if status == 204 or not response.content:
            return None
        body = _decode(response, call.read)
        if body is _MALFORMED:
            msg = "HubSpot sent a malformed JSON reply"
            raise RetriableError(msg, status=status, route=call.route, reason="malformed reply")
        return body

    def _after_rejection(self, token: Secret, rejected: AuthenticationError, call: _Request) -> None:
        """An expired OAuth token is refreshed once per request; any other rejected token is never sent again.

        Raises ``_TokenRefreshed`` (send again now) or the rejection, naming the settings that gave the token.
        """
        if rejected.category == "EXPIRED_AUTHENTICATION" and not call.token_refreshed and self.tokens.can_refresh:
            self.tokens.refresh_after_expiry(token)  # raises when HubSpot refuses the refresh
            call.token_refreshed = True
            raise _TokenRefreshed from None
        refused = AuthenticationError(rejected.message, oauth=self.tokens.can_refresh, **rejected.fields)
        self.tokens.reject(token, refused)
        raise refused from None

    def _watch_remaining(self, response: requests.Response) -> None:
        """Tell the pacer HubSpot's view of the limit: the limit itself first, so Remaining is read against it."""
        maximum = response.headers.get(LIMIT_MAX_HEADER)
        if maximum is not None and maximum.isdigit():
            interval = response.headers.get(LIMIT_INTERVAL_HEADER)
            seconds = int(interval) / 1000 if interval is not None and interval.isdigit() else None
            self.pacer.observe_limit(int(maximum), seconds or None)  # 0 ms is no interval: keep our window
        remaining = response.headers.get(LIMIT_REMAINING_HEADER)
        if remaining is not None and remaining.isdigit():
            self.pacer.observe_remaining(int(remaining))

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Proxies and the CA bundle are read from the environment once, here, not by requests on every
            # request; nothing else it reads there is wanted (a ~/.netrc entry would replace the bearer token).
            session.trust_env = False
            session.proxies, session.verify = _proxies_and_verify(self.base_url)
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def _request_token(self, form: dict[str, str]) -> dict[str, Any]:
        """POST the OAuth refresh; the error text never repeats the form, which holds the secrets."""
        try:
            response = self._session().post(f"{self.base_url}/oauth/v1/token", data=form,
                                            timeout=(_CONNECT_TIMEOUT, self.settings.timeout))
        except requests.RequestException as exc:
            msg = f"could not reach the OAuth token endpoint: {type(exc).__name__}"
            raise AuthenticationError(msg, category="OAUTH_REFRESH_FAILED") from None
        with response:
            body = _decode(response)
            if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
                reason = body.get("status") if isinstance(body, dict) else None
                msg = f"OAuth token refresh refused ({reason or response.status_code}): check client_id, " \
                      "client_secret and refresh_token, or re-authorise the app"
                raise AuthenticationError(msg, status=response.status_code, category="OAUTH_REFRESH_FAILED")
            return body


# -- helpers --------------------------------------------------------------------------------------------------


@dataclass
class _Request:
    """One request as the client sends it, every attempt alike."""

    method: str
    path: str
    params: dict[str, Any] | None
    json_body: Any
    read: Callable[[bytes], Any]
    also_paced_by: Pacer | None
    token_refreshed: bool = False  # once a 401 EXPIRED_AUTHENTICATION has been met with a refresh: a second is final

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


class _TokenRefreshed(Exception):  # not an error: the request goes again at once
    """HubSpot said the token expired and it is refreshed: send the request again at once."""


def _proxies_and_verify(url: str) -> tuple[dict[str, str], bool | str]:
    """What requests would take from the environment for ``url``: its proxies and a CA bundle.

    Proxies as ``*_PROXY`` give them, NO_PROXY honoured; the bundle from REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE.
    """
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return requests.utils.get_environ_proxies(url), bundle or True


_MALFORMED = object()
_CONNECT_TIMEOUT = 10.0
# Request and reply bodies by msgspec (the SDK's msgspec extra): batch-sized bodies cost the workers' CPU.
_encode_json = msgspec.json.Encoder().encode


def _decode(response: requests.Response, read: Callable[[bytes], Any] = msgspec.json.decode) -> Any:
    try:
        return read(response.content)
    except msgspec.DecodeError:
        return _MALFORMED
