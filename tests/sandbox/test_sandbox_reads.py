"""Read routes answer exactly as HubSpot documents, quirks included (hubspot-associations-api.md)."""

from __future__ import annotations

from collections.abc import Callable

from hubassoc.sandbox import Sandbox
from tests.support.crm.conformance import (
    COMPANIES,
    CONTACT_WITH_PRIMARY,
    CONTACT_WITHOUT_PRIMARY,
    CONTACTS,
    DEAL_WITH_250_CONTACTS,
    DEAL_WITH_PRIMARY,
    DEAL_WITHOUT_ASSOCIATIONS,
)
from tests.support.sandbox_api import TIMESTAMP, UUID, ApiFactory, Matches

READ = "/crm/v3/associations/deals/contacts/batch/read"
BatchSandbox = Callable[..., Sandbox]


# -- GET /crm/v3/objects/{type} --------------------------------------------------------------------------------


def test_objects_list_ten_by_default_ids_ascending_with_a_paging_cursor(crm: BatchSandbox, api: ApiFactory) -> None:
    box = crm()
    response = api(box).get("/crm/v3/objects/contacts")
    body = response.json()
    assert response.status_code == 200
    assert [r["id"] for r in body["results"]] == [str(i) for i in CONTACTS[:10]]
    assert body["results"][0] == {
        "id": str(CONTACTS[0]), "properties": {"hs_object_id": str(CONTACTS[0])},
        "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP, "archived": False,
    }
    assert body["paging"] == {"next": {
        "after": str(CONTACTS[10]),
        "link": f"{box.url}/crm/v3/objects/contacts?after={CONTACTS[10]}&limit=10",
    }}


def test_objects_after_is_the_id_the_next_page_starts_at(crm: BatchSandbox, api: ApiFactory) -> None:
    body = api(crm()).get("/crm/v3/objects/contacts", limit=100, after=CONTACTS[100]).json()
    assert [r["id"] for r in body["results"]] == [str(i) for i in CONTACTS[100:200]]
    assert body["paging"]["next"]["after"] == str(CONTACTS[200])


def test_objects_last_page_has_no_paging(crm: BatchSandbox, api: ApiFactory) -> None:
    body = api(crm()).get("/crm/v3/objects/contacts", limit=100, after=CONTACTS[200]).json()
    assert len(body["results"]) == 100
    assert "paging" not in body


def test_objects_limit_above_100_is_a_validation_error(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).get("/crm/v3/objects/contacts", limit=101)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


# -- POST /crm/v3/objects/{type}/search ------------------------------------------------------------------------


SEARCH = "/crm/v3/objects/contacts/search"


def test_search_tells_the_total_the_listing_does_not(crm: BatchSandbox, api: ApiFactory) -> None:
    body = api(crm()).post(SEARCH, {"limit": 1}).json()
    assert body["total"] == len(CONTACTS)
    assert [r["id"] for r in body["results"]] == [str(CONTACTS[0])]
    assert body["paging"] == {"next": {"after": "1"}}


def test_search_pages_by_offset_to_the_last_object(crm: BatchSandbox, api: ApiFactory) -> None:
    body = api(crm()).post(SEARCH, {"limit": 200, "after": "200"}).json()
    assert [r["id"] for r in body["results"]] == [str(i) for i in CONTACTS[200:]]
    assert "paging" not in body


def test_search_stops_at_10000_results_per_query(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).post(SEARCH, {"limit": 200, "after": "9900"})
    assert response.status_code == 400
    assert "at most 10000 results" in response.json()["message"]


def test_search_refuses_filters_it_does_not_model_rather_than_ignore_them(crm: BatchSandbox, api: ApiFactory) -> None:
    filters = [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "a@b.c"}]}]
    response = api(crm()).post(SEARCH, {"limit": 1, "filterGroups": filters})
    assert response.status_code == 400


def test_every_type_spelling_hubspot_accepts_reaches_the_same_route(crm: BatchSandbox, api: ApiFactory) -> None:
    box = crm()
    caller = api(box)
    answers = [caller.get(f"/crm/v3/objects/{spelling}").json()["results"] for spelling in ("Contacts", "contact",
                                                                                           "0-1", "CONTACTS")]
    assert all(answer == answers[0] for answer in answers)
    assert box.counters()["requests"] == {"GET /crm/v3/objects/contacts": 4}


def test_an_unknown_object_type_is_a_validation_error_naming_it(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).get("/crm/v3/objects/widgets")
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "Unable to infer object type from: widgets",
                               "correlationId": UUID, "category": "VALIDATION_ERROR"}


def test_an_unknown_route_is_a_hubspot_style_404(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).get("/crm/v3/nothing/here")
    assert response.status_code == 404
    assert response.json()["status"] == "error"
    assert response.json()["correlationId"] == UUID


# -- GET /crm/v3/associations/{from}/{to}/types -------------------------------------------------------------------


