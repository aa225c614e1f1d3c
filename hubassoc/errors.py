"""Typed failures carrying what HubSpot said, so callers and users see its category, message and correlationId."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any


class HubSpotError(Exception):
    """A request HubSpot answered with an error, after any retries the error deserved."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        sub_category: str | None = None,
        correlation_id: str | None = None,
        route: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.category = category
        self.sub_category = sub_category
        self.correlation_id = correlation_id
        self.route = route
        super().__init__(str(self))

    @classmethod
    def from_body(cls, status: int, body: Any, route: str, fallback: str = "") -> HubSpotError:
        """Build from an error body, treating every field as optional (HubSpot omits them freely)."""
        fields = body if isinstance(body, dict) else {}
        message = str(fields.get("message") or fallback or f"HTTP {status}")
        return cls(
            message,
            status=status,
            category=_text(fields.get("category") or fields.get("errorType")),
            sub_category=_text(fields.get("subCategory")),
            correlation_id=_text(fields.get("correlationId")),
            route=route,
        )

    @property
    def fields(self) -> dict[str, Any]:
        """What HubSpot said, as keyword arguments: to raise the same answer as another kind of error."""
        return {"status": self.status, "category": self.category, "sub_category": self.sub_category,
                "correlation_id": self.correlation_id, "route": self.route}

    def __str__(self) -> str:
        parts = [f"HubSpot {self.status or 'request'}"]
        if self.category:
            parts.append(self.category)
        head = " ".join(parts)
        where = f" on {self.route}" if self.route else ""
        tail = f" (correlationId {self.correlation_id})" if self.correlation_id else ""
        return f"{head}{where}: {self.message}{tail}"


class AuthenticationError(HubSpotError):
    """401: the token is missing, wrong, revoked or expired beyond refreshing. Never retried blindly.

    ``oauth`` says which settings gave the refused token (True: the OAuth trio, False: access_token), so the
    message names them and the next step; None when the message already does (a refused refresh).
    """

    def __init__(self, message: str, *, oauth: bool | None = None, **fields: Any) -> None:
        self.oauth = oauth
        super().__init__(message, **fields)

    def __str__(self) -> str:
        base = super().__str__()
        if self.oauth is None:
            return base
        return f"{OAUTH_REFUSED if self.oauth else PRIVATE_APP_REFUSED} -- {base}"


PRIVATE_APP_REFUSED = (
    "HubSpot refused the access token (revoked, mistyped or from another account): check access_token; "
    "create a new private app token and set access_token to it"
)
OAUTH_REFUSED = (
    "HubSpot refused the OAuth access token refreshed from client_id, client_secret and refresh_token (the app "
    "may have been uninstalled or its access revoked): check those settings; re-authorise the app for a new "
    "refresh_token"
)


class MissingScopesError(HubSpotError):
    """403 MISSING_SCOPES: the private app or OAuth app lacks a scope; ``scopes`` names it where HubSpot does."""

    def __init__(self, message: str, *, scopes: tuple[str, ...] = (), **fields: Any) -> None:
        self.scopes = scopes
        super().__init__(message, **fields)

    def __str__(self) -> str:
        base = super().__str__()
        grant = (f"grant the app the scope(s): {', '.join(self.scopes)}" if self.scopes
                 else "grant the app the scope HubSpot names below")
        return (f"HubSpot refused the request because the app's scopes lack one it needs: {grant} (in the private "
                f"app's or the OAuth app's settings in HubSpot; an OAuth app is then re-authorised) -- {base}")


class DailyLimitError(HubSpotError):
    """429 with policyName DAILY: retrying would take hours, so the run stops and says when it resets."""


class RetriesExhaustedError(HubSpotError):
    """A transient failure (429, 5xx, timeout, reset) that outlasted the configured attempts or wait."""


class BatchReadError(HubSpotError):
    """A batch read input failed for a reason other than the documented NO_ASSOCIATIONS_FOUND."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


QUOTED_CHARS = 60


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """A value as JSON would show it, cut to its start: a 10 MB id must not make a 10 MB reason or log line.

    Users read these in messages about their own data, which came as JSON: ``"12a"``, ``10000022589.5``, ``true``.
    """
    text = json_text(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def json_text(value: object) -> str:
    """``value`` written as JSON: numbers as they were received (a Decimal keeps its digits), NaN as ``NaN``."""
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)  # NaN, Infinity and -Infinity as Python's JSON writes them
    try:
        return json.dumps(value, ensure_ascii=False, default=_plain)
    except (ValueError, RecursionError):  # a list holding itself, or nested deeper than Python recurses
        return json.dumps(f"<{type(value).__name__} that JSON cannot show>")


def _plain(value: object) -> object:
    """Nested values JSON has no type for: a finite Decimal as a number, anything else as its text."""
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return float(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


_REPORTED = "hubassoc_reported"


def mark_reported(failure: BaseException) -> None:
    """The run has logged this failure and its summary: the CLI exits 1 without saying it again."""
    setattr(failure, _REPORTED, True)


def was_reported(failure: BaseException) -> bool:
    """Whether ``mark_reported`` was called on this failure."""
    return bool(getattr(failure, _REPORTED, False))
