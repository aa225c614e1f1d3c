"""The sandbox's v4 and 2026-03 read routes answer as hubspot-associations-api.md describes, over real HTTP.

Every test runs against both prefixes: "/crm/associations/2026-03/... has exactly the same request and
response shapes as /crm/v4/associations/...".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.crm import PRIMARY, UNLABELED
from tests.support.crm.labelled import BILLING, COMPANIES, CONTACT_OF_EVERY_COMPANY, CONTACTS
from tests.support.sandbox_api import TOKEN, Api, ApiFactory
from tests.support.versions import LABELLED, PREFIXES

pytestmark = pytest.mark.parametrize("version", LABELLED)
Crm = Callable[..., Sandbox]


def read(caller: Api, version: str, pair: str, inputs: list[dict[str, Any]]) -> Any:
    return caller.post(f"{PREFIXES[version]}/{pair}/batch/read", {"inputs": inputs})


def test_labels_list_every_type_of_the_pair_with_category_type_id_and_label(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    """GET .../labels -> {"results": [{"category", "typeId", "label"}]}; unlabeled types carry label null."""
    box = crm()
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    reply = api(box).get(f"{PREFIXES[version]}/contacts/companies/labels")
    assert reply.status_code == 200
    assert reply.json() == {"results": [
        {"category": "HUBSPOT_DEFINED", "typeId": PRIMARY, "label": "Primary"},
        {"category": "HUBSPOT_DEFINED", "typeId": UNLABELED, "label": None},
        {"category": "USER_DEFINED", "typeId": billing, "label": BILLING},
    ]}


def test_batch_read_returns_every_company_not_only_the_primary_one(crm: Crm, api: ApiFactory, version: str) -> None:
    """v4 "returns all companies, with labels" where v3 returns only the primary company."""
    box = crm()
    contact = CONTACTS[3]  # a primary company and a second, non-primary one
    reply = read(api(box), version, "contacts/companies", [{"id": str(contact)}])
    assert reply.status_code == 200
    [result] = reply.json()["results"]
    got = {(to["toObjectId"], t["typeId"]) for to in result["to"] for t in to["associationTypes"]}
    assert got == set(box.store.targets("contacts", contact, "companies"))
    assert len({to_id for to_id, _ in got}) == 2


def test_to_object_id_is_a_json_number(crm: Crm, api: ApiFactory, version: str) -> None:
    """"toObjectId arrives as a JSON number although described as a string"."""
    box = crm()
    reply = read(api(box), version, "contacts/companies", [{"id": str(CONTACTS[3])}])
    raw = reply.text
    first = reply.json()["results"][0]["to"][0]["toObjectId"]
    assert isinstance(first, int)
    assert f'"toObjectId":{first}' in raw
    assert json.loads(raw)["results"][0]["from"]["id"] == str(CONTACTS[3])  # from.id stays a string


def test_an_object_past_100_associated_objects_is_continued_by_sending_its_after_again(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    """Per-object paging: send {"id", "after"} again in a later batch read (v4 honours it, unlike v3)."""
    box = crm()
    caller = api(box)
    first = read(caller, version, "contacts/companies", [{"id": str(CONTACT_OF_EVERY_COMPANY)}]).json()["results"][0]
    after = first["paging"]["next"]["after"]
    second = read(caller, version, "contacts/companies",
                  [{"id": str(CONTACT_OF_EVERY_COMPANY), "after": after}]).json()["results"][0]
    pages = [[to["toObjectId"] for to in page["to"]] for page in (first, second)]
    assert [len(p) for p in pages] == [100, 30]
    assert pages[0] + pages[1] == COMPANIES
    assert "paging" not in second


def test_all_types_between_two_objects_come_in_one_entry(crm: Crm, api: ApiFactory, version: str) -> None:
    """Primary, unlabeled and a custom label between one contact and one company: one toObjectId entry."""
    box = crm()
    contact = CONTACT_OF_EVERY_COMPANY  # its primary company also carries the Billing contact label
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    result = read(api(box), version, "contacts/companies", [{"id": str(contact)}]).json()["results"][0]
    entry = next(to for to in result["to"] if to["toObjectId"] == COMPANIES[1])
    assert entry["associationTypes"] == [
        {"category": "HUBSPOT_DEFINED", "typeId": PRIMARY, "label": "Primary"},
        {"category": "HUBSPOT_DEFINED", "typeId": UNLABELED, "label": None},
        {"category": "USER_DEFINED", "typeId": billing, "label": BILLING},
    ]


def test_ids_without_associations_are_reported_as_no_associations_found_in_a_207(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    box = crm()
    reply = read(api(box), version, "contacts/companies", [{"id": str(CONTACTS[0])}, {"id": str(CONTACTS[3])}])
    body = reply.json()
    assert reply.status_code == 207
    assert body["numErrors"] == 1
    assert body["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert body["errors"][0]["context"]["fromObjectId"] == [str(CONTACTS[0])]
    assert [r["from"]["id"] for r in body["results"]] == [str(CONTACTS[3])]


def test_results_are_not_in_input_order(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm()
    ids = [str(c) for c in CONTACTS[1:8]]
    results = read(api(box), version, "contacts/deals", [{"id": i} for i in ids]).json()["results"]
    got = [r["from"]["id"] for r in results]
    assert sorted(got) == sorted(ids)
    assert got != ids


def test_more_than_1000_inputs_are_refused(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm()
    reply = read(api(box), version, "contacts/companies", [{"id": str(i)} for i in range(1, 1002)])
    assert reply.status_code == 400
    assert reply.json()["category"] == "VALIDATION_ERROR"
    assert box.counters()["inputs"] == {f"POST {PREFIXES[version]}/contacts/companies/batch/read": 1001}


def test_requests_are_counted_under_the_version_route_with_canonical_type_names(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    box = crm()
    caller = api(box)
    read(caller, version, "Contact/0-2", [{"id": str(CONTACTS[3])}])
    caller.get(f"{PREFIXES[version]}/contacts/companies/labels")
    assert box.counters()["requests"] == {
        f"POST {PREFIXES[version]}/contacts/companies/batch/read": 1,
        f"GET {PREFIXES[version]}/contacts/companies/labels": 1,
    }


def test_the_rate_limit_applies_to_v4_routes_as_to_v3_ones(crm: Crm, api: ApiFactory, version: str) -> None:
    """One budget per 10 s window for every associations route; the 11th request of 10 gets HubSpot's 429."""
    box = crm(rate_limit=10)
    caller = api(box)
    statuses = [caller.get(f"{PREFIXES[version]}/contacts/companies/labels").status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    assert box.counters()["rate_limited"] == 1


def test_a_fault_scheduled_on_a_v4_route_hits_that_route_only(crm: Crm, api: ApiFactory, version: str) -> None:
    box = crm()
    route = f"POST {PREFIXES[version]}/contacts/companies/batch/read"
    box.schedule_faults("5xx:502", 1, route=route)
    caller = api(box)
    labels = caller.get(f"{PREFIXES[version]}/contacts/companies/labels")
    reads = [read(caller, version, "contacts/companies", [{"id": str(CONTACTS[3])}]).status_code for _ in range(2)]
    assert (labels.status_code, reads) == (200, [502, 200])
    assert box.counters()["faults_injected"] == {"5xx:502": 1}


def test_a_token_without_the_read_scope_is_refused_with_missing_scopes(
    crm: Crm, api: ApiFactory, version: str,
) -> None:
    box = crm(token_scopes={TOKEN: ["crm.objects.contacts.read"]})
    reply = read(api(box), version, "contacts/companies", [{"id": str(CONTACTS[3])}])
    assert reply.status_code == 403
    assert reply.json()["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.companies.read"]