def test_types_list_ids_as_strings_with_v3_names_including_custom_labels(crm: BatchSandbox, api: ApiFactory) -> None:
    box = crm()
    label_id, _ = box.store.add_label("contacts", "companies", "Billing contact")
    body = api(box).get("/crm/v3/associations/contacts/companies/types").json()
    assert body == {"results": [
        {"id": "1", "name": "contact_to_company"},
        {"id": "279", "name": "contact_to_company_unlabeled"},
        {"id": str(label_id), "name": "billing_contact"},
    ]}


# -- POST /crm/v3/associations/{from}/{to}/batch/read -------------------------------------------------------------


def test_batch_read_without_associations_is_a_207_no_associations_found(crm: BatchSandbox, api: ApiFactory) -> None:
    """The documented body, field by field: singular type names, the id as a string, empty links."""
    response = api(crm()).post("/crm/v3/associations/deals/companies/batch/read",
                               {"inputs": [{"id": str(DEAL_WITHOUT_ASSOCIATIONS)}]})
    assert response.status_code == 207
    assert response.json() == {
        "status": "COMPLETE", "results": [], "numErrors": 1,
        "errors": [{
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No company is associated with deal {DEAL_WITHOUT_ASSOCIATIONS}.",
            "context": {"fromObjectId": [str(DEAL_WITHOUT_ASSOCIATIONS)], "fromObjectType": ["deal"],
                        "toObjectType": ["company"]},
            "links": {},
        }],
        "startedAt": TIMESTAMP, "completedAt": TIMESTAMP,
    }


def test_batch_read_all_found_is_a_200_without_errors(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).post("/crm/v3/associations/contacts/deals/batch/read",
                               {"inputs": [{"id": str(CONTACTS[0])}]})
    assert response.status_code == 200
    assert response.json() == {
        "status": "COMPLETE",
        "results": [{"from": {"id": str(CONTACTS[0])},
                     "to": [{"id": str(DEAL_WITH_250_CONTACTS), "type": "contact_to_deal"}]}],
        "startedAt": TIMESTAMP, "completedAt": TIMESTAMP,
    }


def test_batch_read_gives_100_entries_then_a_cursor_to_the_per_object_endpoint(
    crm: BatchSandbox, api: ApiFactory,
) -> None:
    box = crm()
    result = api(box).post(READ, {"inputs": [{"id": str(DEAL_WITH_250_CONTACTS)}]}).json()["results"][0]
    assert [t["id"] for t in result["to"]] == [str(c) for c in CONTACTS[:100]]
    cursor = result["paging"]["next"]["after"]
    assert result["paging"]["next"]["link"] == (
        f"{box.url}/crm/v3/objects/0-3/{DEAL_WITH_250_CONTACTS}/associations/0-1?after={cursor}")
    assert cursor == Matches(r"[A-Za-z0-9+/%]+")  # opaque, HubSpot-shaped: URL-quoted base64


def test_following_the_cursor_through_the_per_object_endpoint_yields_the_whole_edge_set(
    crm: BatchSandbox, api: ApiFactory,
) -> None:
    box = crm()
    caller = api(box)
    first = caller.post(READ, {"inputs": [{"id": str(DEAL_WITH_250_CONTACTS)}]}).json()["results"][0]
    seen, cursor = [t["id"] for t in first["to"]], first["paging"]["next"]["after"]
    path = f"/crm/v3/objects/deals/{DEAL_WITH_250_CONTACTS}/associations/contacts"
    while cursor is not None:
        page = caller.get(path, after=cursor, limit=60).json()
        seen += [t["id"] for t in page["results"]]
        cursor = page.get("paging", {}).get("next", {}).get("after")
    assert seen == [str(c) for c in CONTACTS[:250]]
    assert box.counters()["requests"]["GET /crm/v3/objects/deals/{id}/associations/contacts"] == 3


def test_following_the_paging_link_verbatim_continues_too(crm: BatchSandbox, api: ApiFactory) -> None:
    caller = api(crm())
    first = caller.post(READ, {"inputs": [{"id": str(DEAL_WITH_250_CONTACTS)}]}).json()["results"][0]
    link = first["paging"]["next"]["link"]
    rest = caller.follow(link).json()
    assert [t["id"] for t in rest["results"]] == [str(c) for c in CONTACTS[100:250]]
    assert "paging" not in rest


def test_batch_read_ignores_an_after_in_its_inputs(crm: BatchSandbox, api: ApiFactory) -> None:
    """Sending the cursor back to v3 batch read returns the first 100 again: a loop for naive clients."""
    caller = api(crm())
    first = caller.post(READ, {"inputs": [{"id": str(DEAL_WITH_250_CONTACTS)}]}).json()["results"][0]
    again = caller.post(READ, {"inputs": [{"id": str(DEAL_WITH_250_CONTACTS),
                                           "after": first["paging"]["next"]["after"]}]}).json()["results"][0]
    assert again == first


