"""``/_sandbox/...``: what tests and benchmarks in another process use to look inside and to turn knobs.

Not HubSpot paths: no auth, no rate limit, no latency or faults, not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hubassoc.objects import UnknownObjectTypeError
from hubassoc.sandbox.app import SandboxApp
from hubassoc.sandbox.wire import ApiError, Request, Response, error, json_body, validation_error

PREFIX = "/_sandbox/"


def handle(app: SandboxApp, request: Request) -> Response:
    """Answer one inspection request."""
    action = _ACTIONS.get((request.method, request.path.removeprefix(PREFIX)))
    if action is None:
        return error(404, f"No sandbox route {request.method} {request.path}.", "OBJECT_NOT_FOUND")
    try:
        return action(app, request)
    except ApiError as exc:
        return exc.response
    except (ValueError, TypeError, UnknownObjectTypeError) as exc:
        return error(400, str(exc), "VALIDATION_ERROR")


def _counters(app: SandboxApp, _: Request) -> Response:
    return Response(200, app.counters.snapshot())


def _associations(app: SandboxApp, request: Request) -> Response:
    return Response(200, {"results": app.store.records(request.param("from"), request.param("to"))})


def _show_config(app: SandboxApp, _: Request) -> Response:
    return Response(200, app.config.public())


def _set_config(app: SandboxApp, request: Request) -> Response:
    return Response(200, app.configure(**_object(request)).public())


def _reset_counters(app: SandboxApp, _: Request) -> Response:
    app.counters.reset()
    return Response(204)


def _reset_rate_limits(app: SandboxApp, _: Request) -> Response:
    app.limiter.reset()
    return Response(204)


def _clear_associations(app: SandboxApp, _: Request) -> Response:
    app.store.clear_associations()
    return Response(204)


def _expire_access_tokens(app: SandboxApp, _: Request) -> Response:
    app.access_tokens.expire_all()
    return Response(204)


def _faults(app: SandboxApp, request: Request) -> Response:
    body = _object(request)
    app.faults.schedule(str(body.get("kind")), int(body.get("count", 1)), body.get("route"))
    return Response(204)


def _object(request: Request) -> dict[str, Any]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise validation_error("The body must be a JSON object.")
    return body


_ACTIONS: dict[tuple[str, str], Callable[[SandboxApp, Request], Response]] = {
    ("GET", "counters"): _counters,
    ("GET", "associations"): _associations,
    ("GET", "config"): _show_config,
    ("POST", "config"): _set_config,
    ("POST", "reset-counters"): _reset_counters,
    ("POST", "reset-rate-limits"): _reset_rate_limits,
    ("POST", "clear-associations"): _clear_associations,
    ("POST", "expire-access-tokens"): _expire_access_tokens,
    ("POST", "faults"): _faults,
}
