"""The tap reads a CRM exactly, and with exactly the requests HubSpot's API makes necessary.

One real ``tap-hubassoc`` run (the CLI, over HTTP, against the sandbox) serves every test in this module.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from tests.support.crm import extra_pages, v3_records
from tests.support.crm.paged import COMPANIES, CONTACTS, DEALS, DEALS_PER_CONTACT, build_crm
from tests.support.runners import TapRun, run_tap_cli, tap_config
from tests.support.singer import row

BATCH_SIZE = 150  # not a multiple of the 100-id listing page: batches start mid-page
# Mixed spellings HubSpot accepts; canonical pairs in configured order.
PAIRS_AS_WRITTEN = [
    {"from": "Contacts", "to": "company"},
    {"from": "0-1", "to": "DEALS"},
    {"from": "contact", "to": "0-5"},
    {"from": "deal", "to": "Contacts"},
    {"from": "COMPANIES", "to": "contact"},
]
PAIRS = [("contacts", "companies"), ("contacts", "deals"), ("contacts", "tickets"),
         ("deals", "contacts"), ("companies", "contacts")]
OBJECTS = {"contacts": CONTACTS, "deals": DEALS, "companies": COMPANIES}


class CrmRun:
    """The CRM, the sandbox's request counts and the tap's output of one full run."""

    def __init__(self, store: Store, run: TapRun, requests: dict[str, int]) -> None:
        self.store = store
        self.run = run
        self.requests = requests


@pytest.fixture(scope="module")
def crm_run(tmp_path_factory: pytest.TempPathFactory) -> CrmRun:
    store = build_crm()
    with Sandbox(SandboxConfig(rate_limit=10_000), store) as box:
        # Each direction from its own side: this module specifies what v3 shows of each, and the requests that takes.
        config = tap_config(box.url, associations=PAIRS_AS_WRITTEN, batch_size=BATCH_SIZE, read_each_pair_once=False)
        run = run_tap_cli(tmp_path_factory.mktemp("crm"), config)
        requests = box.counters()["requests"]
    assert run.returncode == 0, run.stderr
    return CrmRun(store, run, requests)


def emitted(run: TapRun, from_type: str, to_type: str) -> list[dict[str, Any]]:
    return [r for r in run.records() if (r["from_object_type"], r["to_object_type"]) == (from_type, to_type)]


@pytest.mark.parametrize(("from_type", "to_type"), PAIRS)
def test_every_pair_yields_exactly_the_edges_v3_exposes(crm_run: CrmRun, from_type: str, to_type: str) -> None:
    """Emitted edges = the store's, all types included; toward companies only the primary company (v3)."""
    got = [row(r) for r in emitted(crm_run.run, from_type, to_type)]
    want = {row(r) for r in v3_records(crm_run.store, from_type, to_type)}
    assert len(got) == len(set(got)), "an edge was emitted twice"
    assert set(got) == want


def test_objects_past_100_associations_are_followed_to_the_end(crm_run: CrmRun) -> None:
    """v3 batch read stops an object at 100 entries; the 101st and 250th deal are still emitted."""
    per_contact = Counter(r["from_id"] for r in emitted(crm_run.run, "contacts", "deals"))
    for index, deals in DEALS_PER_CONTACT.items():
        assert per_contact.get(str(CONTACTS[index]), 0) == deals


def test_custom_label_and_primary_and_unlabeled_types_resolve_to_their_ids(crm_run: CrmRun) -> None:
    """contact_to_company -> 1 (primary), contact_to_company_unlabeled -> 279, billing_contact -> its label id."""
    label_id = crm_run.store.type_by_name("contacts", "companies", "billing_contact")
    assert label_id is not None
    seen = {(r["association_type"], r["association_type_id"], r["association_category"])
            for r in emitted(crm_run.run, "contacts", "companies")}
    assert seen == {
        ("contact_to_company", 1, "HUBSPOT_DEFINED"),
        ("contact_to_company_unlabeled", 279, "HUBSPOT_DEFINED"),
        ("billing_contact", label_id.type_id, "USER_DEFINED"),
    }


def test_contact_without_associations_gives_no_rows(crm_run: CrmRun) -> None:
    """NO_ASSOCIATIONS_FOUND (a 207 error per input) is data: no rows, and the run succeeds."""
    assert not [r for r in crm_run.run.records() if r["from_id"] == str(CONTACTS[0])]


