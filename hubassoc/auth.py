"""Credentials and where they may be sent: a private-app token or an OAuth refresh token, never logged."""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hubassoc.errors import AuthenticationError, HubSpotError

# A token is refreshed this long before HubSpot's expiry, so that no request carries a dead one: a part of its
# lifetime, so that short-lived tokens are not refreshed on every request, and at most a fixed margin.
REFRESH_MARGIN_SECONDS = 120
REFRESH_MARGIN_FRACTION = 0.1
_PLAIN_NETLOC = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")  # host[:port], nothing else
_UNSAFE = re.compile(r"[\\\s@\x00-\x1f\x7f]")  # characters URL parsers read differently


class Secret(str):
    """A str that prints as asterisks, so a token in a repr, log or traceback shows nothing."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    @property
    def value(self) -> str:
        """The real text, for the Authorization header and the token endpoint only."""
        return str.__str__(self)


def validate_api_url(url: str) -> str:
    """Refuse to send a token in clear text: plain http is allowed only to a loopback host (the sandbox).

    Only ``scheme://host[:port][/path]`` is accepted. URL parsers disagree on anything more: urllib3 sends
    ``http://evil.com<backslash>@127.0.0.1`` to evil.com while urlsplit reads host 127.0.0.1, so user info, a
    backslash, whitespace, a query or a fragment is refused rather than trusted to one parser's reading.
    """
    parts = urlsplit(url.strip())
    if not _PLAIN_NETLOC.match(parts.netloc) or parts.query or parts.fragment or _UNSAFE.search(url.strip()):
        msg = "api_url refused: write it as https://host[:port][/path], without user info, query or fragment"
        raise ValueError(msg)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.strip().rstrip("/")
    msg = (
        f"api_url {parts.scheme}://{host or '?'} refused: use https (plain http only for a loopback "
        "host such as 127.0.0.1, where the sandbox runs)"
    )
    raise ValueError(msg)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Credentials:
    """Either a private-app ``access_token`` or the OAuth trio; secrets are wrapped so they never print."""

    access_token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    refresh_token: Secret | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Credentials:
        """Read the plugins' settings; exactly one of the two ways must be complete."""
        token = config.get("access_token")
        client_id, client_secret = config.get("client_id"), config.get("client_secret")
        refresh_token = config.get("refresh_token")
        oauth = (client_id, client_secret, refresh_token)
        if token and any(oauth):
            msg = "set either access_token or client_id/client_secret/refresh_token, not both"
            raise ValueError(msg)
        if token:
            return cls(access_token=Secret(token))
        if all(oauth):
            return cls(
                client_id=str(client_id), client_secret=Secret(client_secret), refresh_token=Secret(refresh_token),
            )
        msg = "no credentials: set access_token (private app) or client_id, client_secret and refresh_token"
        raise ValueError(msg)

    @property
    def is_oauth(self) -> bool:
        """True when tokens come from refreshing, so an expired one can be replaced."""
        return self.access_token is None


TokenRequest = Callable[[dict[str, str]], dict[str, Any]]


class TokenSource:
    """Hands out the current bearer token; refreshes OAuth tokens once, whatever the number of threads."""

    def __init__(
        self, credentials: Credentials, request_token: TokenRequest, clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._request_token = request_token
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Secret | None = credentials.access_token
        self._refresh_token = credentials.refresh_token
        self._refresh_at = float("inf") if credentials.access_token else 0.0
        self._dead: HubSpotError | None = None  # why no token can be sent any more, once that is known
        self.refreshes = 0

    @property
    def can_refresh(self) -> bool:
        """Only OAuth tokens can be renewed; a private-app token that fails is final."""
        return self._credentials.is_oauth

    def bearer(self) -> Secret:
        """The token to send now, refreshed first when it is about to expire."""
        with self._lock:
            if self._dead is not None:  # every thread hears the answer HubSpot gave, and nothing more is sent
                raise _again(self._dead)
            if self._token is None or self._clock() >= self._refresh_at:
                self._refresh_locked()
            assert self._token is not None
            return self._token

    def refresh_after_expiry(self, rejected: Secret) -> None:
        """After a 401 EXPIRED_AUTHENTICATION: refresh unless another thread already replaced that token.

        The expired token is dropped first, so that if the refresh fails no request carries it again.
        """
        with self._lock:
            if self._token is rejected or self._token == rejected:
                self._token = None
                self._refresh_locked()

    def reject(self, rejected: Secret, error: HubSpotError) -> None:
        """HubSpot refused ``rejected`` for good (revoked, wrong): no request may carry it, so none is sent."""
        with self._lock:
            if self._token == rejected:
                self._dead = error

    def _refresh_locked(self) -> None:
        creds = self._credentials
        if not creds.is_oauth:
            msg = "the access token was rejected and a private-app token cannot be refreshed"
            raise AuthenticationError(msg, status=401, category="INVALID_AUTHENTICATION", oauth=False)
        assert creds.client_id
        assert creds.client_secret
        assert self._refresh_token
        try:
            body = self._request_token({
                "grant_type": "refresh_token",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret.value,
                "refresh_token": self._refresh_token.value,
            })
        except AuthenticationError as exc:
            if exc.status is not None:  # refused, not unreachable: asking again would be refused again
                self._dead = exc
            raise
        self._token = Secret(body["access_token"])
        if body.get("refresh_token"):
            self._refresh_token = Secret(body["refresh_token"])  # HubSpot may rotate it: keep the new one
        lifetime = float(body.get("expires_in") or 1800)
        self._refresh_at = self._clock() + lifetime - min(REFRESH_MARGIN_SECONDS, REFRESH_MARGIN_FRACTION * lifetime)
        self.refreshes += 1


def _again(error: HubSpotError) -> AuthenticationError:
    """A fresh copy of ``error`` for one more thread (one exception object raised in many threads is shared)."""
    return AuthenticationError(error.message, oauth=getattr(error, "oauth", None), status=error.status,
                               category=error.category, sub_category=error.sub_category,
                               correlation_id=error.correlation_id, route=error.route)
