"""What a route handler works with, and the pieces every batch route shares: inputs, ids, the batch body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hubassoc.objects import ObjectType, is_object_id
from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.routes import Route
from hubassoc.sandbox.store import Store
from hubassoc.sandbox.wire import Request, Response, json_body, timestamp, validation_error


@dataclass(frozen=True)
class Call:
    """One authorised request to a route, with the state it may read and change."""

    request: Request
    route: Route
    types: tuple[ObjectType, ...]
    store: Store
    config: SandboxConfig
    base_url: str
    count_inputs: Callable[[int], None]

    @property
    def from_type(self) -> ObjectType:
        """The path's first object type."""
        return self.types[0]

    @property
    def to_type(self) -> ObjectType:
        """The path's second object type."""
        return self.types[1]


def read_inputs(call: Call, limit: int) -> list[Any]:
    """The body's ``inputs`` array, counted, or a 400 when it is missing or longer than ``limit``."""
    body = json_body(call.request)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        raise validation_error("Invalid input: the body must be a JSON object with an inputs array.")
    call.count_inputs(len(inputs))
    if len(inputs) > limit:
        raise validation_error(f"Too many inputs: {len(inputs)} given, at most {limit} are allowed per batch.")
    return inputs


def object_id(value: Any) -> int | None:
    """An id as HubSpot accepts it (digits, as a string or a JSON number), or None."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 20 and value.strip("0"):
        return int(value)  # the common case, without is_object_id's conversions: every input has two ids
    return int(value) if is_object_id(value) else None


def batch_response(results: list[Any], errors: list[dict[str, Any]], started: str, ok_status: int = 200) -> Response:
    """HubSpot's batch body: ``ok_status`` when every input succeeded, else 207 with numErrors and errors."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    body["startedAt"] = started
    body["completedAt"] = timestamp()
    return Response(207 if errors else ok_status, body)
