"""The only code that talks HTTP to HubSpot: pacing, retries, auth refresh, concurrency and the endpoints.

Every endpoint used here is idempotent (reads; creating an existing association and archiving an absent one
are not errors), so any transient failure is retried with the same body.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeVar

import msgspec
import requests

from hubassoc.auth import Credentials, Secret, TokenSource, validate_api_url
from hubassoc.errors import (
    AuthenticationError,
    BatchReadError,
    DailyLimitError,
    HubSpotError,
    MissingScopesError,
    RetriesExhaustedError,
    quoted,
)
from hubassoc.limits import (
    DAILY_LIMIT_HEADER,
    LIMIT_INTERVAL_HEADER,
    LIMIT_MAX_HEADER,
    LIMIT_REMAINING_HEADER,
    LIST_PAGE_LIMIT,
    PER_OBJECT_PAGE_LIMIT,
    READ_BATCH_LIMIT,
    SEARCH_PER_SECOND,
    TRANSIENT_5XX,
    WRITE_BATCH_LIMIT,
)
from hubassoc.objects import is_object_id, parse_object_type
from hubassoc.pacing import Pacer

logger = logging.getLogger("hubassoc.client")

RETRY_STATUSES = frozenset({423, 429, *TRANSIENT_5XX})
NO_ASSOCIATIONS = "crm.associations.NO_ASSOCIATIONS_FOUND"

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

        The SDK reads JSON numbers with a fraction as Decimal, which does not mix with float arithmetic (the
        first retry's backoff would raise TypeError), so numbers are converted to the field's own type.
        """
        fields = cls.__dataclass_fields__
        kinds = {"int": int, "float": float}
        return cls(**{
            k: kinds.get(str(fields[k].type), lambda x: x)(v) for k, v in config.items()
            if k in fields and v is not None
        })

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


@dataclass(frozen=True)
class IdPage:
    """One page of object ids and the cursor that fetched it (None for the first), for resuming."""

    after: str | None
    ids: list[str]
    next_after: str | None


@dataclass(frozen=True)
class AssociationType:
    """A type a pair may use: HubSpot sends the id as a string holding an integer."""

    type_id: int
    name: str


class AssociationInput(NamedTuple):
    """One edge to create or archive, in v3 terms (the type travels by name).

    A named tuple: the target makes one per record, and a tuple is made in half a frozen dataclass's time.
    """

    from_id: str
    to_id: str
    type_name: str


class Edge(NamedTuple):
    """One association read back: ``type_name`` is HubSpot's v3 name for it (a named tuple: one per record)."""

    from_id: str
    to_id: str
    type_name: str


