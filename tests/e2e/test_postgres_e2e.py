"""The real `meltano` between the sandbox and a real PostgreSQL: replication with deletions, and reverse ETL.

One PostgreSQL serves the module (conftest.py), each test in a database of its own; target-postgres writes to
schema ``hubspot`` with ``_sdc_deleted_at`` soft deletes, as the sandbox environment in meltano.yml sets it.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from demo.make_changes import demo_store
from demo.pipeline import MeltanoProject
from demo.reverse_etl import ReverseEtlTraffic, compute_changes, count, load_changes
from demo.warehouse import Database
from hubassoc.sandbox import Sandbox, Store
from tests.support.warehouse import (
    Edge,
    batches_saved,
    current_rows,
    requests_for_contacts_to_deals,
    store_edges,
    warehouse_rows,
)

pytestmark = pytest.mark.e2e

REPLICATION_STATE_ID = "sandbox:tap-hubassoc-to-target-postgres"
BATCH_SIZE = 50  # 200 contacts: four batch reads, so an interruption can fall between two of them


@pytest.fixture
def warehouse_project(project: MeltanoProject, db: Database) -> MeltanoProject:
    """The sandbox's Meltano project with both Postgres plugins pointed at this test's database."""
    return project.with_settings(db.env())


def replicate(project: MeltanoProject) -> None:
    project.run("tap-hubassoc", "target-postgres")


def assert_exact(rows: list[Edge], expected: set[Edge]) -> None:
    """Each expected edge exactly once, nothing else."""
    assert [row for row, n in Counter(rows).items() if n > 1] == []
    assert set(rows) == expected


def archive_spread(store: Store, from_type: str, to_type: str, every: int) -> set[Edge]:
    """Archive every ``every``-th association of a pair in the sandbox: the edges v3 no longer shows."""
    visible = store_edges(store)
    for association in store.edges(from_type, to_type)[::every]:
        store.archive(from_type, association.from_id, to_type, association.to_id, association.type_id)
    removed = visible - store_edges(store)
    assert removed, "the sandbox must lose associations for the test to mean anything"
    return removed


def remove_some(store: Store) -> set[Edge]:
    """Associations removed from several pairs, seen from both ends where v3 shows both."""
    return (archive_spread(store, "contacts", "deals", every=9)
            | archive_spread(store, "companies", "contacts", every=13)
            | archive_spread(store, "deals", "tickets", every=5))


def test_replication_holds_exactly_what_the_sandbox_exposes(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    """`meltano run tap-hubassoc target-postgres`: one current row per v3-visible association, nothing deleted."""
    replicate(warehouse_project)
    assert_exact(current_rows(db), store_edges(demo_sandbox.store))
    assert warehouse_rows(db, "_sdc_deleted_at IS NOT NULL") == []


def test_associations_removed_in_hubspot_are_soft_deleted_by_the_next_run(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    """The second run's ACTIVATE_VERSION marks exactly the removed rows with _sdc_deleted_at; the rest stay."""
    replicate(warehouse_project)
    removed = remove_some(demo_sandbox.store)
    replicate(warehouse_project)
    assert_exact(current_rows(db), store_edges(demo_sandbox.store))
    assert_exact(warehouse_rows(db, "_sdc_deleted_at IS NOT NULL"), removed)


