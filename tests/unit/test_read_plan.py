"""The read plan's rules (tap_hubassoc.plan) and type pairing (hubassoc.types), without HTTP."""

from __future__ import annotations

import pytest

from hubassoc.objects import parse_object_type
from hubassoc.objects_api import IdPage
from hubassoc.types import UnpairedTypesError
from hubassoc.types_v3 import V3PairTypes
from hubassoc.types_v4 import V4PairTypes
from tap_hubassoc.batches import listed_batches
from tap_hubassoc.plan import PlanInputs, SideRules, build_plan, unordered_pairs
from tap_hubassoc.settings import Pair

CONTACTS, COMPANIES, DEALS = (parse_object_type(n) for n in ("contacts", "companies", "deals"))
CUSTOM = parse_object_type("2-123456")


def both_ways(a: object, b: object) -> list[Pair]:
    x, y = parse_object_type(a), parse_object_type(b)
    return [Pair(x, y), Pair(y, x)]


def test_in_v3_a_pair_with_companies_is_read_from_the_companies_side() -> None:
    [pair] = unordered_pairs([Pair(CONTACTS, COMPANIES)])
    choice = SideRules(frozenset(), v3=True).decided(pair)
    assert choice is not None
    assert choice.side == COMPANIES


def test_from_ids_pin_the_side_before_the_v3_rule() -> None:
    [pair] = unordered_pairs(both_ways("contacts", "companies"))
    choice = SideRules(frozenset({CONTACTS}), v3=True).decided(pair)
    assert choice is not None
    assert choice.side == CONTACTS


def test_from_ids_on_both_types_read_each_direction_from_its_own_ids() -> None:
    [pair] = unordered_pairs(both_ways("contacts", "deals"))
    choice = SideRules(frozenset({CONTACTS, DEALS}), v3=False).decided(pair)
    assert choice is not None
    assert choice.side is None


def test_otherwise_the_side_with_fewer_objects_ties_to_the_configured_from_type() -> None:
    [pair] = unordered_pairs([Pair(DEALS, CONTACTS)])
    rules = SideRules(frozenset(), v3=False)
    assert rules.decided(pair) is None
    assert rules.by_size(pair, {CONTACTS: 10, DEALS: 50}).side == CONTACTS
    assert rules.by_size(pair, {CONTACTS: 50, DEALS: 50}).side == DEALS
    assert rules.by_size(pair, {CONTACTS: 10, DEALS: None}).side == DEALS


def test_a_pair_of_one_type_is_one_read() -> None:
    [pair] = unordered_pairs([Pair(COMPANIES, COMPANIES)])
    choice = SideRules(frozenset(), v3=False).decided(pair)
    assert choice is not None
    plan = build_plan([choice], lambda read, emitted: pytest.fail("one type needs no pairing"))
    assert [(r.pair, r.emits_read, r.inversion) for r in plan.reads] == [(Pair(COMPANIES, COMPANIES), True, None)]


def test_the_read_direction_is_emitted_as_read_and_the_other_inverted() -> None:
    [pair] = unordered_pairs(both_ways("contacts", "companies"))
    forward = V4PairTypes(COMPANIES, CONTACTS, [(2, "HUBSPOT_DEFINED", "Primary"), (280, "HUBSPOT_DEFINED", None)])
    backward = V4PairTypes(CONTACTS, COMPANIES, [(1, "HUBSPOT_DEFINED", "Primary"), (279, "HUBSPOT_DEFINED", None)])
    choice = SideRules(frozenset(), v3=True).decided(pair)
    assert choice is not None
    [read] = build_plan([choice], lambda r, e: forward.inverses_in(backward)).reads
    record = {"from_object_type": "companies", "from_id": "7", "to_object_type": "contacts", "to_id": "5",
              "association_type_id": 280, "association_type": "company_to_contact_unlabeled",
              "association_category": "HUBSPOT_DEFINED", "association_label": None}
    assert read.records([record]) == [record, {
        "from_object_type": "contacts", "from_id": "5", "to_object_type": "companies", "to_id": "7",
        "association_type_id": 279, "association_type": "contact_to_company_unlabeled",
        "association_category": "HUBSPOT_DEFINED", "association_label": None}]


