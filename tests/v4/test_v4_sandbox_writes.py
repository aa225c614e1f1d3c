"""The sandbox's v4 and 2026-03 write routes change the store as hubspot-associations-api.md describes.

Each test asserts the store exactly, in both directions (associations are two-way), on both prefixes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.crm import PRIMARY, UNLABELED
from tests.support.crm.labelled import BILLING, COMPANIES, CONTACTS
from tests.support.sandbox_api import TOKEN, Api, ApiFactory
from tests.support.versions import LABELLED, PREFIXES

pytestmark = pytest.mark.parametrize("version", LABELLED)
Crm = Callable[..., Sandbox]
CONTACT, COMPANY, OTHER = CONTACTS[5], COMPANIES[5], COMPANIES[6]
MISSING = 99_999_999_999


def post(caller: Api, version: str, tail: str, inputs: list[dict[str, Any]]) -> Any:
    return caller.post(f"{PREFIXES[version]}/contacts/companies/{tail}", {"inputs": inputs})


def typed(to_id: int, *types: tuple[str, int], from_id: int = CONTACT) -> dict[str, Any]:
    return {"from": {"id": str(from_id)}, "to": {"id": str(to_id)},
            "types": [{"associationCategory": c, "associationTypeId": i} for c, i in types]}


def pair(to_id: int, from_id: int = CONTACT) -> dict[str, Any]:
    return {"from": {"id": str(from_id)}, "to": {"id": str(to_id)}}


def between(box: Sandbox) -> set[tuple[int, int]]:
    """(company, type id) of every contact->company association of CONTACT."""
    return set(box.store.targets("contacts", CONTACT, "companies"))


def test_creating_a_user_defined_label_returns_the_type_ids_of_both_directions_and_lists_them(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    """POST .../labels {"label", "name"} -> {"results": [{"category", "typeId", "label"}]}: the label and its
    inverse (the same label, seen from companies); the v3 types endpoint shows the name given."""
    box = crm(associations=False)
    caller = api(box)
    reply = caller.post(f"{PREFIXES[version]}/contacts/companies/labels", {"label": "Site owner", "name": "owner"})
    assert reply.status_code == 200
    forward, inverse = reply.json()["results"]
    assert forward == {"category": "USER_DEFINED", "typeId": forward["typeId"], "label": "Site owner"}
    assert inverse == {"category": "USER_DEFINED", "typeId": inverse["typeId"], "label": "Site owner"}
    assert forward["typeId"] != inverse["typeId"]
    assert forward in caller.get(f"{PREFIXES[version]}/contacts/companies/labels").json()["results"]
    assert inverse in caller.get(f"{PREFIXES[version]}/companies/contacts/labels").json()["results"]
    v3_types = caller.get("/crm/v3/associations/contacts/companies/types").json()["results"]
    assert {"id": str(forward["typeId"]), "name": "owner"} in v3_types


def test_a_label_without_a_name_is_refused(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm(associations=False)
    reply = api(box).post(f"{PREFIXES[version]}/contacts/companies/labels", {"label": "Site owner"})
    assert reply.status_code == 400
    assert reply.json()["category"] == "VALIDATION_ERROR"


def test_batch_create_adds_each_named_type_and_answers_201(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm(associations=False)
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    reply = post(api(box), version, "batch/create",
                 [typed(COMPANY, ("HUBSPOT_DEFINED", UNLABELED), ("USER_DEFINED", billing))])
    assert reply.status_code == 201
    assert reply.json()["results"] == [{"fromObjectTypeId": "0-1", "fromObjectId": CONTACT,
                                        "toObjectTypeId": "0-2", "toObjectId": COMPANY, "labels": [BILLING]}]
    assert between(box) == {(COMPANY, UNLABELED), (COMPANY, billing)}
    assert len(box.store.records()) == 4


def test_creating_the_primary_type_moves_the_primary_company(crm: Crm, api: ApiFactory, version: str) -> None:
    """Primary comes with the unlabeled type; the previous primary company stays associated, unlabeled."""
    box = crm(associations=False)
    caller = api(box)
    post(caller, version, "batch/create", [typed(COMPANY, ("HUBSPOT_DEFINED", PRIMARY))])
    post(caller, version, "batch/create", [typed(OTHER, ("HUBSPOT_DEFINED", PRIMARY))])
    assert between(box) == {(COMPANY, UNLABELED), (OTHER, PRIMARY), (OTHER, UNLABELED)}


def test_inputs_with_a_missing_object_or_a_wrong_type_are_refused_alone_in_a_207(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    """207 numErrors/errors, the same shape as v3; a category other than the type's own is a wrong type."""
    box = crm(associations=False)
    reply = post(api(box), version, "batch/create", [
        typed(COMPANY, ("HUBSPOT_DEFINED", UNLABELED)),
        typed(MISSING, ("HUBSPOT_DEFINED", UNLABELED)),
        typed(OTHER, ("HUBSPOT_DEFINED", 4)),  # contact->deal's type
        typed(OTHER, ("USER_DEFINED", UNLABELED)),
    ])
    body = reply.json()
    assert reply.status_code == 207
    assert body["numErrors"] == 3
    assert [e["subCategory"] for e in body["errors"]] == [
        "crm.associations.INVALID_OBJECT_IDS", "crm.associations.INVALID_ASSOCIATION_TYPE",
        "crm.associations.INVALID_ASSOCIATION_TYPE"]
    assert [e["context"]["toObjectId"] for e in body["errors"]] == [[str(MISSING)], [str(OTHER)], [str(OTHER)]]
    assert between(box) == {(COMPANY, UNLABELED)}


