"""Every from type is listed at once, each on its own thread, within max_workers; a listing error still stops the run.

Listing pages of one type must follow one another (each cursor comes from the previous reply), so a run can
finish no sooner than its longest listing; listing the second from type only after the first is read would
add the two (benchmarks/ measures it). The SDK still reads partitions in order, so output order is unchanged.
"""

from __future__ import annotations

import contextlib
import io

from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from tap_hubassoc.tap import TapHubAssoc
from tests.support.crm import CONTACTS_DEALS_BOTH_WAYS, contacts_and_deals, v3_records
from tests.support.runners import records_until_it_gives_up, tap_config, while_contacts_are_held
from tests.support.sandbox_api import LIST_DEALS
from tests.support.singer import row

CONTACTS = [12_000_000_001 + 11 * i for i in range(250)]  # 3 listing pages: fewer, so the first partition
DEALS = [22_000_000_001 + 7 * i for i in range(450)]  # 5 listing pages
PAIRS = CONTACTS_DEALS_BOTH_WAYS


def build_store() -> Store:
    return contacts_and_deals(CONTACTS, DEALS)


def test_the_second_from_type_is_listed_while_the_first_is_still_being_read() -> None:
    with Sandbox(SandboxConfig(rate_limit=10_000), build_store()) as box:
        first, deals_listed = while_contacts_are_held(
            box.url, lambda: box.counters()["requests"].get(LIST_DEALS, 0) > 0, associations=PAIRS, batch_size=100,
            max_workers=2, read_each_pair_once=False)
    assert first["from_id"] == str(CONTACTS[0])
    assert deals_listed


def test_max_workers_bounds_requests_in_flight_listing_threads_included() -> None:
    """With max_workers 1, two listings and the reads never overlap at "HubSpot" (sandbox peak concurrency)."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=5), build_store()) as box:
        tap = TapHubAssoc(config=tap_config(box.url, associations=PAIRS, batch_size=100, max_workers=1,
                                            read_each_pair_once=False))
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                tap.sync_all()
        finally:
            tap.close()
        counters = box.counters()
    assert counters["requests"][LIST_DEALS] == 5
    assert counters["peak_concurrency"] == 1


def test_a_failed_listing_of_a_later_from_type_stops_the_run_when_that_type_is_read() -> None:
    """The listing thread hands its error to the reader: the contacts partition is complete, then the run fails."""
    store = build_store()
    with Sandbox(SandboxConfig(rate_limit=10_000), store) as box:
        box.schedule_faults("5xx:500", count=1, route=LIST_DEALS)
        emitted = records_until_it_gives_up(tap_config(box.url, associations=PAIRS, max_attempts=1,
                                                       read_each_pair_once=False))
    assert {row(r) for r in emitted} == {row(r) for r in v3_records(store, "contacts", "deals")}
