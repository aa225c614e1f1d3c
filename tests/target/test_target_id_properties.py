"""Ends given as values of a unique property (``id_properties``): a contact's email, a company's external id.

Over the sandbox: what HubSpot holds comes from its store, what was asked from its counters (requests and inputs
per route); the target runs in this process with the records given.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubassoc.progress import RequestRate
from hubassoc.sandbox import Sandbox, Store
from target_hubassoc.id_resolution import IdPropertyRefusedError
from target_hubassoc.progress import LoadProgress
from target_hubassoc.target import TargetHubAssoc
from tests.support.dead_letters import read_dead_letters
from tests.support.sandbox_api import TOKEN
from tests.support.singer import DELETED, record, schema

CONTACTS = list(range(1001, 1301))  # 300 contacts, contact-<n>@example.com
COMPANIES = list(range(2001, 2011))  # 10 companies, erp id C-<n>
UNLABELED = 279  # contact->company, the ordinary type
CONTACT_READS = "POST /crm/v3/objects/contacts/batch/read"
COMPANY_READS = "POST /crm/v3/objects/companies/batch/read"
EMAILS = {"contacts": "email"}


def email(contact: int) -> str:
    return f"contact-{contact}@example.com"


def erp_id(company: int) -> str:
    return f"C-{company}"


@pytest.fixture
def hubspot(sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """``hubspot(*links)``: contacts with emails, companies with a unique erp_id, and these contact->company links."""

    def start(*links: tuple[int, int]) -> Sandbox:
        store = Store()
        store.add_objects("contacts", CONTACTS)
        store.set_properties("contacts", {c: {"email": email(c), "firstname": "Same"} for c in CONTACTS})
        store.add_objects("companies", COMPANIES)
        store.add_unique_property("companies", "erp_id")
        store.set_properties("companies", {c: {"erp_id": erp_id(c), "name": "Acme"} for c in COMPANIES})
        for contact, company in links:
            store.associate("contacts", contact, "companies", company, UNLABELED)
        return sandbox(store=store, rate_limit=10_000)

    return start


def link(contact: Any, company: Any, stream: str = "links", **fields: Any) -> dict[str, Any]:
    return record(stream, from_object_type="contacts", from_id=contact, to_object_type="companies", to_id=company,
                  **fields)


def run(box: Sandbox, dead_letters: Path, messages: list[dict[str, Any]], **settings: Any) -> TargetHubAssoc:
    """The target in this process; a SCHEMA for each stream first."""
    config = {"access_token": TOKEN, "api_url": box.url, "requests_per_10s": 1000,
              "dead_letter_path": str(dead_letters), "id_properties": EMAILS, **settings}
    target = TargetHubAssoc(config=config)
    streams = dict.fromkeys(m["stream"] for m in messages if m["type"] == "RECORD")
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in [*map(schema, streams), *messages])))
    return target


def companies_of(box: Sandbox, contact: int) -> set[int]:
    return {company for company, _ in box.store.targets("contacts", contact, "companies")}


def requests(box: Sandbox, route: str) -> int:
    return box.counters()["requests"].get(route, 0)


def inputs(box: Sandbox, route: str) -> int:
    return box.counters()["inputs"].get(route, 0)


def writes(box: Sandbox) -> int:
    return sum(n for route, n in box.counters()["requests"].items() if route.endswith(("/create", "/archive")))


def test_emails_in_any_case_find_their_contact(hubspot, dead_letters):
    box = hubspot()
    a, b = CONTACTS[:2]
    run(box, dead_letters, [link(email(a).upper(), str(COMPANIES[0])),
                            link(f"Contact-{b}@Example.COM", str(COMPANIES[1]))])
    assert (companies_of(box, a), companies_of(box, b)) == ({COMPANIES[0]}, {COMPANIES[1]})
    assert requests(box, CONTACT_READS) == 1


def test_each_distinct_value_is_read_once_across_checkpoints(hubspot, dead_letters, capsys):
    box = hubspot()
    spelled = [email(CONTACTS[0]), email(CONTACTS[0]).upper(), email(CONTACTS[1]), email(CONTACTS[2])]
    messages = []
    for n in range(12):
        messages += [link(spelled[n % 4], str(COMPANIES[n % 10])), {"type": "STATE", "value": {"n": n}}]
    # batch_size_rows 1 x max_workers 1: a drain, and so a checkpoint, after every record
    target = run(box, dead_letters, messages, batch_size_rows=1, max_workers=1)
    assert inputs(box, CONTACT_READS) == 3  # three distinct emails, whatever their case
    assert requests(box, CONTACT_READS) <= 3
    assert target.writer.stats.created == 12 - target.writer.stats.duplicates
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"n": 11}


def test_calls_per_type_are_at_most_one_per_100_distinct_values_plus_one_per_checkpoint(hubspot, dead_letters):
    box = hubspot()
    messages = [link(email(c), str(COMPANIES[i % 10])) for i, c in enumerate(CONTACTS[:250])]
    messages += [link(email(c), str(COMPANIES[0])) for c in CONTACTS[:250]]  # repeats: no new values
    target = run(box, dead_letters, messages)
    checkpoints = 1  # one drain, at the end of input (500 records are under the buffer limit)
    assert requests(box, CONTACT_READS) <= math.ceil(250 / 100) + checkpoints
    assert inputs(box, CONTACT_READS) == 250
    assert target.writer.ids.stats.values == 250
    assert all(companies_of(box, c) for c in CONTACTS[:250])


def test_an_unknown_value_is_a_dead_letter_naming_type_property_and_value(hubspot, dead_letters):
    box = hubspot()
    target = run(box, dead_letters, [link("ann@example.com", str(COMPANIES[0])),
                                     link(email(CONTACTS[0]), str(COMPANIES[0]))], max_rejected_records=1)
    letters = read_dead_letters(dead_letters)
    assert [letter["reason"] for letter in letters] == ["no contacts with email ann@example.com"]
    assert letters[0]["record"]["from_id"] == "ann@example.com"  # as it came
    assert companies_of(box, CONTACTS[0]) == {COMPANIES[0]}  # the rest is written
    assert target.writer.ids.stats.not_found == 1


def test_both_ends_by_property(hubspot, dead_letters):
    box = hubspot()
    run(box, dead_letters, [link(email(CONTACTS[5]), erp_id(COMPANIES[3]))],
        id_properties={"contact": "email", "0-2": "erp_id"})
    assert companies_of(box, CONTACTS[5]) == {COMPANIES[3]}
    assert (inputs(box, CONTACT_READS), inputs(box, COMPANY_READS)) == (1, 1)


def test_a_record_names_its_own_property_and_null_means_the_setting(hubspot, dead_letters):
    box = hubspot()
    run(box, dead_letters, [
        link(email(CONTACTS[0]), erp_id(COMPANIES[0]), from_id_property=None, to_id_property="erp_id"),
        link(str(CONTACTS[1]), str(COMPANIES[1]), from_id_property="hs_object_id"),
    ])
    assert companies_of(box, CONTACTS[0]) == {COMPANIES[0]}
    assert companies_of(box, CONTACTS[1]) == {COMPANIES[1]}


def test_archive_by_email(hubspot, dead_letters):
    box = hubspot((CONTACTS[0], COMPANIES[0]), (CONTACTS[0], COMPANIES[1]))
    run(box, dead_letters, [link(email(CONTACTS[0]).title(), str(COMPANIES[0]), _sdc_deleted_at=DELETED)])
    assert companies_of(box, CONTACTS[0]) == {COMPANIES[1]}


def test_mirror_by_email(hubspot, dead_letters):
    box = hubspot((CONTACTS[0], COMPANIES[0]), (CONTACTS[0], COMPANIES[1]))
    run(box, dead_letters, [link(email(CONTACTS[0]), erp_id(COMPANIES[1]), to_id_property="erp_id"),
                            link(email(CONTACTS[0]), erp_id(COMPANIES[2]), to_id_property="erp_id")],
        api_version="2026-03", stream_actions={"links": "mirror"})
    assert companies_of(box, CONTACTS[0]) == {COMPANIES[1], COMPANIES[2]}
    assert requests(box, "POST /crm/objects/2026-03/contacts/batch/read") == 1  # 2026-03's objects route
    assert requests(box, CONTACT_READS) == 0


def test_a_dry_run_reads_values_and_writes_nothing(hubspot, dead_letters):
    box = hubspot()
    target = run(box, dead_letters, [link(email(CONTACTS[0]), str(COMPANIES[0]))], dry_run=True)
    assert target.writer.stats.created == 1
    assert (requests(box, CONTACT_READS), writes(box)) == (1, 0)


@pytest.mark.parametrize("id_properties", [{"contacts": "firstname"}, {"contacts": "email", "companies": "name"}])
def test_a_property_that_is_not_unique_stops_the_run_before_any_write(hubspot, dead_letters, id_properties):
    box = hubspot()
    plain = [link(str(c), str(COMPANIES[0])) for c in CONTACTS[:3]]  # need no property, yet wait for the check
    with pytest.raises(IdPropertyRefusedError, match="id_properties") as stopped:
        run(box, dead_letters, [*plain, link("Same", str(COMPANIES[0]))], id_properties=id_properties)
    assert "not a unique identifier" in str(stopped.value)
    assert writes(box) == 0
    assert all(not companies_of(box, c) for c in CONTACTS[:3])


def test_the_summary_counts_resolutions(hubspot, dead_letters, caplog):
    box = hubspot()
    with caplog.at_level("INFO"):
        run(box, dead_letters, [link(email(CONTACTS[0]), str(COMPANIES[0])), link("x@example.com", "1")],
            max_rejected_records=1)
    assert "Resolutions: 2 distinct property values in 1 calls, not found 1" in caplog.messages


def test_an_end_that_cannot_be_a_value_is_a_dead_letter_saying_why(hubspot, dead_letters):
    box = hubspot()
    run(box, dead_letters, [link(True, str(COMPANIES[0])), link(email(CONTACTS[0]), "x", to_id_property=7),
                            link(email(CONTACTS[1]), str(COMPANIES[1]))], max_rejected_records=2)
    reasons = [letter["reason"] for letter in read_dead_letters(dead_letters)]
    assert reasons == ["from_id true is not a value of contacts email: give the value as text (or a whole number)",
                       "to_id_property 7 is not a property name"]
    assert companies_of(box, CONTACTS[1]) == {COMPANIES[1]}


def test_records_by_id_and_by_email_apply_in_input_order(hubspot, dead_letters):
    box = hubspot((CONTACTS[0], COMPANIES[0]))
    # archived by email, then created again by record id: the create is last, so the association stays
    run(box, dead_letters, [link(email(CONTACTS[0]), str(COMPANIES[0]), _sdc_deleted_at=DELETED),
                            link(str(CONTACTS[0]), str(COMPANIES[0]), from_id_property="hs_object_id")])
    assert companies_of(box, CONTACTS[0]) == {COMPANIES[0]}


def test_progress_lines_count_resolutions(hubspot, dead_letters):
    box = hubspot()
    target = run(box, dead_letters, [link(email(CONTACTS[0]), str(COMPANIES[0]))])
    progress = LoadProgress(target.writer.stats, RequestRate(target.client), dry_run=False,
                            resolutions=target.writer.ids.stats)
    assert progress.lines()[0].endswith("; resolved 1 values in 1 calls, not found 0")


def test_reads_go_out_side_by_side(sandbox, dead_letters):
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.set_properties("contacts", {c: {"email": email(c)} for c in CONTACTS})
    store.add_objects("companies", COMPANIES)
    box = sandbox(store=store, rate_limit=10_000, latency_ms=100)
    run(box, dead_letters, [link(email(c), str(COMPANIES[0])) for c in CONTACTS], max_workers=4)
    counted = box.counters()
    assert counted["requests"][CONTACT_READS] == 3
    assert counted["peak_concurrency"] >= 2  # the three reads of 100 were not sent one after another
