"""Who may call: bearer tokens, OAuth access tokens and their expiry, scopes, and the token endpoint.

Tokens are compared and forgotten here; none is ever put in a response, a counter or a log.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from hubassoc.objects import OBJECT_TYPE_IDS, ObjectType
from hubassoc.sandbox import routes
from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.wire import Request, Response, correlation_id, error

INVALID_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: "
    "https://developers.hubspot.com/scopes."
)


class AccessTokens:
    """OAuth access tokens the token endpoint issued, remembered past expiry to tell EXPIRED from unknown."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self, ttl: float) -> str:
        """A new access token valid for ``ttl`` seconds."""
        token = "sandbox-access-" + secrets.token_hex(16)
        with self._lock:
            self._expiry[token] = self._clock() + ttl
        return token

    def expire_all(self) -> None:
        """Every issued token expires now (the next call with one gets EXPIRED_AUTHENTICATION)."""
        with self._lock:
            now = self._clock()
            self._expiry = {token: min(expiry, now) for token, expiry in self._expiry.items()}

    def expired_for(self, token: str) -> float | None:
        """Seconds since ``token`` expired (0 or more), -1.0 while valid, None for a token never issued."""
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return None
        now = self._clock()
        return -1.0 if now < expiry else now - expiry


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def authenticate(request: Request, config: SandboxConfig, access: AccessTokens) -> Response | None:
    """None when the caller may proceed, else HubSpot's 401 (INVALID or EXPIRED_AUTHENTICATION)."""
    token = bearer(request.headers)
    if token is None:
        return error(401, INVALID_MESSAGE, "INVALID_AUTHENTICATION")
    if token in config.tokens:
        return None
    expired_for = access.expired_for(token)
    if expired_for is None:
        return error(401, INVALID_MESSAGE, "INVALID_AUTHENTICATION")
    if expired_for < 0:
        return None
    message = f"The OAuth token used to make this call expired {int(expired_for)} second(s) ago."
    return error(401, message, "EXPIRED_AUTHENTICATION")


def required_scopes(route: routes.Route, object_types: tuple[ObjectType, ...]) -> list[str]:
    """Reads need ``crm.objects.<type>.read`` for every type involved; writes need ``.write`` on the from type."""
    if route.name in routes.WRITES:
        return [_scope(object_types[0], "write")]
    return list(dict.fromkeys(_scope(t, "read") for t in object_types))


def _scope(object_type: ObjectType, access: str) -> str:
    kind = object_type.name if object_type.name in OBJECT_TYPE_IDS else "custom"
    return f"crm.objects.{kind}.{access}"


def check_scopes(request: Request, config: SandboxConfig, required: list[str]) -> Response | None:
    """HubSpot's 403 MISSING_SCOPES when the token has a scope list lacking a required scope."""
    token = bearer(request.headers)
    granted = (config.token_scopes or {}).get(token or "")
    missing = [] if granted is None else [s for s in required if s not in granted]
    if not missing:
        return None
    problem = {"message": "One or more of the following scopes are required.",
               "context": {"requiredGranularScopes": missing}}
    response = error(403, SCOPES_MESSAGE, None, errors=[problem],
                     links={"scopes": "https://developers.hubspot.com/scopes"})
    response.body["category"] = "MISSING_SCOPES"  # last, as HubSpot writes it
    return response


def refresh(request: Request, config: SandboxConfig, access: AccessTokens) -> tuple[Response, frozenset[str] | None]:
    """``POST /oauth/v1/token``: a new access token, and the refresh tokens valid from now on when rotating."""
    form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "refresh_token":
        return _oauth_error("BAD_GRANT_TYPE", "grant_type must be refresh_token"), None
    client_id = form.get("client_id", "")
    if client_id not in config.oauth_clients or config.oauth_clients[client_id] != form.get("client_secret"):
        return _oauth_error("BAD_CLIENT_ID", "missing or unknown client id, or a secret that does not match"), None
    old = form.get("refresh_token", "")
    if old not in config.refresh_tokens:
        return _oauth_error("BAD_REFRESH_TOKEN", "missing or unknown refresh token"), None
    new = "sandbox-refresh-" + secrets.token_hex(16) if config.rotate_refresh_tokens else old
    body = {"access_token": access.issue(config.access_token_ttl), "refresh_token": new,
            "expires_in": round(config.access_token_ttl), "token_type": "bearer"}
    valid = (config.refresh_tokens - {old}) | {new} if new != old else None
    return Response(200, body), valid


def _oauth_error(status: str, message: str) -> Response:
    return Response(400, {"status": status, "message": message, "correlationId": correlation_id()})
