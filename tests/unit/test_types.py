"""Resolving a pair's types: by id, by v3 name, or to the ordinary type, never the primary one."""

from __future__ import annotations

import pytest

from hubassoc.objects import parse_object_type
from hubassoc.types import UnknownAssociationTypeError
from hubassoc.types_v3 import V3PairTypes

CONTACTS, COMPANIES = parse_object_type("contacts"), parse_object_type("companies")
CUSTOM = parse_object_type("2-123456")


def contact_company_types() -> V3PairTypes:
    listed = [(1, "contact_to_company"), (279, "contact_to_company_unlabeled"), (500, "billing_contact")]
    return V3PairTypes(CONTACTS, COMPANIES, listed)


def test_ordinary_type_is_the_unlabeled_one_not_the_primary() -> None:
    """Creating with id 1 would make the company the contact's primary company: a known trap."""
    assert contact_company_types().ordinary().type_id == 279


def test_default_ids_are_hubspot_defined_and_others_are_labels() -> None:
    types = contact_company_types()
    assert [t.category for t in types.types] == ["HUBSPOT_DEFINED", "HUBSPOT_DEFINED", "USER_DEFINED"]


def test_names_resolve_in_any_case_and_ids_exactly() -> None:
    types = contact_company_types()
    assert types.by_name("Billing_Contact").type_id == 500
    assert types.by_id(1).name == "contact_to_company"


def test_unknown_type_lists_what_the_pair_has() -> None:
    with pytest.raises(UnknownAssociationTypeError, match=r"279 \(contact_to_company_unlabeled\)"):
        contact_company_types().by_id(28)


def test_custom_object_pair_has_unknown_category_and_its_single_type_is_ordinary() -> None:
    """v3 does not say which custom-object types HubSpot defines: null, not a guess."""
    types = V3PairTypes(CONTACTS, CUSTOM, [(100_000, "contact_to_2-123456")])
    assert types.types[0].category is None
    assert types.ordinary().type_id == 100_000


def test_custom_object_pair_with_several_types_needs_an_explicit_type() -> None:
    types = V3PairTypes(CONTACTS, CUSTOM, [(100_000, "contact_to_2-123456"), (501, "sponsor")])
    with pytest.raises(UnknownAssociationTypeError, match="association_type_id"):
        types.ordinary()
