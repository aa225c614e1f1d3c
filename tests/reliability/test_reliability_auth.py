"""Credentials failing mid-run: an expired OAuth token is refreshed once; a revoked one ends the run at once.

HubSpot facts (hubspot-associations-api.md, "Errors outside batches"): 401 ``EXPIRED_AUTHENTICATION`` for an
expired OAuth access token (refresh it), 401 ``INVALID_AUTHENTICATION`` for a wrong or revoked token (retrying
cannot help), 403 ``MISSING_SCOPES`` naming the scopes in ``errors[].context.requiredGranularScopes``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.credentials import MARKED_TOKEN, assert_no_secrets, oauth_app, private_app, start_sandbox
from tests.support.crm.reliability import (
    contact_deal_edges,
    tap_crm,
    tap_expected,
    tap_settings,
    target_crm,
    target_settings,
)
from tests.support.recorded_runs import Run, Started, assert_clean_failure, start_plugin, target_states, write_input
from tests.support.runners import TAP, TARGET
from tests.support.singer import key_of
from tests.support.waiting import wait_until

WORKERS = 2
IN_FLIGHT = WORKERS  # requests at once: the client's in-flight slots, which listings and reads share
PLUGINS = ["tap", "target"]
TOKEN_ROUTE = "POST /oauth/v1/token"
Connection = Callable[..., dict[str, Any]]


def launch(plugin: str, box: Sandbox, workdir: Path, connection: Connection) -> tuple[Started, Callable[[Run], None]]:
    """Start the plugin on its CRM; returns the process and a check that its result is exact."""
    if plugin == "tap":
        expected = tap_expected(box.store)
        started = start_plugin(TAP, workdir, connection(box, **tap_settings(max_workers=WORKERS)), name="tap")

        def exact(run: Run) -> None:
            assert Counter(key_of(r) for r in run.tap_records()) == expected

        return started, exact
    _, load = target_crm()
    settings = connection(box, dead_letter_path=str(workdir / "rejected.jsonl"),
                          **target_settings(max_workers=WORKERS))
    source = write_input(workdir / "input.singer", load.lines)
    started = start_plugin(TARGET, workdir, settings, name="target", stdin=source)

    def landed(run: Run) -> None:
        assert contact_deal_edges(box.store) == load.after
        assert target_states(run)[-1] == load.lines[-1]["value"]

    return started, landed


def crm_for(plugin: str) -> Any:
    return tap_crm() if plugin == "tap" else target_crm()[0]


def mid_run(box: Sandbox) -> None:
    """Wait until the run is well under way (it makes 30 to 50 requests in all)."""
    wait_until(lambda: box.counters()["requests_total"] >= 10, "the run to get going")


def token_requests(box: Sandbox) -> int:
    return sum(1 for entry in box.counters()["request_log"] if entry["route"] == TOKEN_ROUTE)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_an_access_token_that_expires_mid_run_is_refreshed_once_and_the_run_completes(
    plugin: str, tmp_path: Path,
) -> None:
    with start_sandbox(crm_for(plugin), latency_ms=10) as box:
        started, exact = launch(plugin, box, tmp_path, oauth_app)
        mid_run(box)
        box.expire_access_tokens()
        run = started.wait()
        assert run.returncode == 0, run.stderr[-3000:]
        exact(run)
        counters = box.counters()
        assert counters["oauth_refreshes"] == 2  # the first access token, and one after the expiry
        assert 1 <= counters["statuses"].get(401, 0) <= IN_FLIGHT  # requests sent with the old token
        assert_no_secrets(box, run)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_revoked_private_app_token_ends_the_run_with_one_clear_error_and_no_retries(
    plugin: str, tmp_path: Path,
) -> None:
    with start_sandbox(crm_for(plugin), latency_ms=10) as box:
        started, _ = launch(plugin, box, tmp_path, private_app)
        mid_run(box)
        box.configure(tokens=frozenset())  # the app's token was revoked
        run = started.wait()
        assert_clean_failure(run)
        assert "401 INVALID_AUTHENTICATION" in run.stderr
        assert box.counters()["statuses"][401] <= IN_FLIGHT  # only requests already sent meet it; none retried
        assert token_requests(box) == 0  # a private-app token cannot be refreshed, so none is tried
        assert_no_secrets(box, run)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_revoked_refresh_token_ends_the_run_with_one_clear_error_and_no_retry_storm(
    plugin: str, tmp_path: Path,
) -> None:
    with start_sandbox(crm_for(plugin), latency_ms=10) as box:
        started, _ = launch(plugin, box, tmp_path, oauth_app)
        mid_run(box)
        box.configure(refresh_tokens=frozenset())  # the user uninstalled the app
        box.expire_access_tokens()
        run = started.wait()
        assert_clean_failure(run)
        assert "OAuth token refresh refused (BAD_REFRESH_TOKEN)" in run.stderr
        assert "re-authorise the app" in run.stderr
        assert box.counters()["statuses"][401] <= IN_FLIGHT  # the expired token is not sent after the refusal
        assert token_requests(box) == 2  # the first refresh, and the one HubSpot refused: not one per request
        assert_no_secrets(box, run)


def test_tap_missing_scope_names_the_scope_the_app_lacks(tmp_path: Path) -> None:
    scopes = {MARKED_TOKEN: ("crm.objects.contacts.read", "crm.objects.deals.read")}  # no tickets
    with start_sandbox(tap_crm(), token_scopes=scopes) as box:
        run = start_plugin(TAP, tmp_path, private_app(box, **tap_settings(max_workers=WORKERS)), name="tap").wait()
        assert_clean_failure(run)
        assert "403 MISSING_SCOPES" in run.stderr
        assert "grant the app the scope(s): crm.objects.tickets.read" in run.stderr
        # none retried: the pairs' types are fetched at once, so only the calls already handed to the workers fail
        assert 1 <= box.counters()["statuses"][403] <= 2 * WORKERS
        assert_no_secrets(box, run)


def test_target_missing_scope_names_the_scope_and_acknowledges_nothing(tmp_path: Path) -> None:
    store, load = target_crm()
    scopes = {MARKED_TOKEN: ("crm.objects.contacts.read", "crm.objects.deals.read")}  # may read, may not write
    with start_sandbox(store, token_scopes=scopes) as box:
        settings = private_app(box, dead_letter_path=str(tmp_path / "rejected.jsonl"),
                               **target_settings(max_workers=WORKERS))
        source = write_input(tmp_path / "input.singer", load.lines)
        run = start_plugin(TARGET, tmp_path, settings, name="target", stdin=source).wait()
        assert_clean_failure(run)
        assert "grant the app the scope(s): crm.objects.contacts.write" in run.stderr
        # none retried: only the first flush's calls already handed to the workers (two per worker) are sent
        assert 1 <= box.counters()["statuses"][403] <= 2 * WORKERS
        assert target_states(run) == []
        assert contact_deal_edges(box.store) == load.before
        assert_no_secrets(box, run)