def test_batch_read_results_are_not_in_input_order(crm: BatchSandbox, api: ApiFactory) -> None:
    ids = [str(c) for c in CONTACTS[:5]]
    response = api(crm()).post("/crm/v3/associations/contacts/deals/batch/read", {"inputs": [{"id": i} for i in ids]})
    returned = [r["from"]["id"] for r in response.json()["results"]]
    assert sorted(returned) == sorted(ids)
    assert returned != ids


def test_batch_read_results_keep_input_order_when_shuffling_is_off(crm: BatchSandbox, api: ApiFactory) -> None:
    ids = [str(c) for c in CONTACTS[:5]]
    response = api(crm(shuffle_results=False)).post("/crm/v3/associations/contacts/deals/batch/read",
                                                    {"inputs": [{"id": i} for i in ids]})
    assert [r["from"]["id"] for r in response.json()["results"]] == ids


def test_batch_read_toward_companies_returns_only_the_primary_company(crm: BatchSandbox, api: ApiFactory) -> None:
    """v3 shows every type between the object and its primary company, and no other company."""
    response = api(crm()).post("/crm/v3/associations/contacts/companies/batch/read",
                               {"inputs": [{"id": str(CONTACT_WITH_PRIMARY)}]})
    assert response.json()["results"] == [{"from": {"id": str(CONTACT_WITH_PRIMARY)}, "to": [
        {"id": str(COMPANIES[0]), "type": "contact_to_company"},
        {"id": str(COMPANIES[0]), "type": "contact_to_company_unlabeled"},
    ]}]


def test_batch_read_toward_companies_without_a_primary_is_no_associations_found(
    crm: BatchSandbox, api: ApiFactory,
) -> None:
    response = api(crm()).post("/crm/v3/associations/contacts/companies/batch/read",
                               {"inputs": [{"id": str(CONTACT_WITHOUT_PRIMARY)}]})
    assert response.status_code == 207
    assert response.json()["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_the_per_object_endpoint_toward_companies_is_primary_only_too(crm: BatchSandbox, api: ApiFactory) -> None:
    body = api(crm()).get(f"/crm/v3/objects/deals/{DEAL_WITH_PRIMARY}/associations/companies").json()
    assert body == {"results": [{"id": str(COMPANIES[0]), "type": "deal_to_company"},
                                {"id": str(COMPANIES[0]), "type": "deal_to_company_unlabeled"}]}


def test_batch_read_reports_duplicate_ids_once(crm: BatchSandbox, api: ApiFactory) -> None:
    same = {"id": str(CONTACTS[0])}
    body = api(crm()).post("/crm/v3/associations/contacts/deals/batch/read", {"inputs": [same, same]}).json()
    assert len(body["results"]) == 1


def test_batch_read_reports_a_non_numeric_id_as_a_validation_error(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).post(READ, {"inputs": [{"id": "abc"}, {"id": str(DEAL_WITH_250_CONTACTS)}]})
    assert response.status_code == 207
    body = response.json()
    assert len(body["results"]) == 1
    assert [(e["category"], e["context"]) for e in body["errors"]] == [("VALIDATION_ERROR", {"ids": ["abc"]})]


def test_batch_read_over_1000_inputs_is_a_validation_error(crm: BatchSandbox, api: ApiFactory) -> None:
    box = crm()
    response = api(box).post(READ, {"inputs": [{"id": str(i)} for i in range(1, 1002)]})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": Matches(r"Too many inputs: 1001 .*1000.*"),
                               "correlationId": UUID, "category": "VALIDATION_ERROR"}
    assert box.counters()["inputs"] == {"POST /crm/v3/associations/deals/contacts/batch/read": 1001}


def test_batch_read_of_exactly_1000_inputs_is_accepted(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).post(READ, {"inputs": [{"id": str(i)} for i in range(1, 1001)]})
    assert response.status_code == 207  # none of these ids has associations


def test_malformed_json_is_a_400_naming_line_and_column(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).post(READ, raw=b'{"inputs": [')
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": Matches(r"Invalid input JSON on line 1, column 13: .+"),
                               "correlationId": UUID, "category": "VALIDATION_ERROR"}


def test_per_object_limit_above_500_is_a_validation_error(crm: BatchSandbox, api: ApiFactory) -> None:
    response = api(crm()).get(f"/crm/v3/objects/deals/{DEAL_WITH_250_CONTACTS}/associations/contacts", limit=501)
    assert response.status_code == 400


def test_per_object_endpoint_defaults_to_500_per_page(crm: BatchSandbox, api: ApiFactory) -> None:
    body = api(crm()).get(f"/crm/v3/objects/deals/{DEAL_WITH_250_CONTACTS}/associations/contacts").json()
    assert len(body["results"]) == 250
    assert "paging" not in body
