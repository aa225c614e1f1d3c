"""SDK features as SDK users expect them, and from_ids, with the tap running in this process."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from hubassoc.errors import BatchReadError
from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from tap_hubassoc import prefetch
from tap_hubassoc.tap import TapHubAssoc
from tests.support.crm import v3_records
from tests.support.crm.paged import CONTACTS, build_crm
from tests.support.runners import run_tap_in_process, tap_config
from tests.support.singer import row
from tests.support.waiting import settled

PAIRS = [{"from": "contacts", "to": "companies"}, {"from": "contacts", "to": "deals"}]


@pytest.fixture(scope="module")
def crm() -> Store:
    return build_crm()


@pytest.fixture
def box(crm: Store) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(rate_limit=10_000), crm) as sandbox:
        yield sandbox


def expected(store: Store, *pairs: tuple[str, str]) -> set[tuple[Any, ...]]:
    return {row(r) for a, b in pairs for r in v3_records(store, a, b)}


def test_stream_map_filter_keeps_one_pair_of_the_shared_table(box: Sandbox, crm: Store) -> None:
    """Pairs are partitions of one stream; a ``__filter__`` on to_object_type selects pairs."""
    maps = {"associations": {"__filter__": "to_object_type == 'deals'"}}
    run = run_tap_in_process(tap_config(box.url, associations=PAIRS, stream_maps=maps))
    assert {row(r) for r in run.records()} == expected(crm, ("contacts", "deals"))


def test_stream_map_alias_and_dropped_stream(box: Sandbox) -> None:
    maps = {"associations": {"__alias__": "hubspot_associations"}, "association_types": None}
    run = run_tap_in_process(tap_config(box.url, associations=PAIRS, stream_maps=maps))
    assert run.records("hubspot_associations")
    assert not run.records("association_types")


def test_flattening_keeps_the_flat_record_unchanged(box: Sandbox, crm: Store) -> None:
    """Association records are already flat: flattening must not change them."""
    run = run_tap_in_process(tap_config(box.url, associations=PAIRS, flattening_enabled=True, flattening_max_depth=1,
                                         read_each_pair_once=False))
    assert {row(r) for r in run.records()} == expected(crm, ("contacts", "companies"), ("contacts", "deals"))


def test_batch_messages_carry_every_record_and_state_follows_them(box: Sandbox, crm: Store, tmp_path: Path) -> None:
    """BATCH mode: records go to files named in BATCH messages; a STATE never precedes its records' BATCH."""
    batch_config = {"encoding": {"format": "jsonl", "compression": "gzip"},
                    "storage": {"root": tmp_path.as_uri(), "prefix": "assoc-"}, "batch_size": 200}
    run = run_tap_in_process(tap_config(box.url, associations=PAIRS, batch_size=100, batch_config=batch_config,
                                         read_each_pair_once=False))
    rows: set[tuple[Any, ...]] = set()
    for message in run.messages:
        if message["type"] == "BATCH" and message["stream"] == "associations":
            for url in message["manifest"]:
                with gzip.open(urlparse(url).path, "rt") as lines:
                    rows |= {row(json.loads(line)) for line in lines}
    assert rows == expected(crm, ("contacts", "companies"), ("contacts", "deals"))
    start = next(i for i, m in enumerate(run.messages) if m["type"] == "SCHEMA" and m["stream"] == "associations")
    kinds = [m["type"] for m in run.messages[start:]]
    last_batch = max(i for i, kind in enumerate(kinds) if kind == "BATCH")
    assert kinds.count("BATCH") > 1
    for i, kind in enumerate(kinds[:last_batch]):
        assert kind != "STATE" or kinds[i - 1] == "BATCH", "a STATE came before the BATCH holding its records"


