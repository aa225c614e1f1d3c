"""Requests and responses as plain values, and the body shapes HubSpot uses for errors and timestamps.

Keeping HTTP parsing out of the route logic lets handlers be ordinary functions: they take a Request and
return a Response, or raise ApiError with the HubSpot error response to send instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import msgspec

JSON_TYPE = "application/json;charset=utf-8"


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``headers`` keys are lowercase, ``query`` holds every value of each parameter."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    target: str = ""  # the request target as sent (path and query string), for the request log

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """One HTTP response: ``body`` is JSON-able, raw bytes, or None (no body); ``dropped`` sends nothing.

    ``cut`` sends the reply only part-way and closes the connection: the headers and half the body (or part of
    the status line when there is no body), as when a connection breaks mid-response.
    """

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    dropped: bool = False
    cut: bool = False

    def payload(self) -> bytes:
        """The body as bytes, JSON encoded unless it already is bytes."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return _encode_json(self.body)


def dropped() -> Response:
    """A reply that is no reply: the connection is closed without sending anything."""
    return Response(0, dropped=True)


class ApiError(Exception):
    """Raised by a handler to answer with ``response`` (a HubSpot error) instead of its normal reply."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def correlation_id() -> str:
    """A fresh id, as every HubSpot error body carries one."""
    return str(uuid.uuid4())


def error(status: int, message: str, category: str | None, **extra: Any) -> Response:
    """HubSpot's error body: status, message, correlationId, category and any extra fields."""
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": correlation_id()}
    if category is not None:
        body["category"] = category
    body.update(extra)
    return Response(status, body)


def validation_error(message: str, **extra: Any) -> ApiError:
    """A 400 VALIDATION_ERROR, ready to raise."""
    return ApiError(error(400, message, "VALIDATION_ERROR", **extra))


def timestamp() -> str:
    """Now, as HubSpot writes it: ISO 8601, milliseconds, Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Bodies by msgspec: a 2,000-input batch is read, and its 4,000 results written, in a fraction of the standard
# library's time. The sandbox stands in for HubSpot; its own time must not be what a benchmark of the plugins
# measures. A body msgspec refuses is read again by the standard library, for the message HubSpot would give.
_encode_json = msgspec.json.Encoder().encode


def json_body(request: Request) -> Any:
    """The request body as JSON, or HubSpot's 400 naming line and column of the first problem."""
    try:
        return msgspec.json.decode(request.body)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise validation_error(f"Invalid input JSON on line 1, column {exc.start + 1}: invalid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise validation_error(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
