"""Reverse ETL from a real PostgreSQL table keyed by email: `meltano run tap-postgres target-hubassoc` with
``TARGET_HUBASSOC_ID_PROPERTIES`` set, against the sandbox's contacts given emails through its store."""

from __future__ import annotations

import json

import pytest

from demo.pipeline import MeltanoProject
from demo.warehouse import Database
from hubassoc.sandbox import Sandbox
from tests.support.dead_letters import read_dead_letters

pytestmark = pytest.mark.e2e

CONTACTS_TO_LINK = 6
UNKNOWN_EMAIL = "nobody@example.com"


def test_a_table_keyed_by_email_creates_associations_and_dead_letters_an_unknown_email(
    project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    store = demo_sandbox.store
    contacts = store.object_ids("contacts")
    store.set_properties("contacts", {c: {"email": f"person-{n}@example.com"} for n, c in enumerate(contacts)})
    deal = store.object_ids("deals")[0]
    linked = {e.from_id for e in store.edges("contacts", "deals") if e.to_id == deal}
    chosen = [c for c in contacts if c not in linked][:CONTACTS_TO_LINK]
    db.execute("CREATE TABLE deal_contacts (from_object_type text, from_id text, to_object_type text, to_id bigint,"
               " PRIMARY KEY (from_id, to_id))")
    for contact in chosen:  # emails as a CRM export spells them: case differs from HubSpot's
        email = f"Person-{contacts.index(contact)}@Example.com"
        db.execute("INSERT INTO deal_contacts VALUES (%s, %s, %s, %s)", ("contacts", email, "deals", deal))
    db.execute("INSERT INTO deal_contacts VALUES (%s, %s, %s, %s)", ("contacts", UNKNOWN_EMAIL, "deals", deal))

    done = project.with_settings({
        **db.env(),
        "TARGET_HUBASSOC_ID_PROPERTIES": json.dumps({"contacts": "email"}),
        "TARGET_HUBASSOC_MAX_REJECTED_RECORDS": "1",
        "TAP_POSTGRES__SELECT": json.dumps(["public-deal_contacts.*"]),
    }).run("tap-postgres", "target-hubassoc", check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    now_linked = {e.from_id for e in store.edges("contacts", "deals") if e.to_id == deal}
    assert set(chosen) <= now_linked
    letters = read_dead_letters(project.output / "hubassoc-rejected.jsonl")
    assert [letter["reason"] for letter in letters] == [f"no contacts with email {UNKNOWN_EMAIL}"]
    reads = demo_sandbox.counters()["requests"].get("POST /crm/v3/objects/contacts/batch/read")
    assert reads == 1
