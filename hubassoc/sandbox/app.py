"""The request pipeline every HubSpot route goes through, in HubSpot's order.

latency -> authentication (401) -> rate limits (429) -> injected fault -> object types (400) -> scopes (403)
-> the route. A faulted request never reaches the route, so it never changes the store; a rejected one
(401, 429, injected 429/423) spends no budget unless ``count_rejected`` says so.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from hubassoc.objects import UnknownObjectTypeError, parse_object_type
from hubassoc.sandbox import auth, reads, routes, v4_handlers, writes
from hubassoc.sandbox.call import Call
from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.counters import Counters
from hubassoc.sandbox.faults import REJECTIONS, FaultPlan, fault_response
from hubassoc.sandbox.ratelimit import SEARCH, RateLimiter, SearchLimiter, rate_limited
from hubassoc.sandbox.store import Store
from hubassoc.sandbox.wire import ApiError, Request, Response, error

HANDLERS: dict[str, Callable[[Call], Response]] = {
    routes.LIST_OBJECTS: reads.list_objects,
    routes.LIST_TYPES: reads.list_types,
    routes.BATCH_READ: reads.batch_read,
    routes.OBJECT_ASSOCIATIONS: reads.object_associations,
    routes.SEARCH_OBJECTS: reads.search_objects,
    routes.READ_OBJECTS: reads.read_objects,
    routes.READ_OBJECTS_DATED: reads.read_objects,
    routes.BATCH_CREATE: writes.batch_create,
    routes.BATCH_ARCHIVE: writes.batch_archive,
    **v4_handlers.HANDLERS,
}
OAUTH_PATH = "/oauth/v1/token"
OAUTH_ROUTE = f"POST {OAUTH_PATH}"
UNKNOWN_ROUTE = "unknown"


class SandboxApp:
    """The sandbox's behaviour without the sockets: ``crm`` and ``oauth`` turn a Request into a Response."""

    def __init__(self, store: Store, config: SandboxConfig, stopping: threading.Event) -> None:
        self.store = store
        self.counters = Counters(config.request_log_size)
        self.limiter = RateLimiter()
        self.search_limiter = SearchLimiter()
        self.faults = FaultPlan(config.fault_seed)
        self.access_tokens = auth.AccessTokens()
        self.stopping = stopping
        self._config = config
        self._config_lock = threading.Lock()
        self._jitter = random.Random(config.fault_seed)  # noqa: S311 - latency jitter, not security

    @property
    def config(self) -> SandboxConfig:
        """The configuration now in force (one consistent value per request)."""
        return self._config

    def configure(self, **knobs: object) -> SandboxConfig:
        """Change knobs at runtime; a new ``fault_seed`` restarts the random fault sequence."""
        with self._config_lock:
            old, new = self._config, self._config.with_knobs(**knobs)
            self._config = new
        if new.fault_seed != old.fault_seed:
            self.faults.reseed(new.fault_seed)
            self._jitter.seed(new.fault_seed)
        if new.request_log_size != old.request_log_size:
            self.counters.resize_log(new.request_log_size)
        return new

    def oauth(self, request: Request) -> Response:
        """``POST /oauth/v1/token`` (not rate limited, not a CRM request); rotation swaps the refresh tokens."""
        with self._config_lock:
            response, valid = auth.refresh(request, self._config, self.access_tokens)
            if valid is not None:
                self._config = self._config.with_knobs(refresh_tokens=valid)
        self.counters.oauth(request.method, OAUTH_ROUTE, response.status, request.target)
        return response

    def crm(self, request: Request, base_url: str) -> Response:
        """Any other HubSpot path: counted, delayed, authenticated, limited, maybe faulted, then routed."""
        route = routes.match(request.method, request.path)
        key = UNKNOWN_ROUTE if route is None else route.key
        started = time.time()
        with self.counters.in_flight():
            config = self.config
            latency = self._latency(config)
            self._sleep(latency)
            response = self._pipeline(request, route, key, config, base_url)
        broken = response.dropped or response.cut
        self.counters.request(request.method, key, None if broken else response.status, request.target,
                              started=started, latency_s=latency)
        return response

    def _pipeline(
        self, request: Request, route: routes.Route | None, key: str, config: SandboxConfig, base_url: str,
    ) -> Response:
        refused = auth.authenticate(request, config, self.access_tokens)
        if refused is not None:
            return _with(refused, self.limiter.headers(config))
        admission = self.limiter.admit(config)
        if admission.policy is not None:
            return _with(rate_limited(admission.policy, config), admission.headers)
        if route is not None and route.name == routes.SEARCH_OBJECTS and not self.search_limiter.admit(config):
            if not config.count_rejected:
                self.limiter.refund(admission)
            return _with(rate_limited(SEARCH, config), admission.headers)
        kind = self.faults.draw(config, key)
        if kind is not None:
            self.counters.fault(kind)
            faulted = fault_response(kind, config)
            if kind in REJECTIONS and not config.count_rejected:
                self.limiter.refund(admission)
            if faulted is not None:
                return faulted if faulted.dropped else _with(faulted, admission.headers)
            if kind == "slow":
                self._sleep(config.slow_seconds)
        response = _with(self._route(request, route, config, base_url), admission.headers)
        response.cut = kind == "cut"  # the route ran; its reply breaks off part-way
        return response

    def _route(self, request: Request, route: routes.Route | None, config: SandboxConfig, base_url: str) -> Response:
        if route is None:
            return error(404, f"No route matches {request.method} {request.path}.", "OBJECT_NOT_FOUND")
        try:
            types = route.object_types()
        except UnknownObjectTypeError:
            unknown = next(v for k, v in route.params.items() if k != "id" and not _parses(v))
            return error(400, f"Unable to infer object type from: {unknown}", "VALIDATION_ERROR")
        denied = auth.check_scopes(request, config, auth.required_scopes(route, types))
        if denied is not None:
            return denied
        call = Call(request, route, types, self.store, config, base_url,
                    lambda n: self.counters.inputs(route.key, n))
        try:
            return HANDLERS[route.name](call)
        except ApiError as exc:
            return exc.response

    def _latency(self, config: SandboxConfig) -> float:
        jitter = self._jitter.uniform(-config.jitter_ms, config.jitter_ms) if config.jitter_ms else 0.0
        return max(0.0, config.latency_ms + jitter) / 1000

    def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the sandbox stops, so stop() never waits on a slow reply."""
        if seconds > 0:
            self.stopping.wait(seconds)


def _with(response: Response, headers: dict[str, str]) -> Response:
    response.headers = {**headers, **response.headers}
    return response


def _parses(segment: str) -> bool:
    try:
        parse_object_type(segment)
    except UnknownObjectTypeError:
        return False
    return True
