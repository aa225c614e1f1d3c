"""Each pair is read once, from one side, and every configured direction is emitted from that read.

Specification: the output equals the union of reading each configured direction from its own side, except that
in v3 toward companies it is the complete set (the companies side shows every association). Expected values
come from the sandbox's store, never from the tap's code.
"""

from __future__ import annotations

import math
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hubassoc.objects import default_types, parse_object_type
from hubassoc.sandbox import SeedSpec, Store, seed_store
from tap_hubassoc.settings import DEFAULT_PAIRS
from tests.support.crm import contacts_and_deals, labelled, v3_records
from tests.support.runners import kill_after_batches, partition, run_tap_cli, run_tap_in_process, tap_config
from tests.support.sandbox_api import SandboxFactory
from tests.support.singer import row

CUSTOM = "2-123456"


def v3_complete(store: Store, from_type: str, to_type: str) -> list[dict[str, Any]]:
    """Every association of a pair as v3 names it: no label, and no category for a custom object's pair."""
    known = bool(default_types(parse_object_type(from_type), parse_object_type(to_type)))
    return [{**r, "association_label": None, "association_category": r["association_category"] if known else None}
            for r in store.records(from_type, to_type)]


def v4_view(store: Store, from_type: str, to_type: str) -> list[dict[str, Any]]:
    """What v4 shows of a pair; a v3 name only where HubSpot's own list defines it (not a custom object's)."""
    known = bool(default_types(parse_object_type(from_type), parse_object_type(to_type)))
    return [r if known else {**r, "association_type": None} for r in labelled.v4_expected(store, from_type, to_type)]


def expected(store: Store, pairs: list[tuple[str, str]], api_version: str) -> Counter[tuple[Any, ...]]:
    oracle = v3_complete if api_version == "v3" else v4_view
    return Counter(row(r) for a, b in pairs for r in oracle(store, a, b))


def emitted(records: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(row(r) for r in records)


def listings(requests: dict[str, int]) -> set[str]:
    """The object types whose ids were listed."""
    return {key.rsplit("/", 1)[1] for key in requests if key.startswith("GET /crm/v3/objects/") and key.count("/") == 4}


def configured(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"from": a, "to": b} for a, b in pairs]


def seeded() -> Store:
    store = Store()
    seed_store(store, SeedSpec(contacts=300, companies=60, deals=90, tickets=40, random_seed=7))
    return store


@pytest.mark.parametrize("api_version", ["v3", "v4"])
def test_default_pairs_are_every_association_of_each_direction_each_once(
    sandbox: SandboxFactory, api_version: str,
) -> None:
    """Twelve directions from six reads; the contacts, the largest type, are never listed; the rest once each."""
    store = seeded()
    box = sandbox(store=store, rate_limit=10_000)
    run = run_tap_in_process(tap_config(box.url, api_version=api_version))
    pairs = [(p["from"], p["to"]) for p in DEFAULT_PAIRS]
    assert emitted(run.records()) == expected(store, pairs, api_version)
    requests = box.counters()["requests"]
    assert listings(requests) == {"companies", "deals", "tickets"}
    for kind in listings(requests):
        assert requests[f"GET /crm/v3/objects/{kind}"] == math.ceil(len(store.object_ids(kind)) / 100)


@pytest.mark.parametrize("api_version", ["v3", "v4"])
def test_a_custom_object_with_a_label_is_read_from_its_smaller_side(sandbox: SandboxFactory, api_version: str) -> None:
    store = Store()
    store.add_objects("contacts", range(1001, 1101))
    store.add_objects(CUSTOM, range(5001, 5021))
    owner, _ = store.add_label(CUSTOM, "contacts", "Owner")
    for i, contact in enumerate(range(1001, 1101)):
        store.associate("contacts", contact, CUSTOM, 5001 + i % 20)
        if i % 3 == 0:
            store.associate(CUSTOM, 5001 + (i + 1) % 20, "contacts", contact, owner)
    box = sandbox(store=store, rate_limit=10_000)
    pairs = [("contacts", CUSTOM), (CUSTOM, "contacts")]
    run = run_tap_in_process(tap_config(box.url, api_version=api_version, associations=configured(pairs)))
    assert emitted(run.records()) == expected(store, pairs, api_version)
    assert listings(box.counters()["requests"]) == {CUSTOM}


