"""Seeded CRMs are reproducible and have the shape that exercises clients: big ids, >100, none, primaries."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from hubassoc.sandbox import SeedSpec, Store, preset, seed_store


def _seeded(spec: SeedSpec) -> Store:
    store = Store()
    seed_store(store, spec)
    return store


@pytest.fixture(scope="module")
def demo() -> Store:
    return _seeded(preset("demo"))


def test_the_same_spec_seeds_the_same_crm() -> None:
    assert _seeded(preset("demo")).records() == _seeded(preset("demo")).records()


def test_another_random_seed_seeds_another_crm(demo: Store) -> None:
    assert _seeded(dataclasses.replace(preset("demo"), random_seed=7)).records() != demo.records()


def test_ids_exceed_32_bits(demo: Store) -> None:
    """HubSpot ids do not fit 32 bits: a client that truncates them must fail visibly."""
    assert min(min(demo.object_ids(t)) for t in ("contacts", "companies", "deals", "tickets")) > 2**32


def test_demo_has_the_documented_counts(demo: Store) -> None:
    counts = {t: len(demo.object_ids(t)) for t in ("contacts", "companies", "deals", "tickets")}
    assert counts == {"contacts": 200, "companies": 40, "deals": 60, "tickets": 30}


def test_demo_has_objects_with_more_than_100_associations(demo: Store) -> None:
    per_company = Counter(e.from_id for e in demo.edges("companies", "contacts"))
    assert any(count > 100 for count in per_company.values())


def test_demo_has_objects_without_any_association(demo: Store) -> None:
    associated = {int(r["from_id"]) for r in demo.records("contacts")}
    assert set(demo.object_ids("contacts")) - associated


def test_most_contacts_have_a_primary_company(demo: Store) -> None:
    primary = demo.primary_type("contacts", "companies")
    assert primary is not None
    with_primary = {e.from_id for e in demo.edges("contacts", "companies") if e.type_id == primary.type_id}
    assert len(with_primary) > 0.8 * len(demo.object_ids("contacts"))


def test_demo_carries_the_billing_contact_label(demo: Store) -> None:
    assert any(r["association_label"] == "Billing contact" for r in demo.records("contacts", "companies"))


def test_the_empty_preset_has_no_objects() -> None:
    store = _seeded(preset("empty"))
    assert store.object_ids("contacts") == []
    assert store.records() == []


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="demo, empty"):
        preset("huge")
