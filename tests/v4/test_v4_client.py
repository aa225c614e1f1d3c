"""The v4 / 2026-03 client against the sandbox over real HTTP: complete reads, exact ids, the four write routes.

One client class serves both versions: only the path prefix differs, which the counters' route keys show.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hubassoc.associations_v4 import AssociationsV4, LabelledInput, object_id_text
from hubassoc.auth import Credentials
from hubassoc.client import ClientSettings, HubSpotClient
from hubassoc.errors import HubSpotError
from hubassoc.sandbox import Sandbox, Store, app, v4_reads
from hubassoc.sandbox.call import Call
from tests.support.crm import PRIMARY, UNLABELED
from tests.support.crm.labelled import BILLING, COMPANIES, CONTACT_OF_EVERY_COMPANY, CONTACTS
from tests.support.sandbox_api import TOKEN
from tests.support.versions import LABELLED, PREFIXES

pytestmark = pytest.mark.parametrize("version", LABELLED)
Crm = Callable[..., Sandbox]
ABOVE_2_53 = 2**53 + 1  # a float cannot hold it: 9007199254740993 would come back ...992


@pytest.fixture
def client_for() -> Iterator[Callable[[Sandbox, str], AssociationsV4]]:
    made: list[HubSpotClient] = []

    def make(box: Sandbox, version: str) -> AssociationsV4:
        made.append(HubSpotClient(ClientSettings(api_url=box.url, requests_per_10s=1000),
                                  Credentials.from_config({"access_token": TOKEN})))
        return AssociationsV4(made[-1], version)

    yield make
    for client in made:
        client.close()


def route(version: str, tail: str, pair: str = "contacts/companies") -> str:
    return f"POST {PREFIXES[version]}/{pair}/{tail}"


def test_batch_read_is_the_store_complete_past_100_with_one_more_read_for_the_continued_object(
    crm: Crm, client_for: Callable[..., AssociationsV4], version: str,
) -> None:
    """Contact 1 has 130 companies: the first read gives 100 and a cursor; one more read, {"id", "after"}."""
    box = crm()
    ids = [str(c) for c in reversed(CONTACTS[:12])]  # contact 0 has none: no rows
    edges = client_for(box, version).batch_read("contacts", "companies", ids)
    want = [(str(c), str(t), k) for c in reversed(CONTACTS[:12])
            for t, k in box.store.targets("contacts", c, "companies")]
    assert [(e.from_id, e.to_id, e.type_id) for e in edges] == want
    counters = box.counters()
    assert counters["requests"] == {route(version, "batch/read"): 2}
    assert counters["inputs"] == {route(version, "batch/read"): 12 + 1}
    assert sum(e.from_id == str(CONTACT_OF_EVERY_COMPANY) for e in edges) == 130 + 2  # + primary + billing


def test_edges_carry_category_and_label_from_the_reply(
    crm: Crm, client_for: Callable[..., AssociationsV4], version: str,
) -> None:
    box = crm()
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    edges = client_for(box, version).batch_read("contacts", "companies", [str(CONTACT_OF_EVERY_COMPANY)])
    to_primary = {(e.type_id, e.category, e.label) for e in edges if e.to_id == str(COMPANIES[1])}
    assert to_primary == {(PRIMARY, "HUBSPOT_DEFINED", "Primary"), (UNLABELED, "HUBSPOT_DEFINED", None),
                          (billing, "USER_DEFINED", BILLING)}


def test_a_to_object_id_above_2_53_arrives_as_its_exact_digits(
    sandbox: Callable[..., Sandbox], client_for: Callable[..., AssociationsV4], version: str,
) -> None:
    """toObjectId is a JSON number: read through a float, 2**53 + 1 would lose its last digit."""
    store = Store()
    store.add_objects("contacts", [1])
    store.add_objects("companies", [ABOVE_2_53])
    store.associate("contacts", 1, "companies", ABOVE_2_53)
    box = sandbox(store=store, rate_limit=10_000)
    [edge] = client_for(box, version).batch_read("contacts", "companies", ["1"])
    assert edge.to_id == "9007199254740993"


def test_an_id_that_is_not_an_integer_is_refused_rather_than_rounded(version: str) -> None:
    assert object_id_text(ABOVE_2_53) == "9007199254740993"
    assert object_id_text("42") == "42"
    for bad in (9.007199254740993e15, True, "4.2", None, 0):
        with pytest.raises(HubSpotError, match="expected an integer"):
            object_id_text(bad)


def test_a_reply_that_returns_the_cursor_it_was_sent_fails_instead_of_looping(
    crm: Crm, client_for: Callable[..., AssociationsV4], version: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A HubSpot that ignored "after" (as v3 batch read does) would hand back the same cursor forever."""
    name = f"batch_read@{version}"

    def ignoring_after(call: Call) -> Any:
        body = json.loads(call.request.body)
        body["inputs"] = [{"id": i["id"]} for i in body["inputs"]]
        request = dataclasses.replace(call.request, body=json.dumps(body).encode())
        return v4_reads.batch_read(dataclasses.replace(call, request=request))

    monkeypatch.setitem(app.HANDLERS, name, ignoring_after)
    box = crm()
    with pytest.raises(HubSpotError, match="reading on would never end"):
        client_for(box, version).batch_read("contacts", "companies", [str(CONTACT_OF_EVERY_COMPANY)])
    assert box.counters()["requests"] == {route(version, "batch/read"): 2}


def test_create_sends_typed_inputs_to_batch_create_and_untyped_ones_to_associate_default(
    crm: Crm, client_for: Callable[..., AssociationsV4], version: str,
) -> None:
    box = crm(associations=False)
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    contact, company, other = CONTACTS[2], COMPANIES[2], COMPANIES[3]
    errors = client_for(box, version).batch_create("contacts", "companies", [
        LabelledInput(str(contact), str(company), "USER_DEFINED", billing),
        LabelledInput(str(contact), str(other)),
        LabelledInput(str(contact), "99999999999"),
    ])
    assert box.store.targets("contacts", contact, "companies") == [(company, billing), (other, UNLABELED)]
    assert [(e.input, e.sub_category) for e in errors] == [
        (LabelledInput(str(contact), "99999999999"), "crm.associations.INVALID_OBJECT_IDS")]
    assert box.counters()["requests"] == {route(version, "batch/create"): 1,
                                          route(version, "batch/associate/default"): 1}


def test_archive_sends_typed_inputs_to_labels_archive_and_untyped_ones_to_batch_archive_per_from_object(
    crm: Crm, client_for: Callable[..., AssociationsV4], version: str,
) -> None:
    box = crm()
    contact = CONTACT_OF_EVERY_COMPANY
    errors = client_for(box, version).batch_archive("contacts", "companies", [
        LabelledInput(str(contact), str(COMPANIES[1]), "HUBSPOT_DEFINED", PRIMARY),
        LabelledInput(str(contact), str(COMPANIES[50])),
        LabelledInput(str(contact), str(COMPANIES[51])),
    ])
    left = box.store.targets("contacts", contact, "companies")
    assert errors == []
    assert (COMPANIES[1], PRIMARY) not in left
    assert (COMPANIES[1], UNLABELED) in left
    assert {t for t, _ in left} == set(COMPANIES) - {COMPANIES[50], COMPANIES[51]}
    counters = box.counters()
    assert counters["requests"] == {route(version, "batch/labels/archive"): 1, route(version, "batch/archive"): 1}
    assert counters["inputs"][route(version, "batch/archive")] == 1  # one input: one from id, two to ids
