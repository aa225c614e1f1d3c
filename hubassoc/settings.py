"""Settings both plugins share (auth, where HubSpot is, how hard to push it) and the client built from them."""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

from hubassoc.api_version import API_VERSIONS, DEFAULT_API_VERSION
from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient

DEFAULT_API_URL = "https://api.hubapi.com"

CONNECTION_PROPERTIES = th.PropertiesList(
    th.Property(
        "access_token", th.StringType, secret=True,
        description="Private app access token (pat-...). Set this, or the three OAuth settings.",
    ),
    th.Property("client_id", th.StringType, description="OAuth app client id (with client_secret and refresh_token)."),
    th.Property("client_secret", th.StringType, secret=True, description="OAuth app client secret."),
    th.Property(
        "refresh_token", th.StringType, secret=True,
        description="OAuth refresh token; access tokens are refreshed before they expire and once on a 401.",
    ),
    th.Property(
        "api_url", th.StringType, default=DEFAULT_API_URL,
        description="HubSpot API base URL. Plain http:// is refused unless the host is loopback (the sandbox).",
    ),
    th.Property(
        "requests_per_10s", th.IntegerType(minimum=1, maximum=1000), default=100,
        description="Request budget per rolling 10 s window, shared by all threads. HubSpot allows 100 "
        "(Free/Starter), 150 (Professional/Enterprise) or 200 (with the limit increase) for associations; "
        "leave headroom if other apps use the same account.",
    ),
    th.Property(
        "max_workers", th.IntegerType(minimum=1, maximum=64), default=8,
        description="Requests in flight at once. With 100-300 ms per request, 8 reach the budget.",
    ),
    th.Property(
        "max_attempts", th.IntegerType(minimum=1, maximum=50), default=8,
        description="Attempts per request on 429, 423, 5xx, timeouts and resets before the run fails.",
    ),
    th.Property(
        "max_retry_wait", th.NumberType(minimum=0), default=300,
        description="Seconds one request may spend waiting between retries before the run fails.",
    ),
    th.Property("timeout", th.NumberType(minimum=1), default=60, description="Seconds to wait for one reply."),
    th.Property(
        "api_version", th.StringType(allowed_values=list(API_VERSIONS)), default=DEFAULT_API_VERSION,
        description="Associations API: v3 (names only; toward companies only the primary company; unsupported "
        "by HubSpot from September 2027), v4 (every association with its labels; unsupported from 2027-03-30) "
        "or 2026-03 (v4's shapes under /crm/associations/2026-03, the long-lived one). With v4 and 2026-03 no "
        "v3 associations endpoint is called. See the README for what a record without a type means in each.",
    ),
)


def client_from_config(config: dict[str, Any]) -> HubSpotClient:
    """The one way a plugin gets a client, so both treat auth, URLs and pacing alike."""
    settings = ClientSettings.from_config({**config, "api_url": config.get("api_url") or DEFAULT_API_URL})
    return HubSpotClient(settings, Credentials.from_config(config))
