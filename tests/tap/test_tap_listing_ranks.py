"""Two listings that want more than the budget between them: the first partition's goes first (hubassoc/pacing.py).

HubSpot lists 100 ids a page, each page's cursor in the previous reply, so a listing sends one page per round
trip: at 20 ms that is up to 500 pages per 10 s, and two listings want ten times a budget of 100. Shared
equally, both would be slowed, and the run's longest chain with them; the tap ranks its listings in the order it
emits their partitions, so while the first is open the second takes only what reads are left (5 of 100).
"""

from __future__ import annotations

import functools

import pytest
from tap_harness import TOKEN, base_config, contacts_and_deals, eventually, sync_in_process

from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient
from hubassoc.sandbox import Sandbox, SandboxConfig
from tap_hubassoc.prefetch import ListingPrefetch

CONTACTS = [12_000_000_001 + 11 * i for i in range(2_000)]  # 20 listing pages
DEALS = [22_000_000_001 + 7 * i for i in range(2_000)]  # 20 listing pages
SECOND_LISTING_AT_MOST = 6  # its first page (before any round trip is known) and the 5 of 100 reads keep


@pytest.mark.parametrize(("first", "second"), [("contacts", "deals"), ("deals", "contacts")])
def test_the_first_partitions_listing_ends_before_the_second_has_sent_more_than_a_few_pages(
    first: str, second: str,
) -> None:
    pairs = [{"from": first, "to": second}, {"from": second, "to": first}]
    with Sandbox(SandboxConfig(rate_limit=100, latency_ms=20), contacts_and_deals(CONTACTS, DEALS)) as box:
        run = sync_in_process(base_config(box.url, associations=pairs, requests_per_10s=100, max_workers=4))
        log = box.counters()["request_log"]
    assert len(run.records()) == 2 * len(CONTACTS)  # one deal per contact, read from both sides
    first_pages = [e for e in log if e["route"] == f"GET /crm/v3/objects/{first}"]
    second_pages = [e for e in log if e["route"] == f"GET /crm/v3/objects/{second}"]
    assert (len(first_pages), len(second_pages)) == (20, 20)
    first_done = max(e["time"] for e in first_pages)
    assert sum(e["started"] < first_done for e in second_pages) <= SECOND_LISTING_AT_MOST


def test_a_listing_waiting_for_its_reader_leaves_the_budget_to_reads() -> None:
    """A listing far enough ahead of its reader sends nothing until the reader catches up, and what it waits for
    is the reader's batch reads: they must not be held to the 5 % reads keep beside a listing that is sending.

    With no latency a listing could take the whole budget of 100, so reads beside it keep 5. Here the listing
    holds one page for its reader and waits to hand over the next: a sixth read may go at once.
    """
    with Sandbox(SandboxConfig(rate_limit=10_000), contacts_and_deals(CONTACTS, DEALS)) as box, \
            HubSpotClient(ClientSettings(api_url=box.url, requests_per_10s=100),
                          Credentials.from_config({"access_token": TOKEN})) as client:
        listing = ListingPrefetch(functools.partial(client.list_object_ids, "contacts"), "contacts", max_pages=1)
        try:
            assert eventually(lambda: box.counters()["requests"].get("GET /crm/v3/objects/contacts", 0) == 2)
            for _ in range(5):
                client.association_types("contacts", "deals")
            assert client.pacer.seconds_to_wait() <= 0
        finally:
            listing.stop()
