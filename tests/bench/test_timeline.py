"""``benchmarks.timeline`` accounts for every request of a run, so what it says about where time goes adds up.

Run in its quick mode against the sandbox; counts are asserted, timings never.
"""

from __future__ import annotations

import pytest

from benchmarks.crm import TAP_PAIRS, read_cost, tap_crm
from benchmarks.modes import QUICK
from benchmarks.timeline import Timeline, kind, record, report


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    return record(QUICK, 8, companies_first=False, workdir=tmp_path_factory.mktemp("timeline"))


def test_every_request_of_the_run_is_in_one_window(timeline: Timeline) -> None:
    assert timeline.calls == timeline.expected_calls
    assert sum(sum(counts) for counts in timeline.windows().values()) == timeline.calls


def test_requests_are_told_apart_as_the_read_needs_them(timeline: Timeline) -> None:
    """Each from type is counted and listed once (100 ids a page) and read in batches of 1,000; objects past 100
    page on."""
    cost = read_cost(tap_crm(QUICK.tap_contacts, QUICK.tap_companies), TAP_PAIRS)
    sent = {name: sum(counts) for name, counts in timeline.windows().items()}
    assert sent == {
        "list contacts": cost.listing_calls["contacts"], "list companies": cost.listing_calls["companies"],
        "read contacts->companies": 2, "read companies->contacts": 1,
        "pages companies->contacts": cost.per_object_calls,
        "types contacts->companies": 1, "types companies->contacts": 1,
        "count contacts": 1, "count companies": 1,
    }
    assert cost.search_calls == 2


def test_each_listing_is_a_chain_whose_page_times_split_into_parts(timeline: Timeline) -> None:
    chains = timeline.chains()
    assert {name: chain["pages"] for name, chain in chains.items()} == {"list companies": 4, "list contacts": 20}
    for chain in chains.values():
        assert chain["latency_ms"] > 0
        assert chain["sandbox_ms"] >= 0
        assert chain["client_mean_ms"] >= 0


def test_the_report_has_a_row_for_each_kind_and_each_listing(timeline: Timeline) -> None:
    text = report(timeline, "quick")
    for name in timeline.windows():
        assert f"| {name} |" in text
    assert "| list contacts | 20 |" in text


def test_routes_are_named_by_what_they_do() -> None:
    assert kind("GET /crm/v3/objects/contacts") == "list contacts"
    assert kind("POST /crm/v3/associations/contacts/companies/batch/read") == "read contacts->companies"
    assert kind("GET /crm/v3/objects/companies/{id}/associations/contacts") == "pages companies->contacts"
    assert kind("POST /oauth/v1/token") == "POST /oauth/v1/token"
