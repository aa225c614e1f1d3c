"""The executable as a user meets it: --test, errors on stderr, progress lines, pacing."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from hubassoc.sandbox import Sandbox, SandboxConfig
from tests.support.crm import CONTACTS_DEALS_BOTH_WAYS
from tests.support.crm.paged import CONTACTS, DEALS, build_crm
from tests.support.runners import TAP, run_tap_cli, tap_config, write_json

PAIRS = [{"from": "contacts", "to": "companies"}, {"from": "contacts", "to": "deals"}]


def test_connection_test_passes_reading_one_pair_types_and_one_listing_page(tmp_path: Path) -> None:
    """``--test`` proves the token and scopes with a handful of requests, not a sync."""
    with Sandbox(SandboxConfig(rate_limit=10_000), build_crm()) as box:
        run = run_tap_cli(tmp_path, tap_config(box.url, associations=PAIRS), "--test")
        requests = box.counters()["requests"]
    assert run.returncode == 0, run.stderr
    assert "connection test passed" in run.stderr
    assert requests["GET /crm/v3/associations/contacts/companies/types"] == 1
    assert requests["GET /crm/v3/objects/contacts"] == 1  # one listing page, however many contacts
    reads = {route: n for route, n in requests.items() if route.endswith("/batch/read")}
    assert all(n == 1 for n in reads.values())  # that page's ids, once per pair at most


def test_connection_test_with_a_wrong_token_says_so_in_one_line(tmp_path: Path) -> None:
    """401 INVALID_AUTHENTICATION: HubSpot's message, once, and never the token itself."""
    with Sandbox(SandboxConfig(), build_crm()) as box:
        run = run_tap_cli(tmp_path, {**tap_config(box.url), "access_token": "pat-na1-wrong-secret"}, "--test")
    assert run.returncode == 1
    failures = [line for line in run.stderr.splitlines() if "connection test failed" in line]
    assert len(failures) == 1
    assert "401 INVALID_AUTHENTICATION" in failures[0]
    assert "Authentication credentials not found" in failures[0]
    assert "wrong-secret" not in run.stderr
    assert "Traceback" not in run.stderr


def test_connection_test_names_the_missing_scope(tmp_path: Path) -> None:
    """403 MISSING_SCOPES: the scope HubSpot names (requiredGranularScopes) is in the message."""
    scopes = {"limited": ("crm.objects.contacts.read",)}  # no companies scope
    with Sandbox(SandboxConfig(tokens=frozenset({"limited"}), token_scopes=scopes), build_crm()) as box:
        run = run_tap_cli(tmp_path, {**tap_config(box.url, associations=PAIRS), "access_token": "limited"}, "--test")
    assert run.returncode == 1
    assert "MISSING_SCOPES" in run.stderr
    assert "crm.objects.companies.read" in run.stderr


def test_sync_failure_reaches_the_user_as_hubspots_message_without_the_token(tmp_path: Path) -> None:
    """An error out of the client ends the run with a non-zero exit and HubSpot's reason."""
    with Sandbox(SandboxConfig(), build_crm()) as box:
        run = run_tap_cli(tmp_path, {**tap_config(box.url), "access_token": "pat-na1-wrong-secret"})
    assert run.returncode != 0
    assert "HubSpot 401 INVALID_AUTHENTICATION" in run.stderr
    assert "wrong-secret" not in run.stderr


def test_progress_lines_every_interval_per_active_pair(tmp_path: Path) -> None:
    """Periodic lines: ids listed and read, records, records/s, requests against the budget, 429s."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=40), build_crm()) as box:
        run = run_tap_cli(tmp_path, tap_config(box.url, associations=PAIRS, batch_size=100, progress_interval=0.1,
                                                   read_each_pair_once=False))
    assert run.returncode == 0, run.stderr
    pattern = re.compile(r"associations (contacts->companies|contacts->deals): \d+ ids listed, \d+ read, "
                         r"\d+ records \(\d+ records/s\); "
                         r"requests \d+ \(\d+ in the last [\d.]+ s, budget 1000 per 10 s\), 429s \d+")
    seen = {m.group(1) for m in map(pattern.search, run.stderr.splitlines()) if m}
    assert seen == {"contacts->companies", "contacts->deals"}


def test_with_two_types_listed_progress_says_how_many_of_each_types_ids_are_listed(tmp_path: Path) -> None:
    """HubSpot's listing tells no total; the tap counts each listed type once (search), and the lines say it."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=40), build_crm()) as box:
        run = run_tap_cli(tmp_path, tap_config(box.url, associations=CONTACTS_DEALS_BOTH_WAYS, batch_size=100,
                                               progress_interval=0.1, read_each_pair_once=False))
    assert run.returncode == 0, run.stderr
    totals = set(re.findall(r"associations (contacts->deals|deals->contacts): \d+ of (\d+) ids listed", run.stderr))
    assert ("contacts->deals", str(len(CONTACTS))) in totals  # contacts, fewer, are read first and long enough
    assert totals <= {("contacts->deals", str(len(CONTACTS))), ("deals->contacts", str(len(DEALS)))}


def test_discovery_sends_no_request(tmp_path: Path) -> None:
    """The catalog is fixed: ``--discover`` neither counts nor lists anything (partition order is decided at sync)."""
    with Sandbox(SandboxConfig(rate_limit=10_000), build_crm()) as box:
        config = write_json(tmp_path / "config.json", tap_config(box.url, associations=CONTACTS_DEALS_BOTH_WAYS))
        done = subprocess.run([str(TAP), "--config", str(config), "--discover"], capture_output=True, text=True,
                              timeout=120, check=False)
        assert box.counters()["requests_total"] == 0
    assert done.returncode == 0, done.stderr
    assert {s["tap_stream_id"] for s in json.loads(done.stdout)["streams"]} == {"association_types", "associations"}


def test_reads_run_concurrently_under_one_pacer_without_429s(tmp_path: Path) -> None:
    """One pacer for the whole run keeps every window within budget while several reads are in flight."""
    with Sandbox(SandboxConfig(rate_limit=15, window_seconds=1, latency_ms=50), build_crm()) as box:
        settings = tap_config(box.url, associations=PAIRS, batch_size=50, requests_per_10s=150, window_seconds=1)
        run = run_tap_cli(tmp_path, settings)
        counters = box.counters()
    assert run.returncode == 0, run.stderr
    assert counters["rate_limited"] == 0
    assert counters["peak_concurrency"] > 1
