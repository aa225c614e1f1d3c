"""Typed failures carrying what HubSpot said, so callers and users see its category, message and correlationId."""

from __future__ import annotations

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

    def __str__(self) -> str:
        parts = [f"HubSpot {self.status or 'request'}"]
        if self.category:
            parts.append(self.category)
        head = " ".join(parts)
        where = f" on {self.route}" if self.route else ""
        tail = f" (correlationId {self.correlation_id})" if self.correlation_id else ""
        return f"{head}{where}: {self.message}{tail}"


class AuthenticationError(HubSpotError):
    """401: the token is missing, wrong, revoked or expired beyond refreshing. Never retried blindly."""


class MissingScopesError(HubSpotError):
    """403 MISSING_SCOPES: the private app or OAuth app lacks a scope; ``scopes`` names it where HubSpot does."""

    def __init__(self, message: str, *, scopes: tuple[str, ...] = (), **fields: Any) -> None:
        self.scopes = scopes
        super().__init__(message, **fields)

    def __str__(self) -> str:
        base = super().__str__()
        if not self.scopes:
            return base
        return f"{base} -- grant the app the scope(s): {', '.join(self.scopes)}"


class DailyLimitError(HubSpotError):
    """429 with policyName DAILY: retrying would take hours, so the run stops and says when it resets."""


class RetriesExhaustedError(HubSpotError):
    """A transient failure (429, 5xx, timeout, reset) that outlasted the configured attempts or wait."""


class BatchReadError(HubSpotError):
    """A batch read input failed for a reason other than the documented NO_ASSOCIATIONS_FOUND."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


QUOTED_CHARS = 60


def quoted(value: object) -> str:
    """A value as repr for a message, cut to its start: a 10 MB id must not make a 10 MB reason or log line."""
    text = repr(value)
    return text if len(text) <= QUOTED_CHARS else f"{text[:QUOTED_CHARS]}... ({len(text)} characters)"


_REPORTED = "hubassoc_reported"


def mark_reported(failure: BaseException) -> None:
    """The run has logged this failure and its summary: the CLI exits 1 without saying it again."""
    setattr(failure, _REPORTED, True)


def was_reported(failure: BaseException) -> bool:
    """Whether ``mark_reported`` was called on this failure."""
    return bool(getattr(failure, _REPORTED, False))
