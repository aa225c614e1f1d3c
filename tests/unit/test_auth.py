"""Credentials: which URLs may carry a token, and tokens that never print."""

from __future__ import annotations

import threading

import pytest

from hubassoc.auth import Credentials, Secret, TokenSource, validate_api_url
from hubassoc.errors import AuthenticationError


@pytest.mark.parametrize("url", ["https://api.hubapi.com", "http://127.0.0.1:8765", "http://localhost:1",
                                 "http://[::1]:80", "http://127.5.5.5/"])
def test_https_or_loopback_http_is_accepted(url: str) -> None:
    assert validate_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://api.hubapi.com", "http://10.0.0.1", "ftp://x", "api.hubapi.com",
                                 "http://localhost.evil.com", "https://"])
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        validate_api_url(url)


def test_secret_prints_as_asterisks_everywhere() -> None:
    token = Secret("pat-na1-secret")
    shown = [str(token), repr(token), f"{token}", "%s" % token, repr([token]), str({"t": token})]  # noqa: UP031
    assert all("pat-na1-secret" not in text for text in shown)
    assert token.value == "pat-na1-secret"


def test_credentials_need_a_token_or_the_oauth_trio() -> None:
    assert not Credentials.from_config({"access_token": "t"}).is_oauth
    oauth = Credentials.from_config({"client_id": "c", "client_secret": "s", "refresh_token": "r"})
    assert oauth.is_oauth
    with pytest.raises(ValueError, match="no credentials"):
        Credentials.from_config({"client_id": "c"})
    with pytest.raises(ValueError, match="not both"):
        Credentials.from_config({"access_token": "t", "client_id": "c", "client_secret": "s", "refresh_token": "r"})


def test_oauth_refresh_happens_once_however_many_threads_find_it_expired() -> None:
    calls: list[dict[str, str]] = []
    gate = threading.Barrier(8)

    def request_token(form: dict[str, str]) -> dict[str, object]:
        calls.append(form)
        return {"access_token": f"access-{len(calls)}", "refresh_token": "rotated", "expires_in": 1800}

    source = TokenSource(Credentials.from_config({"client_id": "c", "client_secret": "s", "refresh_token": "r"}),
                         request_token)
    first = source.bearer()

    def worker() -> None:
        gate.wait()
        source.refresh_after_expiry(first)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 2  # the first token, then exactly one refresh
    assert calls[1]["refresh_token"] == "rotated"  # a rotated refresh token is kept
    assert source.bearer().value == "access-2"


def test_private_app_token_is_never_refreshed() -> None:
    source = TokenSource(Credentials.from_config({"access_token": "t"}), lambda form: {})
    with pytest.raises(AuthenticationError, match="cannot be refreshed"):
        source.refresh_after_expiry(source.bearer())


def test_a_token_rejected_after_it_was_replaced_does_not_stop_its_successor() -> None:
    """A thread whose request carried the old token may report its 401 after another thread refreshed it."""
    tokens = iter(["access-1", "access-2"])
    source = TokenSource(Credentials.from_config({"client_id": "c", "client_secret": "s", "refresh_token": "r"}),
                         lambda form: {"access_token": next(tokens), "expires_in": 1800})
    old = source.bearer()
    source.refresh_after_expiry(old)
    source.reject(old, AuthenticationError("revoked", status=401, category="INVALID_AUTHENTICATION"))
    assert source.bearer().value == "access-2"


def test_a_rejected_token_is_not_handed_out_again() -> None:
    source = TokenSource(Credentials.from_config({"access_token": "t"}), lambda form: {})
    source.reject(source.bearer(), AuthenticationError("revoked", status=401, category="INVALID_AUTHENTICATION"))
    with pytest.raises(AuthenticationError, match="401 INVALID_AUTHENTICATION"):
        source.bearer()


def test_a_refused_oauth_token_names_the_three_oauth_settings_and_re_authorising() -> None:
    error = AuthenticationError("Authentication credentials not found.", oauth=True, status=401,
                                category="INVALID_AUTHENTICATION")
    assert str(error) == (
        "HubSpot refused the OAuth access token refreshed from client_id, client_secret and refresh_token (the app "
        "may have been uninstalled or its access revoked): check those settings; re-authorise the app for a new "
        "refresh_token -- HubSpot 401 INVALID_AUTHENTICATION: Authentication credentials not found.")


def test_every_thread_that_meets_a_refused_token_hears_which_setting_to_check() -> None:
    source = TokenSource(Credentials.from_config({"access_token": "t"}), lambda form: {})
    source.reject(source.bearer(), AuthenticationError("revoked", oauth=False, status=401))
    with pytest.raises(AuthenticationError, match="check access_token; create a new private app token"):
        source.bearer()
