"""A HubSpotClient for the client tests, and a clock they set by hand."""

from __future__ import annotations

from typing import Any

from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient

# Not the sandbox's default TOKEN: a distinctive secret the client tests' leak checks search for.
CLIENT_TOKEN = "pat-na1-client-test-secret"


def make_client(url: str, **settings: Any) -> HubSpotClient:
    """A client with CLIENT_TOKEN and fast retries (a sandbox must accept the token: ``tokens=[CLIENT_TOKEN]``)."""
    base = {"api_url": url, "backoff_base": 0.01, "backoff_max": 0.2, "max_retry_wait": 30.0}
    credentials = Credentials.from_config({"access_token": CLIENT_TOKEN})
    return HubSpotClient(ClientSettings(**{**base, **settings}), credentials)


class FakeClock:
    """A monotonic clock that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now