@pytest.mark.parametrize("api_version", ["v3", "v4"])
def test_contacts_to_companies_alone_is_read_from_the_companies_side_and_complete(
    sandbox: SandboxFactory, api_version: str,
) -> None:
    store = seeded()
    box = sandbox(store=store, rate_limit=10_000)
    pairs = [("contacts", "companies")]
    run = run_tap_in_process(tap_config(box.url, api_version=api_version, associations=configured(pairs)))
    assert emitted(run.records()) == expected(store, pairs, api_version)
    assert listings(box.counters()["requests"]) == {"companies"}
    if api_version == "v3":  # more than v3 shows from the contacts side: every company, not only the primary
        assert len(run.records()) > len(v3_records(store, "contacts", "companies"))


def test_a_one_way_pair_is_read_from_its_smaller_side(sandbox: SandboxFactory) -> None:
    store = contacts_and_deals(list(range(101, 131)), list(range(201, 301)))
    box = sandbox(store=store, rate_limit=10_000)
    pairs = [("deals", "contacts")]
    run = run_tap_in_process(tap_config(box.url, associations=configured(pairs)))
    assert emitted(run.records()) == expected(store, pairs, "v3")
    assert listings(box.counters()["requests"]) == {"contacts"}


def test_a_pair_of_one_type_is_one_read_holding_both_ends(sandbox: SandboxFactory) -> None:
    store = Store()
    store.add_objects("companies", range(1, 31))
    parent = next(t for t in store.types("companies", "companies") if t.name == "parent_to_child_company")
    for child in range(2, 31):
        store.associate("companies", 1 + child // 10, "companies", child, parent.type_id)
    box = sandbox(store=store, rate_limit=10_000)
    run = run_tap_in_process(tap_config(box.url, associations=configured([("companies", "companies")])))
    assert emitted(run.records()) == expected(store, [("companies", "companies")], "v3")
    assert box.counters()["requests"]["POST /crm/v3/associations/companies/companies/batch/read"] == 1


def test_a_paired_label_falls_back_to_reading_both_sides_and_says_why(sandbox: SandboxFactory, tmp_path: Path) -> None:
    store = labelled.build_crm()
    box = sandbox(store=store, rate_limit=10_000)
    pairs = [("contacts", "companies"), ("companies", "contacts")]
    run = run_tap_cli(tmp_path, tap_config(box.url, api_version="v4", associations=configured(pairs)))
    assert run.returncode == 0, run.stderr
    assert emitted(run.records()) == expected(store, pairs, "v4")
    assert listings(box.counters()["requests"]) == {"contacts", "companies"}
    [line] = [x for x in run.stderr.splitlines() if "read plan: contacts<->companies" in x]
    assert "both sides" in line
    assert f"({labelled.BILLING}) has no single inverse" in line


def test_from_ids_pin_the_side_and_both_directions_hold_those_objects_associations(sandbox: SandboxFactory) -> None:
    store = seeded()
    box = sandbox(store=store, rate_limit=10_000)
    contacts = [str(i) for i in store.object_ids("contacts")[:40]]
    pairs = [("contacts", "companies"), ("companies", "contacts")]
    config = tap_config(box.url, api_version="v4", associations=configured(pairs), from_ids={"contacts": contacts})
    run = run_tap_in_process(config)
    want = Counter(row(r) for r in labelled.v4_expected(store, "contacts", "companies") if r["from_id"] in contacts)
    want += Counter(row(r) for r in labelled.v4_expected(store, "companies", "contacts") if r["to_id"] in contacts)
    assert emitted(run.records()) == want
    requests = box.counters()["requests"]
    assert listings(requests) == set()
    assert "POST /crm/v4/associations/companies/contacts/batch/read" not in requests


def test_records_come_out_in_the_same_order_every_run(sandbox: SandboxFactory) -> None:
    box = sandbox(store=seeded(), rate_limit=10_000)
    config = tap_config(box.url, api_version="v4")
    assert run_tap_in_process(config).records() == run_tap_in_process(config).records()


BATCH = 50
CONTACTS = [12_000_000_001 + 3 * i for i in range(400)]  # 8 batches
DEALS = [22_000_000_001 + i for i in range(800)]  # more deals than contacts: the contacts side is read
BOTH_WAYS = configured([("contacts", "deals"), ("deals", "contacts")])


def test_a_killed_run_resumed_keeps_its_plan_though_the_counts_changed(sandbox: SandboxFactory, tmp_path: Path) -> None:
    """After the kill the contacts outnumber the deals; the resumed run still reads the contacts side."""
    store = contacts_and_deals(CONTACTS, DEALS)
    box = sandbox(store=store, rate_limit=10_000, latency_ms=20)
    config = tap_config(box.url, batch_size=BATCH, associations=BOTH_WAYS)
    killed = kill_after_batches(tmp_path, config, "contacts", 3)
    assert killed.returncode == -signal.SIGKILL
    saved = killed.states()[-1]
    assert "skip" in partition(saved, "contacts")
    store.add_objects("contacts", range(90_000_000_001, 90_000_001_001))  # now 1,400 contacts, 800 deals

    rerun = run_tap_cli(tmp_path, config, state=saved)
    assert rerun.returncode == 0, rerun.stderr
    assert "kept from the interrupted run" in rerun.stderr
    assert "GET /crm/v3/objects/deals" not in box.counters()["requests"]
    got = {row(r) for r in killed.records()} | {row(r) for r in rerun.records()}
    assert got == set(expected(store, [("contacts", "deals"), ("deals", "contacts")], "v3"))
    repeated = {r["from_id"] for r in killed.records()} & {r["from_id"] for r in rerun.records()}
    assert len(repeated & {str(c) for c in CONTACTS}) <= BATCH
    versions = {m.get("version") for run in (killed, rerun) for m in run.messages
                if m["type"] == "RECORD" and m["stream"] == "associations"}
    activated = [m["version"] for m in rerun.messages
                 if m["type"] == "ACTIVATE_VERSION" and m["stream"] == "associations"]
    assert [*versions] == activated  # the resumed run keeps the interrupted run's table version, then activates it


def test_a_changed_configuration_replans_and_says_why(sandbox: SandboxFactory, tmp_path: Path) -> None:
    box = sandbox(store=contacts_and_deals(CONTACTS, DEALS), rate_limit=10_000, latency_ms=20)
    config = tap_config(box.url, batch_size=BATCH, associations=BOTH_WAYS)
    killed = kill_after_batches(tmp_path, config, "contacts", 2)
    rerun = run_tap_cli(tmp_path, {**config, "api_version": "v4"}, state=killed.states()[-1])
    assert rerun.returncode == 0, rerun.stderr
    assert "api_version changed since the interrupted run: planning afresh" in rerun.stderr


def test_with_read_each_pair_once_off_each_direction_is_read_from_its_own_side(sandbox: SandboxFactory) -> None:
    store = seeded()
    box = sandbox(store=store, rate_limit=10_000)
    pairs = [("contacts", "companies"), ("companies", "contacts")]
    run = run_tap_in_process(tap_config(box.url, associations=configured(pairs), read_each_pair_once=False))
    want = Counter(row(r) for a, b in pairs for r in v3_records(store, a, b))
    assert emitted(run.records()) == want
    assert listings(box.counters()["requests"]) == {"contacts", "companies"}