def test_a_one_way_pair_read_from_the_other_side_emits_only_the_inverted_direction() -> None:
    [pair] = unordered_pairs([Pair(CONTACTS, COMPANIES)])
    forward = V3PairTypes(COMPANIES, CONTACTS, [(2, "company_to_contact"), (280, "company_to_contact_unlabeled")])
    backward = V3PairTypes(CONTACTS, COMPANIES, [(1, "contact_to_company"), (279, "contact_to_company_unlabeled")])
    choice = SideRules(frozenset(), v3=True).decided(pair)
    assert choice is not None
    [read] = build_plan([choice], lambda r, e: forward.inverses_in(backward)).reads
    assert read.pair == Pair(COMPANIES, CONTACTS)
    assert read.emits == [Pair(CONTACTS, COMPANIES)]


def test_an_unpaired_label_is_its_own_inverse_by_category_and_label() -> None:
    forward = V4PairTypes(DEALS, CONTACTS, [(3, "HUBSPOT_DEFINED", None), (501, "USER_DEFINED", "Decision maker")])
    backward = V4PairTypes(CONTACTS, DEALS, [(4, "HUBSPOT_DEFINED", None), (502, "USER_DEFINED", "Decision maker")])
    assert {i: t.type_id for i, t in forward.inverses_in(backward).items()} == {3: 4, 501: 502}


def test_a_paired_label_has_no_inverse_and_the_pair_falls_back_to_both_sides() -> None:
    forward = V4PairTypes(CONTACTS, COMPANIES, [(279, "HUBSPOT_DEFINED", None), (501, "USER_DEFINED", "Billing")])
    backward = V4PairTypes(COMPANIES, CONTACTS, [(280, "HUBSPOT_DEFINED", None), (502, "USER_DEFINED", "Billed co")])
    with pytest.raises(UnpairedTypesError, match="501 \\(Billing\\) has no single inverse"):
        forward.inverses_in(backward)
    [pair] = unordered_pairs(both_ways("contacts", "companies"))
    choice = SideRules(frozenset(), v3=False).by_size(pair, {CONTACTS: 5, COMPANIES: 1})
    plan = build_plan([choice], lambda r, e: backward.inverses_in(forward))
    assert [r.pair for r in plan.reads] == both_ways("contacts", "companies")
    assert plan.choices[0].side is None
    assert "no single inverse" in plan.choices[0].why


def test_a_custom_objects_unlabeled_types_pair_in_v4_and_in_v3() -> None:
    v4 = V4PairTypes(CUSTOM, CONTACTS, [(90, "HUBSPOT_DEFINED", None)])
    v4_back = V4PairTypes(CONTACTS, CUSTOM, [(91, "HUBSPOT_DEFINED", None)])
    assert v4.inverses_in(v4_back)[90].type_id == 91
    v3 = V3PairTypes(CUSTOM, CONTACTS, [(90, "2-123456_to_contact")])
    v3_back = V3PairTypes(CONTACTS, CUSTOM, [(91, "contact_to_2-123456")])
    assert v3.inverses_in(v3_back)[90].type_id == 91


def test_a_saved_plan_is_kept_only_for_the_same_pairs_ids_and_api() -> None:
    inputs = PlanInputs(["contacts->companies"], {}, "v3")
    saved = inputs.to_state({"contacts<->companies": "companies"})
    assert inputs.saved_sides(saved) == ({"contacts<->companies": "companies"}, None)
    sides, reason = PlanInputs(["contacts->companies"], {}, "labelled").saved_sides(saved)
    assert sides is None
    assert reason == "api_version changed since the interrupted run: planning afresh"
    assert inputs.saved_sides(None) == (None, None)


def test_with_the_listings_size_known_its_last_batch_goes_in_halves() -> None:
    """The reads of the last ids overlap the listing's last pages; the run's tail is half a batch."""
    pages = [IdPage(None if p == 0 else str(p), [str(100 * p + i) for i in range(100)], str(p + 1) if p < 29 else None)
             for p in range(30)]
    sizes = [len(b.ids) for b in listed_batches(pages, 1000, total=3000)]
    assert sizes == [1000, 1000, 500, 500]
    assert [len(b.ids) for b in listed_batches(pages, 1000)] == [1000, 1000, 1000]