def test_associate_default_creates_the_unlabeled_type_never_the_primary_one(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    box = crm(associations=False)
    reply = post(api(box), version, "batch/associate/default", [pair(COMPANY)])
    assert reply.status_code == 200
    assert reply.json()["results"] == [
        {"from": {"id": str(CONTACT)}, "to": {"id": str(COMPANY)},
         "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": UNLABELED}},
        {"from": {"id": str(COMPANY)}, "to": {"id": str(CONTACT)},
         "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 280}},
    ]
    assert between(box) == {(COMPANY, UNLABELED)}


def test_labels_archive_removes_only_the_named_type(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm(associations=False)
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    box.store.associate("contacts", CONTACT, "companies", COMPANY)
    box.store.associate("contacts", CONTACT, "companies", COMPANY, billing)
    reply = post(api(box), version, "batch/labels/archive", [typed(COMPANY, ("USER_DEFINED", billing))])
    assert (reply.status_code, reply.content) == (204, b"")
    assert between(box) == {(COMPANY, UNLABELED)}
    assert len(box.store.records()) == 2


def test_batch_archive_removes_every_type_between_the_two_objects(crm: Crm, api: ApiFactory, version: str) -> None:
    """batch/archive {"inputs": [{"from": {"id"}, "to": [{"id"}]}]} "removes every type between the pair"."""
    box = crm(associations=False)
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    box.store.associate("contacts", CONTACT, "companies", COMPANY, PRIMARY)
    box.store.associate("contacts", CONTACT, "companies", COMPANY, billing)
    box.store.associate("contacts", CONTACT, "companies", OTHER)
    reply = api(box).post(f"{PREFIXES[version]}/contacts/companies/batch/archive",
                          {"inputs": [{"from": {"id": str(CONTACT)}, "to": [{"id": str(COMPANY)}]}]})
    assert (reply.status_code, reply.content) == (204, b"")
    assert between(box) == {(OTHER, UNLABELED)}
    assert len(box.store.records()) == 2


def test_archiving_what_does_not_exist_is_not_an_error(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm(associations=False)
    caller = api(box)
    statuses = [
        post(caller, version, "batch/labels/archive", [typed(COMPANY, ("HUBSPOT_DEFINED", UNLABELED))]).status_code,
        caller.post(f"{PREFIXES[version]}/contacts/companies/batch/archive",
                    {"inputs": [{"from": {"id": str(CONTACT)}, "to": [{"id": str(MISSING)}]}]}).status_code,
    ]
    assert statuses == [204, 204]


def test_more_than_2000_write_inputs_are_refused(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm(associations=False)
    caller = api(box)
    inputs = [pair(COMPANY)] * 2001
    for tail in ("batch/create", "batch/associate/default", "batch/labels/archive", "batch/archive"):
        assert post(caller, version, tail, inputs).status_code == 400
    assert box.store.records() == []


def test_writes_need_the_write_scope_of_the_from_type(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm(associations=False, token_scopes={TOKEN: ["crm.objects.contacts.read"]})
    reply = post(api(box), version, "batch/associate/default", [pair(COMPANY)])
    assert reply.status_code == 403
    assert reply.json()["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
    assert box.store.records() == []