def test_associations_removed_in_hubspot_are_deleted_with_hard_delete(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    """With hard_delete the removed rows leave the table: it holds exactly what the sandbox exposes."""
    project = warehouse_project.with_settings({"TARGET_POSTGRES_HARD_DELETE": "true"})
    replicate(project)
    remove_some(demo_sandbox.store)
    replicate(project)
    assert_exact(warehouse_rows(db), store_edges(demo_sandbox.store))


def test_interrupted_replication_loses_no_row_and_the_resumed_run_makes_the_table_exact(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run stopped by the daily limit deletes nothing; resumed from Meltano's state it finishes the version.

    With one request in flight at a time the requests go in order, so a daily limit of one less than a run
    needs stops it inside the last of its four batch reads.
    """
    monkeypatch.setenv("TAP_HUBASSOC_BATCH_SIZE", str(BATCH_SIZE))
    monkeypatch.setenv("TAP_HUBASSOC_MAX_WORKERS", "1")
    monkeypatch.setenv("TAP_HUBASSOC_ASSOCIATIONS", json.dumps([{"from": "contacts", "to": "deals"}]))
    monkeypatch.setenv("TAP_HUBASSOC_READ_EACH_PAIR_ONCE", "false")  # resume is counted in contacts batches
    store = demo_sandbox.store
    replicate(warehouse_project)
    removed = {e for e in archive_spread(store, "contacts", "deals", every=7) if e[0] == "contacts"}
    exposed = {e for e in store_edges(store) if e[0] == "contacts" and e[2] == "deals"}

    demo_sandbox.reset_rate_limits()
    demo_sandbox.configure(daily_limit=requests_for_contacts_to_deals(store) - 1)
    stopped = warehouse_project.run("tap-hubassoc", "target-postgres", check=False)
    assert stopped.returncode != 0
    assert "daily request limit" in stopped.stderr
    saved = batches_saved(warehouse_project, REPLICATION_STATE_ID, store, batch_size=BATCH_SIZE)
    assert 1 <= saved < 4
    assert set(current_rows(db)) >= exposed

    demo_sandbox.reset_rate_limits()
    demo_sandbox.configure(daily_limit=None)
    demo_sandbox.reset_counters()
    replicate(warehouse_project)
    assert demo_sandbox.counters()["requests"]["POST /crm/v3/associations/contacts/deals/batch/read"] == 4 - saved
    assert_exact(current_rows(db), exposed)
    assert_exact(warehouse_rows(db, "_sdc_deleted_at IS NOT NULL"), removed)


# Tables of links for tap-postgres, each with its ids in one numeric column type.
ID_COLUMN_TYPES = {"links_bigint": "bigint", "links_numeric": "numeric", "links_double": "double precision"}


def create_links_table(db: Database, table: str, id_type: str, edges: list[tuple[str, int, str, int]]) -> None:
    """A table of (from type, from id, to type, to id) rows, its ids stored as ``id_type``."""
    db.execute(
        f"CREATE TABLE {table} (from_object_type text, from_id {id_type}, to_object_type text, to_id {id_type},"
        " PRIMARY KEY (from_object_type, from_id, to_object_type, to_id))",
    )
    for row in edges:
        db.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", row)


def create_removals_table(db: Database, edges: list[Edge]) -> None:
    """links_to_remove: the associations to archive, with their type ids."""
    db.execute(
        "CREATE TABLE links_to_remove (from_object_type text, from_id bigint, to_object_type text,"
        " to_id bigint, association_type_id integer,"
        " PRIMARY KEY (from_object_type, from_id, to_object_type, to_id, association_type_id))",
    )
    for from_type, from_id, to_type, to_id, kind in edges:
        db.execute("INSERT INTO links_to_remove VALUES (%s, %s, %s, %s, %s)",
                   (from_type, int(from_id), to_type, int(to_id), kind))


def unlinked_contact_deals(store: Store, count: int) -> list[tuple[str, int, str, int]]:
    """Contact-deal pairs the demo CRM does not link yet."""
    linked = {(e.from_id, e.to_id) for e in store.edges("contacts", "deals")}
    deals = store.object_ids("deals")
    free = [(c, d) for c in store.object_ids("contacts") for d in deals[:5] if (c, d) not in linked]
    return [("contacts", c, "deals", d) for c, d in free[:count]]


def reverse_etl(
    project: MeltanoProject, stream_actions: dict[str, str], tables: list[str],
) -> subprocess.CompletedProcess[str]:
    """`meltano run tap-postgres target-hubassoc`, selecting ``tables`` of schema public."""
    return project.with_settings({
        "TARGET_HUBASSOC_STREAM_ACTIONS": json.dumps(stream_actions),
        "TAP_POSTGRES__SELECT": json.dumps([f"public-{table}.*" for table in tables]),
    }).run("tap-postgres", "target-hubassoc", check=False)


def test_reverse_etl_from_numeric_id_columns_creates_and_archives_by_table_name(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    """bigint, numeric and double precision ids all become creates; `links_to_remove: archive` archives."""
    store = demo_sandbox.store
    expected = demo_store()
    creates = unlinked_contact_deals(store, count=3 * len(ID_COLUMN_TYPES))
    for n, (table, id_type) in enumerate(ID_COLUMN_TYPES.items()):
        create_links_table(db, table, id_type, creates[3 * n:3 * n + 3])
    removals = [(e.from_type, str(e.from_id), e.to_type, str(e.to_id), e.type_id)
                for e in store.edges("contacts", "companies") if e.type_id == 279][:4]
    create_removals_table(db, removals)
    for from_type, from_id, to_type, to_id in creates:
        expected.associate(from_type, from_id, to_type, to_id, expected.ordinary_type(from_type, to_type).type_id)
    for from_type, from_id, to_type, to_id, kind in removals:
        expected.archive(from_type, int(from_id), to_type, int(to_id), kind)

    done = reverse_etl(warehouse_project, {"links_to_remove": "archive"}, [*ID_COLUMN_TYPES, "links_to_remove"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert store_edges(store) == store_edges(expected)
    assert not (warehouse_project.output / "hubassoc-rejected.jsonl").exists()


def test_a_stream_actions_key_that_matches_no_stream_fails_the_run_naming_it(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    """A misspelt table name in stream_actions must not silently turn archives into creates."""
    create_links_table(db, "links_to_add", "bigint", unlinked_contact_deals(demo_sandbox.store, count=2))
    done = reverse_etl(warehouse_project, {"links_to_add": "create", "links_to_remvoe": "archive"},
                       ["links_to_add"])
    assert done.returncode != 0
    assert "links_to_remvoe" in done.stderr


def test_demo_round_trip_ends_as_the_warehouse_wants_sending_only_the_selected_tables(
    warehouse_project: MeltanoProject, demo_sandbox: Sandbox, db: Database,
) -> None:
    """The demo's SQL, loaded with meltano.yml's own select: desired_links sits in public too, and is not read."""
    replicate(warehouse_project)
    compute_changes(db)
    to_add = db.scalar("SELECT count(*) FROM links_to_add")
    to_remove = db.scalar("SELECT count(*) FROM links_to_remove")
    assert to_add > 0
    assert to_remove > 0
    demo_sandbox.reset_counters()
    load_changes(warehouse_project)
    traffic = ReverseEtlTraffic.from_counters(demo_sandbox.counters())
    assert (traffic.creates, traffic.archives) == (to_add, to_remove)
    replicate(warehouse_project)
    assert count(db).as_wanted