def test_from_ids_are_read_instead_of_listing(box: Sandbox, crm: Store) -> None:
    """Where from_ids names ids, none of that type are listed, and only those ids' edges come out."""
    ids = [CONTACTS[0], CONTACTS[3], CONTACTS[4], CONTACTS[6]]  # none, 101 and 250 deals, and a primary company
    run = run_tap_in_process(tap_config(box.url, associations=PAIRS, batch_size=3, from_ids={"Contact": ids}))
    requests = box.counters()["requests"]
    want = {r for r in expected(crm, ("contacts", "companies"), ("contacts", "deals"))
            if dict(r)["from_id"] in {str(i) for i in ids}}
    assert {row(r) for r in run.records()} == want
    assert "GET /crm/v3/objects/contacts" not in requests
    assert requests["POST /crm/v3/associations/contacts/deals/batch/read"] == math.ceil(len(ids) / 3)


def contacts_state(state: dict[str, Any]) -> dict[str, Any]:
    partitions = state["bookmarks"].get("associations", {}).get("partitions", [])
    return next((p for p in partitions if p["context"] == {"from_object_type": "contacts"}), {})


def test_from_ids_run_resumes_by_index(box: Sandbox, crm: Store) -> None:
    """With from_ids the saved position is an index into the list (and the list's fingerprint)."""
    ids = CONTACTS[:10]
    settings = tap_config(box.url, associations=PAIRS, batch_size=4, from_ids={"contacts": ids})
    full = run_tap_in_process(settings)
    middle = next(s for s in full.states() if contacts_state(s).get("index") == 4)
    box.reset_counters()
    rest = run_tap_in_process(settings, state=middle)
    assert box.counters()["requests"]["POST /crm/v3/associations/contacts/deals/batch/read"] == 2
    assert {row(r) for r in rest.records()} == {
        row(r) for r in full.records() if int(r["from_id"]) in ids[4:]}


def test_two_runs_emit_the_same_records_in_the_same_order(box: Sandbox) -> None:
    """Concurrency does not reorder output: batch order, then pair order, then HubSpot's order."""
    settings = tap_config(box.url, associations=PAIRS, batch_size=40, max_workers=8)
    first, second = run_tap_in_process(settings), run_tap_in_process(settings)
    assert first.records() == second.records()


def test_ids_are_listed_at_most_a_bounded_number_of_pages_ahead_of_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing is streamed: it runs ahead of reading (tap_hubassoc.prefetch), but by at most MAX_PAGES_AHEAD
    pages, so memory stays bounded however many objects there are. Here: 30 pages, 5 ahead at most."""
    monkeypatch.setattr(prefetch, "MAX_PAGES_AHEAD", 5)
    store = Store()
    many = [60_000_000_001 + i for i in range(3000)]  # 30 listing pages
    store.add_objects("contacts", many)
    store.add_objects("deals", [70_000_000_001])
    for contact in many:
        store.associate("contacts", contact, "deals", 70_000_000_001)
    with Sandbox(SandboxConfig(rate_limit=10_000), store) as box:
        tap = TapHubAssoc(config=tap_config(box.url, associations=[PAIRS[1]], batch_size=100, max_workers=1,
                                            read_each_pair_once=False))
        try:
            records = iter(tap.streams["associations"].get_records({"from_object_type": "contacts"}))
            first = next(records)
            listed = settled(lambda: box.counters()["requests"]["GET /crm/v3/objects/contacts"])
            records.close()  # type: ignore[attr-defined]
        finally:
            tap.close()
    assert first["from_id"] == str(many[0])
    # pages of the batches in flight (at most 2 x max_workers reads ahead: 3 pages), the 5 queued, 1 in hand
    assert listed <= 3 + 5 + 1


def test_a_per_input_error_other_than_no_associations_fails_the_run(box: Sandbox) -> None:
    """Only NO_ASSOCIATIONS_FOUND means "no rows"; any other 207 error stops the run with HubSpot's message."""
    settings = tap_config(box.url, associations=PAIRS, from_ids={"contacts": ["not-an-id"]})
    tap = TapHubAssoc(config=settings, validate_config=False)  # the tap's own check would refuse the id first
    try:
        with pytest.raises(BatchReadError, match="Invalid object id: 'not-an-id'"), contextlib.redirect_stdout(
                io.StringIO()):
            tap.sync_all()
    finally:
        tap.close()