@pytest.mark.parametrize(("from_type", "to_type"), PAIRS)
def test_association_types_lists_every_type_of_each_pair(crm_run: CrmRun, from_type: str, to_type: str) -> None:
    """One record per type from GET .../types, ids as integers, custom labels USER_DEFINED, no label in v3."""
    got = [r for r in crm_run.run.records("association_types")
           if (r["from_object_type"], r["to_object_type"]) == (from_type, to_type)]
    want = [{"from_object_type": from_type, "to_object_type": to_type, "association_type_id": t.type_id,
             "association_type": t.name, "association_category": t.category, "association_label": None}
            for t in crm_run.store.types(from_type, to_type)]
    assert sorted(got, key=lambda r: r["association_type_id"]) == want


def expected_requests(store: Store) -> dict[str, int]:
    """Listing pages once per from type and one search to count it (two or more are listed); per pair one
    types call, ceil(N/batch) reads and the >100 pages."""
    want: dict[str, int] = {}
    for from_type in dict.fromkeys(a for a, _ in PAIRS):
        want[f"GET /crm/v3/objects/{from_type}"] = math.ceil(len(OBJECTS[from_type]) / 100)
        want[f"POST /crm/v3/objects/{from_type}/search"] = 1
    for from_type, to_type in PAIRS:
        want[f"GET /crm/v3/associations/{from_type}/{to_type}/types"] = 1
        want[f"POST /crm/v3/associations/{from_type}/{to_type}/batch/read"] = math.ceil(
            len(OBJECTS[from_type]) / BATCH_SIZE)
        pages = extra_pages(store, from_type, to_type)
        if pages:
            want[f"GET /crm/v3/objects/{from_type}/{{id}}/associations/{to_type}"] = pages
    return want


def test_requests_are_exactly_what_the_api_makes_necessary(crm_run: CrmRun) -> None:
    """ceil(N/100) listing pages and one search per from TYPE (shared by its pairs), ceil(N/batch_size) reads
    per pair, one request per extra page of a >100 object, one types call per pair, and nothing else."""
    assert crm_run.requests == expected_requests(crm_run.store)


def test_the_crm_has_the_shape_the_counts_rely_on(crm_run: CrmRun) -> None:
    """Guards the fixture: the counts above are only meaningful if paging and sharing really happen."""
    assert extra_pages(crm_run.store, "contacts", "deals") == 2  # the 101- and 250-deal contacts
    assert extra_pages(crm_run.store, "companies", "contacts") >= 1
    assert math.ceil(len(CONTACTS) / 100) > 1


def test_records_come_out_batch_by_batch_then_pair_by_pair_in_listing_order(crm_run: CrmRun) -> None:
    """Deterministic order: batch order, then pairs as configured, then ids as listed (ascending here)."""
    def position(record: dict[str, Any]) -> tuple[int, int, int]:
        listed = OBJECTS[record["from_object_type"]].index(int(record["from_id"]))
        return listed // BATCH_SIZE, PAIRS.index((record["from_object_type"], record["to_object_type"])), listed

    for from_type in OBJECTS:
        keys = [position(r) for r in crm_run.run.records() if r["from_object_type"] == from_type]
        assert keys == sorted(keys)


def test_completed_run_leaves_no_cursor_in_state(crm_run: CrmRun) -> None:
    """A completed run's final state holds no position: the next run is a full, fresh read."""
    final = crm_run.run.states()[-1]["bookmarks"]["associations"]["partitions"]
    assert sorted(final, key=str) == [{"context": {"from_object_type": t}} for t in ("companies", "contacts", "deals")]


def test_progress_summary_names_every_pair(crm_run: CrmRun) -> None:
    """stderr closes each pair with a summary line (ids read, records, records/s, requests, 429s)."""
    for from_type, to_type in PAIRS:
        count = len(emitted(crm_run.run, from_type, to_type))
        line = next(x for x in crm_run.run.stderr.splitlines() if f"associations {from_type}->{to_type} finished" in x)
        assert f"{len(OBJECTS[from_type])} ids read, {count} records" in line
        assert "429s 0" in line
