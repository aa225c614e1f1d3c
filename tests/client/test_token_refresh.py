"""OAuth access tokens are refreshed before they expire, about once per lifetime, counted by the sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient

OAUTH = {"client_id": "cid", "client_secret": "csecret", "refresh_token": "rtoken"}
TYPES = "/crm/v3/associations/contacts/companies/types"


def test_a_short_lived_token_is_refreshed_about_once_per_lifetime_not_before_every_request(
    sandbox: Callable[..., Any],
) -> None:
    """The refresh margin is a part of the token's lifetime: a 2-second token serves requests for most of it.

    A margin as long as the lifetime (the fixed 2 minutes 30-minute tokens get) would ask for a new token
    before every request.
    """
    box = sandbox(seed="demo", oauth_clients={"cid": "csecret"}, refresh_tokens={"rtoken"}, access_token_ttl=2.0)
    sent = 0
    with HubSpotClient(ClientSettings(api_url=box.url), Credentials.from_config(OAUTH)) as client:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            client.request("GET", TYPES)
            sent += 1
    assert sent > 20
    assert box.counters()["oauth_refreshes"] <= 4  # at the start, then once every 1.8 s
