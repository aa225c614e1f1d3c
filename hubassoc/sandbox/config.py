"""Every knob of the sandbox in one immutable value, checked once so request handlers can trust it.

A running sandbox swaps the whole value when a knob changes (copy on write), so a request always sees one
consistent configuration. Where HubSpot does not document a behaviour, a knob chooses it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hubassoc.limits import SEARCH_PER_SECOND, TRANSIENT_5XX

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's public, documented default
HUBSPOT_5XX = TRANSIENT_5XX
FAULT_SHARES = ("fault_5xx", "fault_429", "fault_drop", "fault_slow", "fault_malformed")
SECRET_KNOBS = ("tokens", "token_scopes", "oauth_clients", "refresh_tokens")
FIXED_KNOBS = ("host", "port")  # the socket is bound once


@dataclass(frozen=True)
class SandboxConfig:
    """The sandbox's knobs; collections given as lists are stored as tuples / frozensets."""

    host: str = "127.0.0.1"
    port: int = 0
    # auth
    tokens: frozenset[str] = frozenset({DEFAULT_TOKEN})
    token_scopes: dict[str, tuple[str, ...]] | None = None
    oauth_clients: dict[str, str] = field(default_factory=dict)
    refresh_tokens: frozenset[str] = frozenset()
    access_token_ttl: float = 1800.0
    rotate_refresh_tokens: bool = False
    # rate limits
    rate_limit: int = 100
    window_seconds: float = 10.0
    daily_limit: int | None = None
    count_rejected: bool = False
    retry_after: float | None = None
    search_per_second: int | None = SEARCH_PER_SECOND  # search's own limit; None: unlimited
    # latency
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    # faults
    fault_seed: int = 0
    fault_5xx: float = 0.0
    fault_5xx_statuses: tuple[int, ...] = HUBSPOT_5XX
    fault_429: float = 0.0
    fault_drop: float = 0.0
    fault_slow: float = 0.0
    slow_seconds: float = 5.0
    fault_malformed: float = 0.0
    # undocumented HubSpot behaviour
    create_status: int = 200
    error_context: str = "pair"
    shuffle_results: bool = True
    # inspection
    request_log_size: int = 10_000

    def __post_init__(self) -> None:
        self._normalise()
        for problem in self._problems():
            raise ValueError(problem)

    def _normalise(self) -> None:
        set_ = object.__setattr__
        set_(self, "tokens", frozenset([self.tokens] if isinstance(self.tokens, str) else self.tokens))
        set_(self, "refresh_tokens", frozenset(
            [self.refresh_tokens] if isinstance(self.refresh_tokens, str) else self.refresh_tokens))
        set_(self, "oauth_clients", dict(self.oauth_clients))
        set_(self, "fault_5xx_statuses", tuple(int(s) for s in self.fault_5xx_statuses))
        if self.token_scopes is not None:
            set_(self, "token_scopes", {str(t): tuple(s) for t, s in self.token_scopes.items()})

    def _problems(self) -> list[str]:
        shares = {name: getattr(self, name) for name in FAULT_SHARES}
        checks = {
            "fault shares must each be in [0, 1] and sum to at most 1":
                all(0 <= s <= 1 for s in shares.values()) and sum(shares.values()) <= 1,
            "fault_5xx_statuses must be 5xx statuses": all(500 <= s <= 599 for s in self.fault_5xx_statuses),
            "rate_limit must be at least 1": self.rate_limit >= 1,
            "window_seconds must be positive": self.window_seconds > 0,
            "daily_limit must be None or at least 1": self.daily_limit is None or self.daily_limit >= 1,
            "search_per_second must be None or at least 1":
                self.search_per_second is None or self.search_per_second >= 1,
            "latency_ms, jitter_ms and slow_seconds must not be negative":
                min(self.latency_ms, self.jitter_ms, self.slow_seconds) >= 0,
            "create_status must be 200 or 201": self.create_status in (200, 201),
            "error_context must be 'pair' or 'ids'": self.error_context in ("pair", "ids"),
            "access_token_ttl must be positive": self.access_token_ttl > 0,
            "request_log_size must be at least 1": self.request_log_size >= 1,
        }
        return [problem for problem, ok in checks.items() if not ok]

    def with_knobs(self, **knobs: Any) -> SandboxConfig:
        """A copy with some knobs changed; unknown knobs and the socket address are refused."""
        unknown = sorted(set(knobs) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            msg = f"unknown sandbox knob(s): {', '.join(unknown)}"
            raise ValueError(msg)
        fixed = sorted(set(knobs) & set(FIXED_KNOBS))
        if fixed:
            msg = f"{', '.join(fixed)} cannot change while the sandbox runs: start another one"
            raise ValueError(msg)
        return dataclasses.replace(self, **knobs)

    def public(self) -> dict[str, Any]:
        """The knobs as JSON-able values, with tokens and secrets left out (only their number shown)."""
        shown: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_KNOBS:
                shown[f"{f.name}_count"] = None if value is None else len(value)
            else:
                shown[f.name] = list(value) if isinstance(value, tuple) else value
        return shown