@dataclass(frozen=True)
class InputError:
    """HubSpot's reason for refusing one input of a batch (from a 207 body)."""

    input: AssociationInput | None
    category: str | None
    sub_category: str | None
    message: str
    correlation_id: str | None = None


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
        self._search_pacer = Pacer(SEARCH_PER_SECOND, 1.0)  # search's own limit, on top of the window
        self.tokens = TokenSource(credentials, self._request_token)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(settings.max_workers, thread_name_prefix="hubassoc")
        # Per-object pages of one batch read are fetched side by side on threads of their own: a batch's objects
        # past 100 associations are independent chains, and in turn they made one batch a chain of ~20 pages.
        self._pages = ThreadPoolExecutor(settings.max_workers, thread_name_prefix="hubassoc-pages")
        # max_workers bounds the requests in flight, whichever thread sends them (the pool's, or a listing one)
        self._in_flight = InFlightSlots(settings.max_workers, self.pacer)
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

    # -- endpoints -------------------------------------------------------------------------------------------

    def list_object_ids(self, object_type: str, after: str | None = None, *, rank: int = 0) -> Iterator[IdPage]:
        """Page through an object type's ids, 100 at a time, asking for no properties beyond the id.

        Each page's cursor comes from the previous reply: the pages are a chain, paced first (pacing.py). When
        several listings run at once, those of lower ``rank`` go first.
        """
        path = f"/crm/v3/objects/{parse_object_type(object_type).path}"
        with self.pacer.chain(rank):
            while True:
                params = {"limit": LIST_PAGE_LIMIT, "archived": "false", "properties": "hs_object_id"}
                if after is not None:
                    params["after"] = after
                with self._chain_request(rank):
                    body = self.request("GET", path, params=params)
                ids = [str(result["id"]) for result in body.get("results", [])]
                next_after = next_after_cursor(body)
                with self.pacer.chain_paused(rank):
                    yield IdPage(after, ids, next_after)
                if next_after is None:
                    return
                after = next_after

    def count_objects(self, object_type: str) -> int:
        """How many objects of a type exist, in one call: the listing tells no total, search does."""
        path = f"/crm/v3/objects/{parse_object_type(object_type).path}/search"
        body = self.request("POST", path, json_body={"limit": 1, "properties": ["hs_object_id"]},
                            also_paced_by=self._search_pacer)
        total = body.get("total") if isinstance(body, dict) else None
        if type(total) is not int or total < 0:
            raise HubSpotError("HubSpot's search reply has no total", route=f"POST {path}")
        return total

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
    def _chain_request(self, rank: int) -> Iterator[None]:
        """Requests this thread sends inside are links of a chain of ``rank`` (see ``Pacer.acquire``)."""
        self._local.chain_rank = rank
        try:
            yield
        finally:
            self._local.chain_rank = None

    def association_types(self, from_type: str, to_type: str) -> list[AssociationType]:
        """The types a pair may use, defaults and the account's custom labels."""
        path = f"/crm/v3/associations/{pair_path(from_type, to_type)}/types"
        body = self.request("GET", path)
        return [AssociationType(int(t["id"]), str(t["name"])) for t in body.get("results", [])]

    def batch_read(self, from_type: str, to_type: str, ids: list[str]) -> list[Edge]:
        """Every association of ``ids`` toward ``to_type``, in input order, complete past 100 per object.

        HubSpot returns results out of input order, omits ids without associations (NO_ASSOCIATIONS_FOUND in a
        207: no rows), and truncates an object at 100 with a cursor that only the per-object endpoint honours.
        """
        if len(ids) > READ_BATCH_LIMIT:
            msg = f"batch_read takes at most {READ_BATCH_LIMIT} ids, got {len(ids)}"
            raise ValueError(msg)
        pair = pair_path(from_type, to_type)
        route = f"POST /crm/v3/associations/{pair}/batch/read"
        body = self.request("POST", f"/crm/v3/associations/{pair}/batch/read",
                            json_body={"inputs": [{"id": i} for i in ids]})
        raise_on_read_errors(body, route)
        by_id: dict[str, list[Edge]] = {}
        truncated: list[tuple[str, str]] = []
        for result in body.get("results", []):
            from_id = str(result["from"]["id"])
            edges = by_id.setdefault(from_id, [])
            edges += [Edge(from_id, str(t["id"]), str(t["type"])) for t in result.get("to", [])]
            cursor = next_after_cursor(result)
            if cursor is not None:
                truncated.append((from_id, cursor))
        rest = self._pages.map(lambda item: self._read_remaining(from_type, item[0], to_type, item[1]), truncated)
        for (from_id, _), edges in zip(truncated, rest, strict=True):
            by_id[from_id] += edges
        return [edge for i in dict.fromkeys(ids) for edge in by_id.get(i, [])]

    def batch_create(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        """Create associations; returns the inputs HubSpot refused (207), everything else was written."""
        return self._batch_write("create", from_type, to_type, inputs)

    def batch_archive(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        """Archive associations (absent ones are not an error); returns the inputs HubSpot refused."""
        return self._batch_write("archive", from_type, to_type, inputs)

    # -- concurrency -----------------------------------------------------------------------------------------

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``fn(*args)`` on a worker thread; for callers that keep their own order and bound (the writer)."""
        return self._pool.submit(fn, *args)

    def map_ordered(self, fn: Callable[[T], R], items: Iterable[T], ahead: int | None = None) -> Iterator[R]:
        """Run ``fn`` over ``items`` on the worker threads, yielding results in input order.

        At most ``ahead`` calls are submitted before their results are taken, so memory stays bounded and
        ``items`` may be a lazy, endless generator. An exception from ``fn`` is raised at its place in order.
        """
        limit = ahead or 2 * self.settings.max_workers
        pending: deque[Future[R]] = deque()
        source = iter(items)
        try:
            for item in source:
                pending.append(self._pool.submit(fn, item))
                while len(pending) >= limit or (pending and pending[0].done()):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

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
        if self._day_spent is not None:  # every request until the reset would be one more 429: send none
            raise self._spent_for(f"{method} {path}")
        retry = _RetryClock(self.settings)
        route = f"{method} {path}"
        refreshed = False
        while True:
            outcome = self._attempt(method, path, params, json_body, retried=retry.attempts > 0,
                                    may_refresh=not refreshed, also_paced_by=also_paced_by, read=read)
            if isinstance(outcome, _Answer):
                return outcome.body
            if outcome.token_refreshed:
                refreshed = True
                continue
            if outcome.final:
                if isinstance(outcome.error, DailyLimitError):
                    self._day_spent = outcome.error
                raise outcome.error
            retry.wait_or_raise(outcome, route, self.pacer)
            self.stats.retried_for(outcome.reason or str(outcome.error.status))

    def _spent_for(self, route: str) -> DailyLimitError:
        assert self._day_spent is not None
        spent = self._day_spent
        return DailyLimitError(spent.message, status=spent.status, category=spent.category, route=route)

    def _attempt(
        self, method: str, path: str, params: dict[str, Any] | None, json_body: Any, *, retried: bool,
        may_refresh: bool, also_paced_by: Pacer | None = None, read: Callable[[bytes], Any] = msgspec.json.decode,
    ) -> _Answer | _Failure:
        """One request, its token taken and, on a 401, settled while it holds its in-flight slot.

        A request may wait seconds for budget: the token it sends is the one current when it goes, and the
        one HubSpot refused is refreshed or set aside before another request can start, so no request sent
        after a 401 carries that token (only those already in flight can meet it).
        """
        rank = getattr(self._local, "chain_rank", None)
        chain = rank is not None
        own = None if also_paced_by is None else also_paced_by.acquire()
        ticket = self.pacer.acquire(chain=chain, rank=rank or 0, deferred=getattr(self._local, "deferred", False))
        self._in_flight.acquire(chain=chain)  # after the pacer: a request waiting for budget holds no slot
        try:
            if self._day_spent is not None:  # spent while this request waited: it would be one more 429
                return _Failure(self._spent_for(f"{method} {path}"), final=True)
            token = self.tokens.bearer()
            outcome = self._send(method, path, params, json_body, token, retried=retried, read=read)
            if isinstance(outcome, _Failure) and outcome.error.status == 401:
                return self._after_rejection(token, outcome, may_refresh=may_refresh)
            return outcome
        finally:
            self.pacer.done(ticket)
            if also_paced_by is not None and own is not None:
                also_paced_by.done(own)
            self._in_flight.release(chain=chain)

    def _send(
        self, method: str, path: str, params: dict[str, Any] | None, json_body: Any, token: Secret, *,
        retried: bool, read: Callable[[bytes], Any] = msgspec.json.decode,
    ) -> _Answer | _Failure:
        route = f"{method} {path}"
        try:
            response = self._session().request(
                method, self.base_url + path, params=params,
                data=None if json_body is None else _encode_json(json_body),
                headers={"Authorization": "Bearer " + token.value, "Content-Type": "application/json"},
                timeout=(_CONNECT_TIMEOUT, self.settings.timeout),
            )
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # ChunkedEncodingError: the connection broke part-way through the reply (not a ConnectionError).
            self.stats.count(None, retried=retried)
            kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
            return _Failure(HubSpotError(f"{kind}: {type(exc).__name__}", route=route), reason=kind)
        with response:
            self.stats.count(response.status_code, retried=retried)
            self._watch_remaining(response)
            return _classify(response, route, read)

    def _after_rejection(self, token: Secret, failure: _Failure, *, may_refresh: bool) -> _Failure:
        """An expired OAuth token is refreshed once per request; any other rejected token is never sent again."""
        if failure.expired_token and may_refresh and self.tokens.can_refresh:
            self.tokens.refresh_after_expiry(token)  # raises when HubSpot refuses the refresh
            return replace(failure, token_refreshed=True)
        refused = AuthenticationError(failure.error.message, oauth=self.tokens.can_refresh, **_fields(failure.error))
        self.tokens.reject(token, refused)
        return replace(failure, error=refused)

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
            # requests reads the environment again on every request (it walked every variable twice: 15 % of
            # a listing page's CPU); proxies and the CA bundle are read from it once, here, instead. The rest of
            # what it reads is not wanted: a ~/.netrc entry for the host would replace the bearer token.
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

    # -- endpoint helpers ------------------------------------------------------------------------------------

    def _read_remaining(self, from_type: str, from_id: str, to_type: str, after: str) -> list[Edge]:
        """Follow an object's association paging through the per-object endpoint, to the end."""
        if not is_object_id(from_id):
            msg = f"HubSpot returned a non-numeric object id {quoted(from_id)}"
            raise HubSpotError(msg)
        from_path, to_path = parse_object_type(from_type).path, parse_object_type(to_type).path
        path = f"/crm/v3/objects/{from_path}/{from_id}/associations/{to_path}"
        edges: list[Edge] = []
        cursor: str | None = after
        while cursor is not None:
            body = self.request("GET", path, params={"after": cursor, "limit": PER_OBJECT_PAGE_LIMIT})
            edges += [Edge(from_id, str(t["id"]), str(t["type"])) for t in body.get("results", [])]
            cursor = next_after_cursor(body)
        return edges

    def _batch_write(
        self, action: str, from_type: str, to_type: str, inputs: list[AssociationInput],
    ) -> list[InputError]:
        if len(inputs) > WRITE_BATCH_LIMIT:
            msg = f"batch {action} takes at most {WRITE_BATCH_LIMIT} inputs, got {len(inputs)}"
            raise ValueError(msg)
        if not inputs:
            return []
        path = f"/crm/v3/associations/{pair_path(from_type, to_type)}/batch/{action}"
        payload = {"inputs": [
            {"from": {"id": i.from_id}, "to": {"id": i.to_id}, "type": i.type_name} for i in inputs
        ]}
        body = self.request("POST", path, json_body=payload, read=read_write_reply)
        return match_input_errors(body, inputs)


# -- response handling (pure functions, unit-tested) ----------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    body: Any


@dataclass(frozen=True)
class _Failure:
    error: HubSpotError
    final: bool = False
    expired_token: bool = False
    token_refreshed: bool = False  # the token was refreshed after this 401: send the request again
    wait_at_least: float = 0.0
    reason: str = ""  # why it is retried, for the summary; empty: the HTTP status says it


def _classify(
    response: requests.Response, route: str, read: Callable[[bytes], Any] = msgspec.json.decode,
) -> _Answer | _Failure:
    status = response.status_code
    if status in (200, 201, 204, 207):
        if status == 204 or not response.content:
            return _Answer(None)
        body = _decode(response, read)
        if body is _MALFORMED:
            return _Failure(HubSpotError("HubSpot sent a malformed JSON reply", status=status, route=route),
                            reason="malformed reply")
        return _Answer(body)
    body = _decode(response)
    error = HubSpotError.from_body(status, body, route, fallback=response.reason)
    if status == 401:
        expired = error.category == "EXPIRED_AUTHENTICATION"
        return _Failure(_as(AuthenticationError, error), final=True, expired_token=expired)
    if status == 403:
        return _Failure(MissingScopesError(error.message, scopes=_scopes(body), **_fields(error)), final=True)
    if status == 429 and isinstance(body, dict) and body.get("policyName") == "DAILY":
        return _Failure(_daily_limit(error, response), final=True)
    if status in RETRY_STATUSES:
        return _Failure(error, wait_at_least=_retry_after(response, status))
    return _Failure(error, final=True)


def _proxies_and_verify(url: str) -> tuple[dict[str, str], bool | str]:
    """What requests would take from the environment for ``url``: its proxies and a CA bundle.

    Proxies as ``*_PROXY`` give them, NO_PROXY honoured; the bundle from REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE.
    """
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    return requests.utils.get_environ_proxies(url), bundle or True


_MALFORMED = object()
_CONNECT_TIMEOUT = 10.0
# Request and reply bodies by msgspec (the SDK's msgspec extra): a batch of 2,000 inputs is encoded, and a
# reply of 1,000 objects' associations decoded, in a fraction of the standard library's time (benchmarks/).
_encode_json = msgspec.json.Encoder().encode


def _decode(response: requests.Response, read: Callable[[bytes], Any] = msgspec.json.decode) -> Any:
    try:
        return read(response.content)
    except msgspec.DecodeError:
        return _MALFORMED


class _WriteReply(msgspec.Struct):
    """A batch write's 2xx reply as it is read: only its ``errors``, each an object.

    Its ``results`` echo every association written, both ways round: 4,000 objects for a batch of 2,000.
    Decoding them, then freeing them unread, cost the workers 3 to 5 ms of CPU a call (the CPU benchmark's
    100 calls: 1.30 to 1.49 s of worker CPU, 1.00 to 1.02 s without).
    """

    errors: list[dict[str, Any]] = []


_WRITE_REPLY = msgspec.json.Decoder(_WriteReply)


def read_write_reply(content: bytes) -> dict[str, list[dict[str, Any]]]:
    """A batch write's 2xx body with ``errors`` alone.

    A body of any other shape (no JSON object, ``errors`` not a list of objects) raises
    ``msgspec.ValidationError``, a ``DecodeError``: the reply is malformed and retried, as truncated JSON is.
    Read as "no errors", it would count refused records as written.
    """
    return {"errors": _WRITE_REPLY.decode(content).errors}


def _fields(error: HubSpotError) -> dict[str, Any]:
    return {"status": error.status, "category": error.category, "sub_category": error.sub_category,
            "correlation_id": error.correlation_id, "route": error.route}


def _as(cls: type[HubSpotError], error: HubSpotError) -> HubSpotError:
    return cls(error.message, **_fields(error))


def _scopes(body: Any) -> tuple[str, ...]:
    """HubSpot names missing scopes in errors[].context.requiredGranularScopes (or requiredScopes)."""
    found: list[str] = []
    for item in (body.get("errors") or []) if isinstance(body, dict) else []:
        context = item.get("context") or {} if isinstance(item, dict) else {}
        for key in ("requiredGranularScopes", "requiredScopes", "requiredAllScopes"):
            found += [str(s) for s in context.get(key) or []]
    return tuple(dict.fromkeys(found))


def _daily_limit(error: HubSpotError, response: requests.Response) -> DailyLimitError:
    limit = response.headers.get(DAILY_LIMIT_HEADER, "?")
    msg = (
        f"HubSpot's daily request limit ({limit} requests) is spent: it resets at midnight in the HubSpot "
        "account's time zone; run again after that (a resumed run continues where this one stopped)"
    )
    return DailyLimitError(msg, **_fields(error))


def _retry_after(response: requests.Response, status: int) -> float:
    header = response.headers.get("Retry-After", "")
    try:
        wait = float(header)
    except ValueError:
        wait = 0.0
    return max(wait, 2.0 if status == 423 else 0.0)


class _RetryClock:
    """Exponential backoff with full jitter, bounded in attempts and in total wait."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.attempts = 0
        self.waited = 0.0

    def wait_or_raise(self, failure: _Failure, route: str, pacer: Pacer) -> None:
        self.attempts += 1
        s = self.settings
        backoff = random.uniform(0, min(s.backoff_max, s.backoff_base * 2 ** self.attempts))  # noqa: S311
        wait = max(backoff, failure.wait_at_least)
        if self.attempts >= s.max_attempts or self.waited + wait > s.max_retry_wait:
            err = failure.error
            msg = f"gave up after {self.attempts} attempts and {self.waited:.1f}s of waiting: {err.message}"
            raise RetriesExhaustedError(msg, **_fields(err)) from err
        if failure.error.status == 429:
            pacer.hold(wait)  # every thread backs off, not only this one
        logger.info("retrying %s in %.2fs (attempt %d of %d): %s", route, wait, self.attempts + 1,
                    s.max_attempts, failure.error.message)
        self.waited += wait
        time.sleep(wait)


def next_after_cursor(body: Any) -> str | None:
    """HubSpot's ``paging.next.after``, or None on the last page (an absent or empty cursor both mean that)."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after") if isinstance(body, dict) else None
    return None if after in (None, "") else str(after)


def pair_path(from_type: str, to_type: str) -> str:
    """``0-1/0-2``: a pair in a request path, by type id, whatever spelling the user wrote."""
    return f"{parse_object_type(from_type).path}/{parse_object_type(to_type).path}"


def raise_on_read_errors(body: Any, route: str) -> None:
    """NO_ASSOCIATIONS_FOUND is data ("no rows"); any other per-input error fails the read."""
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    real = [e for e in errors if isinstance(e, dict) and e.get("subCategory") != NO_ASSOCIATIONS]
    if real:
        first = real[0]
        ids = ", ".join(_context_ids(first)) or "?"
        msg = f"{len(real)} input(s) failed; first, for id(s) {ids}: {first.get('message', 'no message')}"
        raise BatchReadError(msg, status=207, category=first.get("category"),
                             sub_category=first.get("subCategory"), route=route)


def _context_ids(error: dict[str, Any]) -> list[str]:
    context = error.get("context") or {}
    return [str(v) for values in context.values() if isinstance(values, list) for v in values
            if is_object_id(v)]


def match_input_errors(body: Any, inputs: list[AssociationInput]) -> list[InputError]:
    """Attach each 207 error to the inputs its ``context`` names.

    HubSpot names offending ids in ``context`` under ``fromObjectId``/``toObjectId`` or a bare ``ids`` list;
    an error whose ids match no input is still returned (input None), so nothing is silently dropped.
    """
    errors = body.get("errors") or [] if isinstance(body, dict) else []
    if not errors:
        return []
    found: list[InputError] = []
    index = _InputIndex(inputs)
    for error in errors:
        if not isinstance(error, dict):
            continue
        context = error.get("context")
        matched = index.named_by(context) if isinstance(context, dict) else []
        fields = {"category": error.get("category"), "sub_category": error.get("subCategory"),
                  "message": str(error.get("message") or "rejected by HubSpot"),
                  "correlation_id": error.get("correlationId")}
        found += [InputError(i, **fields) for i in matched] or [InputError(None, **fields)]
    return found


class _InputIndex:
    """A batch's inputs by position, found by from id and by to id.

    A 207 may carry one error per input (2,000 ids that no longer exist): scanning every input for every
    error took 0.3 s of CPU for such a batch.
    """

    def __init__(self, inputs: list[AssociationInput]) -> None:
        self.inputs = inputs
        self.by_from: dict[str, list[int]] = {}
        self.by_to: dict[str, list[int]] = {}
        for position, i in enumerate(inputs):
            self.by_from.setdefault(i.from_id, []).append(position)
            self.by_to.setdefault(i.to_id, []).append(position)

    def named_by(self, context: dict[str, Any]) -> list[AssociationInput]:
        """The inputs, in batch order, whose ids match every id list the context gives."""
        from_ids, to_ids, any_ids = _named_ids(context, "fromObjectId"), _named_ids(context, "toObjectId"), \
            _named_ids(context, "ids")
        if from_ids is not None:
            positions = self._positions(self.by_from, from_ids)
        elif to_ids is not None:
            positions = self._positions(self.by_to, to_ids)
        elif any_ids is not None:
            positions = self._positions(self.by_from, any_ids) | self._positions(self.by_to, any_ids)
        else:
            return []
        return [
            i for i in (self.inputs[p] for p in sorted(positions))
            if (from_ids is None or i.from_id in from_ids)
            and (to_ids is None or i.to_id in to_ids)
            and (any_ids is None or i.from_id in any_ids or i.to_id in any_ids)
        ]

    @staticmethod
    def _positions(by_id: dict[str, list[int]], ids: set[str]) -> set[int]:
        return {p for named in ids for p in by_id.get(named, ())}


def _named_ids(context: dict[str, Any], key: str) -> set[str] | None:
    values = context.get(key)
    return {str(v) for v in values} if isinstance(values, list) else None
