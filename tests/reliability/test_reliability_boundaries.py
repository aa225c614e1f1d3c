"""Where credentials may go: only in the Authorization header (and the OAuth form), only over https or loopback.

A token travels in clear text over plain http; a URL ends up in logs and proxies. So an ``api_url`` that is
plain http to a host other than loopback is refused before any request, as is one whose host URL parsers read
differently (user info, a backslash); and no request of a whole run carries a credential or a record value
in its URL. (Record values that look like paths are dead letters: see the bad-input corpus.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.credentials import MARKED_TOKEN, assert_no_secrets, oauth_app, start_sandbox
from tests.support.crm.reliability import contact_deal_edges, tap_crm, tap_settings, target_crm, target_settings
from tests.support.recorded_runs import Run, run_tap, run_target
from tests.support.singer import schema

TOKEN_PATH = "/oauth/v1/token"


def refused_urls(box: Sandbox) -> list[str]:
    port = box.url.rsplit(":", 1)[1]
    return [
        "http://example.com",  # plain http to a host that is not loopback
        f"http://example.invalid\\@127.0.0.1:{port}",  # urllib3 would connect to example.invalid
        f"http://127.0.0.1:{port}@example.invalid",
        f"https://user:{MARKED_TOKEN}@api.hubapi.com",  # a credential in the URL itself
    ]


def run_tap_with(url: str, workdir: Path) -> Run:
    return run_tap(workdir, {"access_token": MARKED_TOKEN, "api_url": url})


def run_target_with(url: str, workdir: Path) -> Run:
    return run_target(workdir, {"access_token": MARKED_TOKEN, "api_url": url}, [schema()])


@pytest.mark.parametrize("run", [run_tap_with, run_target_with], ids=["tap", "target"])
def test_an_api_url_a_token_must_not_be_sent_to_is_refused_before_any_request(
    run: Callable[[str, Path], Run], tmp_path: Path,
) -> None:
    with start_sandbox(tap_crm()) as box:
        for number, url in enumerate(refused_urls(box)):
            done = run(url, tmp_path / str(number))
            assert done.returncode == 1
            assert "api_url" in done.stderr
            assert "refused" in done.stderr
            assert "Traceback" not in done.stderr
            assert_no_secrets(box, done)
        assert box.counters()["requests_total"] == 0


def test_a_whole_run_of_both_plugins_carries_credentials_only_in_headers_and_forms(tmp_path: Path) -> None:
    """OAuth, so every kind of credential is in play: the refresh form, the client secret, access tokens."""
    with start_sandbox(tap_crm()) as box:
        tap = run_tap(tmp_path / "tap", oauth_app(box, **tap_settings()))
        assert tap.returncode == 0, tap.stderr[-3000:]
        log = box.counters()["request_log"]
        assert_no_secrets(box, tap)
    store, load = target_crm()
    with start_sandbox(store) as box:
        target = run_target(tmp_path / "target", oauth_app(box, dead_letter_path=str(tmp_path / "rejected.jsonl"),
                                                           **target_settings()), load.lines)
        assert target.returncode == 0, target.stderr[-3000:]
        assert contact_deal_edges(box.store) == load.after
        log += box.counters()["request_log"]
        assert_no_secrets(box, target)
    token_calls = [entry["path"] for entry in log if entry["route"] == f"POST {TOKEN_PATH}"]
    assert token_calls == [TOKEN_PATH, TOKEN_PATH]  # one refresh per run, its secrets in the body, not the URL
    crm_paths = [entry["path"] for entry in log if entry["route"] != f"POST {TOKEN_PATH}"]
    assert len(crm_paths) > 20
    assert all(set(path) <= URL_CHARACTERS for path in crm_paths)


# Paths are built from object type ids and HubSpot's own ids and cursors: nothing else may appear.
URL_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-_?&=%.")
