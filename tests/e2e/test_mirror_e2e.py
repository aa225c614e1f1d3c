"""Reverse ETL with a mirror through the real `meltano`: tap-postgres reads a desired-set table built with a LEFT
JOIN, target-hubassoc (api_version v4) makes each covered contact's companies exactly that set.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from demo.make_changes import demo_store
from demo.pipeline import MeltanoProject
from demo.warehouse import Database
from hubassoc.sandbox import Sandbox, Store
from tests.support.warehouse import store_edges

pytestmark = pytest.mark.e2e

TABLE = "contact_companies_mirror"
UNLABELED = 279  # contact->company (hubspot-associations-api.md, "Object types")


@pytest.fixture
def warehouse_project(project: MeltanoProject, db: Database) -> MeltanoProject:
    """The sandbox's Meltano project with tap-postgres pointed at this test's database, mirroring TABLE in v4."""
    return project.with_settings({
        **db.env(),
        "TARGET_HUBASSOC_API_VERSION": "v4",
        "TARGET_HUBASSOC_STREAM_ACTIONS": json.dumps({TABLE: "mirror"}),
        "TAP_POSTGRES__SELECT": json.dumps([f"public-{TABLE}.*"]),
    })


def companies(store: Store, contact: int) -> list[int]:
    return sorted({to_id for to_id, _ in store.targets("contacts", contact, "companies")})


def create_desired_set(db: Database, contacts: list[int], wanted: list[tuple[int, int]]) -> None:
    """The README's recipe: every contact to mirror, LEFT JOINed to its wanted companies (none: a null to_id)."""
    db.execute("CREATE TABLE crm_contacts (id bigint PRIMARY KEY)")
    db.execute("CREATE TABLE wanted_companies (contact_id bigint, company_id bigint,"
               " PRIMARY KEY (contact_id, company_id))")
    for contact in contacts:
        db.execute("INSERT INTO crm_contacts VALUES (%s)", (contact,))
    for row in wanted:
        db.execute("INSERT INTO wanted_companies VALUES (%s, %s)", row)
    db.execute(
        f"CREATE TABLE {TABLE} AS SELECT row_number() OVER () AS row_id, 'contacts' AS from_object_type,"
        " c.id AS from_id, 'companies' AS to_object_type, w.company_id AS to_id"
        " FROM crm_contacts c LEFT JOIN wanted_companies w ON w.contact_id = c.id",
    )
    db.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (row_id)")


def mirror(project: MeltanoProject, **settings: str) -> subprocess.CompletedProcess[str]:
    return project.with_settings(settings).run("tap-postgres", "target-hubassoc", check=False)


def test_a_mirror_from_postgres_makes_each_covered_contacts_companies_exactly_the_table(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    store = demo_sandbox.store
    linked = [c for c in store.object_ids("contacts") if len(companies(store, c)) >= 2]
    # Unchanged contacts keep the archived share under the default mirror_max_archive_fraction (0.5).
    changed, emptied, *unchanged = linked[:8]
    spare = next(c for c in store.object_ids("companies") if c not in companies(store, changed))
    wanted = [(changed, c) for c in companies(store, changed)[1:]] + [(changed, spare)]
    wanted += [(contact, c) for contact in unchanged for c in companies(store, contact)]
    create_desired_set(db, [changed, emptied, *unchanged], wanted)
    expected = demo_store()
    dropped = [(changed, companies(store, changed)[0]), *((emptied, c) for c in companies(store, emptied))]
    for contact, company in dropped:
        for to_id, type_id in expected.targets("contacts", contact, "companies"):
            if to_id == company:
                expected.archive("contacts", contact, "companies", to_id, type_id)
    expected.associate("contacts", changed, "companies", spare, UNLABELED)

    dry = mirror(warehouse_project, TARGET_HUBASSOC_DRY_RUN="true")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert store_edges(store) == store_edges(demo_store())
    assert "dry run: mirror stream public-contact_companies_mirror plan" in dry.stderr

    done = mirror(warehouse_project)
    assert done.returncode == 0, done.stderr[-3000:]
    assert store_edges(store) == store_edges(expected)
    assert not (warehouse_project.output / "hubassoc-rejected.jsonl").exists()
