"""The objects batch read by a unique property answers as HubSpot documents (hubspot-associations-api.md,
"Objects by a unique property"): 100 inputs at most, out of order, a 207 naming the missing values, a 400 for a
property that is not unique; contacts' email matches whatever its case."""

from __future__ import annotations

import pytest

from hubassoc.sandbox import SeedSpec, Store, UniquePropertySpec
from tests.support.sandbox_api import ApiFactory, SandboxFactory

CONTACTS = [101, 102, 103]
DEALS = [201, 202]


def crm() -> Store:
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.set_properties("contacts", {101: {"email": "ann@example.com"}, 102: {"email": "Bob@Example.com"},
                                      103: {"email": "cy@example.com"}})
    store.add_objects("deals", DEALS)
    store.add_unique_property("deals", "erp_id")
    store.set_properties("deals", {201: {"erp_id": "E-1", "dealname": "x"}, 202: {"erp_id": "E-2"}})
    return store


def test_emails_match_in_any_case_and_results_carry_the_property(sandbox: SandboxFactory, api: ApiFactory):
    box = sandbox(store=crm())
    reply = api(box).post("/crm/v3/objects/contacts/batch/read", {
        "idProperty": "email", "inputs": [{"id": "ANN@example.com"}, {"id": "bob@example.com"}],
        "properties": ["email"]})
    assert reply.status_code == 200
    found = {r["id"]: r["properties"]["email"] for r in reply.json()["results"]}
    assert found == {"101": "ann@example.com", "102": "Bob@Example.com"}


def test_results_come_out_of_input_order(sandbox: SandboxFactory, api: ApiFactory):
    box = sandbox(store=crm())
    emails = ["ann@example.com", "Bob@Example.com", "cy@example.com"]
    reply = api(box).post("/crm/v3/objects/contacts/batch/read", {
        "idProperty": "email", "inputs": [{"id": e} for e in emails], "properties": ["email"]})
    assert [r["properties"]["email"] for r in reply.json()["results"]] != emails


def test_missing_values_are_one_207_error_listing_them(sandbox: SandboxFactory, api: ApiFactory):
    box = sandbox(store=crm())
    reply = api(box).post("/crm/objects/2026-03/deals/batch/read", {
        "idProperty": "erp_id", "inputs": [{"id": "E-1"}, {"id": "E-9"}, {"id": "e-2"}], "properties": ["erp_id"]})
    body = reply.json()
    assert reply.status_code == 207
    assert [r["id"] for r in body["results"]] == ["201"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["E-9", "e-2"]}  # other properties match exactly


def test_a_property_that_is_not_unique_is_a_400(sandbox: SandboxFactory, api: ApiFactory):
    box = sandbox(store=crm())
    reply = api(box).post("/crm/v3/objects/deals/batch/read", {"idProperty": "dealname", "inputs": [{"id": "x"}]})
    assert reply.status_code == 400
    assert reply.json()["category"] == "VALIDATION_ERROR"
    assert "dealname" in reply.json()["message"]


def test_more_than_100_inputs_is_a_400(sandbox: SandboxFactory, api: ApiFactory):
    box = sandbox(store=crm())
    inputs = [{"id": f"p{n}@example.com"} for n in range(101)]
    reply = api(box).post("/crm/v3/objects/contacts/batch/read", {"idProperty": "email", "inputs": inputs})
    assert reply.status_code == 400


def test_without_id_property_the_inputs_are_record_ids(sandbox: SandboxFactory, api: ApiFactory):
    box = sandbox(store=crm())
    reply = api(box).post("/crm/v3/objects/deals/batch/read", {"inputs": [{"id": "202"}]})
    assert [r["id"] for r in reply.json()["results"]] == ["202"]


def test_the_seed_gives_every_object_its_unique_value(sandbox: SandboxFactory, api: ApiFactory):
    spec = SeedSpec(contacts=3, companies=2, deals=0, tickets=0, labels=(), unique_properties=(
        UniquePropertySpec("contacts", "email", "contact-{n}@example.com"),
        UniquePropertySpec("companies", "erp_id", "C-{n}")))
    box = sandbox(seed=spec)
    reply = api(box).post("/crm/v3/objects/companies/batch/read", {"idProperty": "erp_id", "inputs": [{"id": "C-2"}]})
    assert reply.json()["results"][0]["id"] == str(box.store.object_ids("companies")[1])
    assert box.counters()["requests"] == {"POST /crm/v3/objects/companies/batch/read": 1}


def test_a_unique_value_held_by_another_object_is_refused():
    with pytest.raises(ValueError, match="unique"):
        crm().set_properties("contacts", {103: {"email": "ANN@example.com"}})
