"""Two listings that want more than the budget between them: the largest type's goes first (tap_hubassoc/order.py).

HubSpot lists 100 ids a page, each page's cursor in the previous reply, so a listing sends one page per round
trip: at 20 ms that is up to 500 pages per 10 s, and two listings want ten times a budget of 100. Shared
equally, both would be slowed, and the run's longest chain with them; the tap counts each type (one search),
ranks the largest type's listing first and emits its partition last, so while its listing is open the other
takes only what reads are left (5 of 100). Among equals, the configured order decides both.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from hubassoc.associations_v3 import AssociationsV3
from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient
from hubassoc.objects_api import ObjectsApi
from hubassoc.sandbox import Sandbox, SandboxConfig
from tap_hubassoc.prefetch import ListingPrefetch
from tests.support.crm import contacts_and_deals
from tests.support.runners import run_tap_in_process, tap_config
from tests.support.sandbox_api import TOKEN
from tests.support.waiting import eventually

CONTACTS = [12_000_000_001 + 11 * i for i in range(2_000)]  # 20 listing pages
DEALS = [22_000_000_001 + 7 * i for i in range(2_000)]  # 20 listing pages
SECOND_LISTING_AT_MOST = 6  # its first page (before any round trip is known) and the 5 of 100 reads keep


def listing_run(pairs: list[str], deals: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Records and request log of a run listing 2,000 contacts and ``deals``, both ways, ``pairs[0]`` first."""
    associations = [{"from": pairs[0], "to": pairs[1]}, {"from": pairs[1], "to": pairs[0]}]
    with Sandbox(SandboxConfig(rate_limit=100, latency_ms=20), contacts_and_deals(CONTACTS, deals)) as box:
        run = run_tap_in_process(tap_config(box.url, associations=associations, requests_per_10s=100, max_workers=4,
                                             read_each_pair_once=False))
        log = box.counters()["request_log"]
    assert len(run.records()) == 2 * len(CONTACTS)  # one deal per contact, read from both sides
    return run.records(), log


def pages_sent_while_open(log: list[dict[str, Any]], first: str, second: str) -> int:
    """Listing pages of ``second`` sent before ``first``'s listing was answered for the last time."""
    first_done = max(e["time"] for e in log if e["route"] == f"GET /crm/v3/objects/{first}")
    return sum(e["started"] < first_done for e in log if e["route"] == f"GET /crm/v3/objects/{second}")


@pytest.mark.parametrize(("first", "second"), [("contacts", "deals"), ("deals", "contacts")])
def test_among_equal_listings_the_first_partitions_ends_before_the_second_has_sent_more_than_a_few_pages(
    first: str, second: str,
) -> None:
    _, log = listing_run([first, second], DEALS)
    assert pages_sent_while_open(log, first, second) <= SECOND_LISTING_AT_MOST


@pytest.mark.parametrize("configured", [["contacts", "deals"], ["deals", "contacts"]])
def test_the_largest_types_listing_goes_first_and_its_partition_last_whatever_the_configured_order(
    configured: list[str],
) -> None:
    """2,000 contacts (20 pages) and 1,000 deals (10 pages): contacts are listed first and emitted last."""
    records, log = listing_run(configured, DEALS[:1_000])
    assert pages_sent_while_open(log, "contacts", "deals") <= SECOND_LISTING_AT_MOST
    order = [r["from_object_type"] for r in records]
    assert order == sorted(order, key=["deals", "contacts"].index)
    assert sum(e["route"].endswith("/search") for e in log) == 2  # each listed type counted once


def test_a_type_search_cannot_count_keeps_the_configured_order_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Counting only orders the run: when search fails (here a 500 with no retry left) nothing else does."""
    pairs = [{"from": "contacts", "to": "deals"}, {"from": "deals", "to": "contacts"}]
    with Sandbox(SandboxConfig(rate_limit=10_000), contacts_and_deals(CONTACTS, DEALS[:1_000])) as box:
        box.schedule_faults("5xx:500", count=1, route="POST /crm/v3/objects/contacts/search")
        run = run_tap_in_process(tap_config(box.url, associations=pairs, max_attempts=1, read_each_pair_once=False))
    order = [r["from_object_type"] for r in run.records()]
    assert len(order) == 2 * len(CONTACTS)
    assert order == sorted(order, key=["contacts", "deals"].index)  # as configured, though deals are fewer
    assert "could not count contacts" in caplog.text


def test_a_listing_waiting_for_its_reader_leaves_the_budget_to_reads() -> None:
    """A listing far enough ahead of its reader sends nothing until the reader catches up, and what it waits for
    is the reader's batch reads: they must not be held to the 5 % reads keep beside a listing that is sending.

    With no latency a listing could take the whole budget of 100, so reads beside it keep 5. Here the listing
    holds one page for its reader and waits to hand over the next: a sixth read may go at once.
    """
    with Sandbox(SandboxConfig(rate_limit=10_000), contacts_and_deals(CONTACTS, DEALS)) as box, \
            HubSpotClient(ClientSettings(api_url=box.url, requests_per_10s=100),
                          Credentials.from_config({"access_token": TOKEN})) as client:
        pages = functools.partial(ObjectsApi(client).list_object_ids, "contacts")
        listing = ListingPrefetch(pages, "contacts", max_pages=1)
        try:
            assert eventually(lambda: box.counters()["requests"].get("GET /crm/v3/objects/contacts", 0) == 2)
            for _ in range(5):
                AssociationsV3(client).association_types("contacts", "deals")
            assert client.pacer.seconds_to_wait() <= 0
        finally:
            listing.stop()
