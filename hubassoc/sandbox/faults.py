"""Which requests fail on purpose: scheduled faults first (deterministic), then random shares (seeded).

Kinds: ``5xx:<status>``, ``429`` (ten-secondly), ``429-daily``, ``423``, ``drop`` (close without a reply),
``cut`` (run the route, then break the connection part-way through its reply), ``slow`` (answer normally
after ``slow_seconds``), ``malformed`` (200 with truncated JSON).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus

from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.ratelimit import DAILY, TEN_SECONDLY, rate_limited
from hubassoc.sandbox.routes import route_key
from hubassoc.sandbox.wire import Response, dropped, error

SIMPLE_KINDS = ("429", "429-daily", "423", "drop", "cut", "slow", "malformed")
REJECTIONS = frozenset({"429", "429-daily", "423"})  # answered like a rate-limit rejection: no budget spent
_5XX = re.compile(r"^5xx:(5\d\d)$")
TRUNCATED_BODY = b'{"status":"COMPLETE","results":[{"from":{"id":"1'


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a fault kind, else raise ValueError listing the kinds."""
    if kind in SIMPLE_KINDS or _5XX.match(kind):
        return kind
    msg = f"unknown fault kind {kind!r}: use 5xx:<status> (e.g. 5xx:503) or one of {', '.join(SIMPLE_KINDS)}"
    raise ValueError(msg)


@dataclass
class _Scheduled:
    kind: str
    remaining: int
    route: str | None


class FaultPlan:
    """Draws the fault (or None) for each request that passed auth and the rate limiter."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._scheduled: list[_Scheduled] = []
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the random fault sequence from ``seed``."""
        with self._lock:
            self._rng = random.Random(seed)  # noqa: S311 - fault injection, not security

    def schedule(self, kind: str, count: int, route: str | None = None) -> None:
        """The next ``count`` requests (on ``route``, a counters route key, if given) get fault ``kind``."""
        if count < 1:
            msg = f"count must be at least 1, got {count}"
            raise ValueError(msg)
        entry = _Scheduled(check_kind(kind), count, None if route is None else route_key(route))
        with self._lock:
            self._scheduled.append(entry)

    def clear(self) -> None:
        """Drop every scheduled fault not yet used."""
        with self._lock:
            self._scheduled.clear()

    def draw(self, config: SandboxConfig, route: str) -> str | None:
        """The fault kind for one request on ``route``, or None."""
        with self._lock:
            for entry in self._scheduled:
                if entry.route in (None, route):
                    entry.remaining -= 1
                    if not entry.remaining:
                        self._scheduled.remove(entry)
                    return entry.kind
            return self._random(config)

    def _random(self, config: SandboxConfig) -> str | None:
        roll = self._rng.random()
        for kind, share in (("5xx", config.fault_5xx), ("429", config.fault_429), ("drop", config.fault_drop),
                            ("slow", config.fault_slow), ("malformed", config.fault_malformed)):
            if roll < share:
                return f"5xx:{self._rng.choice(config.fault_5xx_statuses)}" if kind == "5xx" else kind
            roll -= share
        return None


def fault_response(kind: str, config: SandboxConfig) -> Response | None:
    """The reply a fault replaces the real one with; None for ``slow`` and ``cut``, which run the route."""
    found = _5XX.match(kind)
    if found:
        status = int(found.group(1))
        return error(status, _phrase(status), "INTERNAL_ERROR")
    replies = {
        "429": lambda: rate_limited(TEN_SECONDLY, config),
        "429-daily": lambda: rate_limited(DAILY, config),
        "423": lambda: error(423, "The object is locked by another request; retry after at least 2 seconds.",
                             "LOCKED"),
        "drop": dropped,
        "malformed": lambda: Response(200, TRUNCATED_BODY),
    }
    reply = replies.get(kind)
    return None if reply is None else reply()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Origin error"
