"""Write routes: v3 batch create (200 both directions or 201 input direction, 207 per-input errors) and archive."""

from __future__ import annotations

from hubassoc.sandbox import Sandbox
from tests.support.crm.conformance import CONTACTS, DEAL_WITHOUT_ASSOCIATIONS
from tests.support.sandbox_api import TIMESTAMP, UUID, ApiFactory, Matches, SandboxFactory

CREATE = "/crm/v3/associations/deals/contacts/batch/create"
ARCHIVE = "/crm/v3/associations/deals/contacts/batch/archive"
DEAL, CONTACT = str(DEAL_WITHOUT_ASSOCIATIONS), str(CONTACTS[299])
MISSING = "123"


def _input(from_id: str = DEAL, to_id: str = CONTACT, type_name: str = "deal_to_contact") -> dict[str, object]:
    return {"from": {"id": from_id}, "to": {"id": to_id}, "type": type_name}


def _pairs(box: Sandbox) -> set[tuple[str, str, str]]:
    return {(r["from_id"], r["to_id"], str(r["association_type"])) for r in box.store.records("deals", "contacts")
            if r["from_id"] == DEAL}


def test_create_answers_200_listing_both_directions(crm: SandboxFactory, api: ApiFactory) -> None:
    """Since August 2025 HubSpot answers 200 and lists the inverse of every created association too."""
    box = crm()
    response = api(box).post(CREATE, {"inputs": [_input()]})
    assert response.status_code == 200
    assert response.json() == {
        "status": "COMPLETE",
        "results": [{"from": {"id": DEAL}, "to": {"id": CONTACT}, "type": "deal_to_contact"},
                    {"from": {"id": CONTACT}, "to": {"id": DEAL}, "type": "contact_to_deal"}],
        "startedAt": TIMESTAMP, "completedAt": TIMESTAMP,
    }
    assert _pairs(box) == {(DEAL, CONTACT, "deal_to_contact")}


def test_create_answers_201_in_the_input_direction_when_configured(crm: SandboxFactory, api: ApiFactory) -> None:
    """The OpenAPI description's 201: results in the input direction only."""
    response = api(crm(create_status=201)).post(CREATE, {"inputs": [_input()]})
    assert response.status_code == 201
    assert response.json()["results"] == [{"from": {"id": DEAL}, "to": {"id": CONTACT}, "type": "deal_to_contact"}]


def test_creating_an_existing_association_is_not_an_error(crm: SandboxFactory, api: ApiFactory) -> None:
    caller = api(crm())
    caller.post(CREATE, {"inputs": [_input()]})
    assert caller.post(CREATE, {"inputs": [_input()]}).status_code == 200


def test_an_unknown_object_is_refused_alone_with_a_207_naming_both_ends(crm: SandboxFactory, api: ApiFactory) -> None:
    box = crm()
    response = api(box).post(CREATE, {"inputs": [_input(), _input(to_id=MISSING)]})
    assert response.status_code == 207
    body = response.json()
    assert body["results"] == [{"from": {"id": DEAL}, "to": {"id": CONTACT}, "type": "deal_to_contact"},
                               {"from": {"id": CONTACT}, "to": {"id": DEAL}, "type": "contact_to_deal"}]
    assert body["numErrors"] == 1
    assert body["errors"] == [{
        "status": "error", "category": "VALIDATION_ERROR", "subCategory": "crm.associations.INVALID_OBJECT_IDS",
        "message": f"No contact exists with id {MISSING}.",
        "context": {"fromObjectId": [DEAL], "toObjectId": [MISSING]},
    }]
    assert _pairs(box) == {(DEAL, CONTACT, "deal_to_contact")}


def test_an_unknown_object_with_the_ids_context_shape_names_only_the_offending_id(
    crm: SandboxFactory, api: ApiFactory,
) -> None:
    """HubSpot's context shape varies; clients must cope with a bare ids list too."""
    body = api(crm(error_context="ids")).post(CREATE, {"inputs": [_input(from_id=MISSING)]}).json()
    assert [(e["message"], e["context"]) for e in body["errors"]] == [
        (f"No deal exists with id {MISSING}.", {"ids": [MISSING]})]


def test_a_type_the_pair_does_not_have_is_refused_naming_type_and_pair(crm: SandboxFactory, api: ApiFactory) -> None:
    box = crm()
    body = api(box).post(CREATE, {"inputs": [_input(type_name="contact_to_company")]}).json()
    assert body["errors"] == [{
        "status": "error", "category": "VALIDATION_ERROR",
        "subCategory": "crm.associations.INVALID_ASSOCIATION_TYPE",
        "message": Matches(r"'contact_to_company' is not a valid association type from deal to contact\."),
        "context": {"fromObjectId": [DEAL], "toObjectId": [CONTACT], "type": ["contact_to_company"]},
    }]
    assert _pairs(box) == set()


def test_a_wrong_type_with_the_ids_context_shape_names_both_ids(crm: SandboxFactory, api: ApiFactory) -> None:
    body = api(crm(error_context="ids")).post(CREATE, {"inputs": [_input(type_name="nope")]}).json()
    assert body["errors"][0]["context"] == {"ids": [DEAL, CONTACT]}


def test_create_over_2000_inputs_is_a_validation_error(crm: SandboxFactory, api: ApiFactory) -> None:
    box = crm()
    response = api(box).post(CREATE, {"inputs": [_input()] * 2001})
    assert response.status_code == 400
    assert response.json()["correlationId"] == UUID
    assert _pairs(box) == set()


def test_archive_answers_204_with_an_empty_body_and_removes_both_directions(
    crm: SandboxFactory, api: ApiFactory,
) -> None:
    box = crm()
    caller = api(box)
    caller.post(CREATE, {"inputs": [_input()]})
    response = caller.post(ARCHIVE, {"inputs": [_input()]})
    assert (response.status_code, response.content) == (204, b"")
    assert _pairs(box) == set()
    assert [r for r in box.store.records("contacts", "deals") if r["to_id"] == DEAL] == []


def test_archiving_what_does_not_exist_is_not_an_error(crm: SandboxFactory, api: ApiFactory) -> None:
    inputs = [_input(), _input(from_id=MISSING), _input(type_name="nope"), _input(to_id="abc")]
    assert api(crm()).post(ARCHIVE, {"inputs": inputs}).status_code == 204


def test_archive_over_2000_inputs_is_a_validation_error(crm: SandboxFactory, api: ApiFactory) -> None:
    assert api(crm()).post(ARCHIVE, {"inputs": [_input()] * 2001}).status_code == 400


def test_a_body_without_inputs_is_a_validation_error(crm: SandboxFactory, api: ApiFactory) -> None:
    response = api(crm()).post(CREATE, {"input": []})
    assert (response.status_code, response.json()["category"]) == (400, "VALIDATION_ERROR")
