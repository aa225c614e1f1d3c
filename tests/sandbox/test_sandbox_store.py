"""The in-memory CRM keeps HubSpot's invariants: two-way associations, primary with unlabeled, one primary."""

from __future__ import annotations

import pytest

from hubassoc.objects import default_types, ordinary_type, parse_object_type
from hubassoc.sandbox.store import FIRST_LABEL_ID, FIRST_SANDBOX_DEFINED_ID, Edge, Store

CONTACT, COMPANY, OTHER_COMPANY = 10_000_000_001, 20_000_000_001, 20_000_000_002


def _types(from_type: str, to_type: str) -> tuple[int, int]:
    """(primary, ordinary) default type ids of a pair, from objects.py."""
    a, b = parse_object_type(from_type), parse_object_type(to_type)
    primary = next(t for t in default_types(a, b) if t.primary)
    ordinary = ordinary_type(a, b)
    assert ordinary is not None
    return primary.type_id, ordinary.type_id


def test_an_association_is_stored_in_both_directions_with_the_inverse_type() -> None:
    """HubSpot associations are two-way: contact->company 279 is also company->contact 280."""
    store = Store()
    _, ordinary = _types("contacts", "companies")
    store.associate("contacts", CONTACT, "companies", COMPANY)
    inverse = store.type_by_id("contacts", "companies", ordinary)
    assert inverse is not None
    assert store.edges("contacts", "companies") == [Edge("contacts", CONTACT, "companies", COMPANY, ordinary)]
    assert store.edges("companies", "contacts") == [
        Edge("companies", COMPANY, "contacts", CONTACT, inverse.inverse_id)]


def test_any_spelling_of_an_object_type_names_the_same_objects() -> None:
    store = Store()
    store.add_objects("Contact", [CONTACT])
    assert store.object_ids("0-1") == store.object_ids("contacts") == [CONTACT]


def test_a_primary_association_always_comes_with_the_unlabeled_one() -> None:
    store = Store()
    primary, ordinary = _types("contacts", "companies")
    store.associate("contacts", CONTACT, "companies", COMPANY, primary)
    assert store.targets("contacts", CONTACT, "companies") == sorted([(COMPANY, primary), (COMPANY, ordinary)])


def test_a_new_primary_company_demotes_the_old_one_to_unlabeled() -> None:
    """An object has one primary company: writing the plain v3 name moves it (HubSpot's writer trap)."""
    store = Store()
    primary, ordinary = _types("contacts", "companies")
    store.associate("contacts", CONTACT, "companies", COMPANY, primary)
    store.associate("contacts", CONTACT, "companies", OTHER_COMPANY, primary)
    assert store.targets("contacts", CONTACT, "companies") == [
        (COMPANY, ordinary), (OTHER_COMPANY, primary), (OTHER_COMPANY, ordinary)]


def test_a_primary_written_from_the_company_side_also_moves_the_contacts_primary() -> None:
    store = Store()
    primary, _ = _types("companies", "contacts")
    contact_primary, _ = _types("contacts", "companies")
    store.associate("companies", COMPANY, "contacts", CONTACT, primary)
    store.associate("companies", OTHER_COMPANY, "contacts", CONTACT, primary)
    primaries = [to_id for to_id, type_id in store.targets("contacts", CONTACT, "companies")
                 if type_id == contact_primary]
    assert primaries == [OTHER_COMPANY]


def test_archive_removes_both_directions_and_reports_absent_ones() -> None:
    store = Store()
    _, ordinary = _types("contacts", "companies")
    store.associate("contacts", CONTACT, "companies", COMPANY)
    assert store.archive("contacts", CONTACT, "companies", COMPANY, ordinary) is True
    assert store.records() == []
    assert store.archive("contacts", CONTACT, "companies", COMPANY, ordinary) is False


def test_a_custom_label_gets_a_user_defined_id_from_500_and_a_v3_name_from_its_text() -> None:
    store = Store()
    type_id, inverse_id = store.add_label("contacts", "companies", "Billing contact", "Billed company")
    assert (type_id, inverse_id) == (FIRST_LABEL_ID, FIRST_LABEL_ID + 1)
    label = store.type_by_id("contacts", "companies", type_id)
    inverse = store.type_by_id("companies", "contacts", inverse_id)
    assert label is not None
    assert inverse is not None
    assert (label.name, label.category, label.label, label.inverse_id) == (
        "billing_contact", "USER_DEFINED", "Billing contact", inverse_id)
    assert (inverse.name, inverse.label) == ("billed_company", "Billed company")


def test_adding_an_existing_label_again_returns_its_ids() -> None:
    store = Store()
    first = store.add_label("contacts", "companies", "Billing contact")
    assert store.add_label("contacts", "companies", "Billing contact") == first


def test_pairs_without_defaults_get_one_sandbox_defined_type_per_direction() -> None:
    """Custom objects (2-n) have no HubSpot-wide default ids: the sandbox numbers them from its own range."""
    store = Store()
    forward = store.ordinary_type("2-123", "contacts")
    backward = store.ordinary_type("contacts", "2-123")
    assert forward.type_id >= FIRST_SANDBOX_DEFINED_ID
    assert (forward.inverse_id, backward.inverse_id) == (backward.type_id, forward.type_id)
    assert (forward.name, forward.category, forward.label) == ("2-123_to_contact", "HUBSPOT_DEFINED", None)


def test_types_list_defaults_with_their_v4_labels() -> None:
    store = Store()
    primary, ordinary = _types("contacts", "companies")
    labels = {t.type_id: (t.category, t.label) for t in store.types("contacts", "companies")}
    assert labels == {primary: ("HUBSPOT_DEFINED", "Primary"), ordinary: ("HUBSPOT_DEFINED", None)}


def test_records_have_the_design_record_shape_in_both_directions() -> None:
    store = Store()
    store.add_label("contacts", "companies", "Billing contact")
    type_id, _ = store.add_label("contacts", "companies", "Billing contact")
    store.associate("contacts", CONTACT, "companies", COMPANY, type_id)
    assert store.records("contacts", "companies") == [{
        "from_object_type": "contacts", "from_id": str(CONTACT), "to_object_type": "companies",
        "to_id": str(COMPANY), "association_type_id": type_id, "association_type": "billing_contact",
        "association_category": "USER_DEFINED", "association_label": "Billing contact",
    }]
    assert [r["from_object_type"] for r in store.records()] == ["companies", "contacts"]


def test_a_type_the_pair_does_not_have_is_refused() -> None:
    store = Store()
    contact_to_deal = store.ordinary_type("contacts", "deals").type_id
    with pytest.raises(ValueError, match="not a contacts->companies association type"):
        store.associate("contacts", CONTACT, "companies", COMPANY, contact_to_deal)


def test_objects_are_paged_by_id_from_a_given_first_id() -> None:
    store = Store()
    store.add_objects("deals", [30, 10, 20, 40])
    assert store.object_page("deals", None, 2) == ([10, 20], 30)
    assert store.object_page("deals", 25, 2) == ([30, 40], None)
