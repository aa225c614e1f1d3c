"""The real `meltano` runs both plugins against a sandbox: every direction ends in exactly the expected data.

These use the plugins conftest.py installed into .meltano/ and a Meltano system database per test, so each
test's state is its own.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from demo.make_changes import CHANGES_PATH, change_records, demo_store, render
from demo.pipeline import MeltanoProject
from hubassoc.objects import parse_object_type
from hubassoc.sandbox import Sandbox, Store
from tests.support.warehouse import (
    Edge,
    batches_saved,
    named_edge,
    requests_for_contacts_to_deals,
    store_edges,
)

pytestmark = pytest.mark.e2e

TAP_STATE_ID = "sandbox:tap-hubassoc-to-target-jsonl"


def csv_edges(path: Path) -> set[Edge]:
    with path.open(encoding="utf-8", newline="") as rows:
        return {named_edge(row) for row in csv.DictReader(rows)}


def jsonl_edges(path: Path) -> list[Edge]:
    return [named_edge(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def test_warehouse_replication_writes_every_edge_v3_exposes(project: MeltanoProject, demo_sandbox: Sandbox) -> None:
    """`meltano run tap-hubassoc target-csv`: the CSV holds exactly the sandbox's v3-visible associations."""
    project.run("tap-hubassoc", "target-csv")
    assert csv_edges(project.output / "warehouse" / "associations.csv") == store_edges(demo_sandbox.store)


def test_reverse_etl_applies_the_shipped_changes_exactly(project: MeltanoProject, demo_sandbox: Sandbox) -> None:
    """Creates and `_sdc_deleted_at` archives land; the two impossible records are dead letters with reasons."""
    expected = demo_store()
    for record in change_records(expected):
        apply_change(expected, record)
    project.run("tap-association-changes", "target-hubassoc")
    assert store_edges(demo_sandbox.store) == store_edges(expected)
    letters = [json.loads(line) for line in (project.output / "hubassoc-rejected.jsonl").read_text().splitlines()]
    assert sorted(letter["record"]["to_id"] for letter in letters) == ["11000000001", "999999999"]
    assert all(letter["reason"] for letter in letters)


def apply_change(store: Store, record: dict[str, Any]) -> None:
    """The meaning of one change record, applied directly to a store: the expected end state."""
    try:
        from_type = parse_object_type(record["from_object_type"]).name
    except ValueError:
        return  # an unknown object type is rejected, not applied
    to_type = parse_object_type(record["to_object_type"]).name
    from_id, to_id = int(record["from_id"]), int(record["to_id"])
    if not store.has_object(to_type, to_id):
        return  # HubSpot refuses an id that does not exist
    if "association_type" in record:
        kind = store.type_by_name(from_type, to_type, record["association_type"]).type_id
    else:
        kind = record.get("association_type_id") or store.ordinary_type(from_type, to_type).type_id
    if record.get("_sdc_deleted_at"):
        store.archive(from_type, from_id, to_type, to_id, kind)
    else:
        store.associate(from_type, from_id, to_type, to_id, kind)


def test_backup_then_restore_into_an_empty_portal_reproduces_every_association(
    project: MeltanoProject, demo_sandbox: Sandbox,
) -> None:
    """tap → JSONL file → target: v3 shows every contact-company pair from the companies side, so all return."""
    original = store_edges(demo_sandbox.store)
    project.run("tap-hubassoc", "target-jsonl")
    demo_sandbox.store.clear_associations()
    project.run("tap-association-backup", "target-hubassoc")
    assert store_edges(demo_sandbox.store) == original


def test_shipped_changes_file_is_what_the_generator_writes() -> None:
    """The demo's sample must name ids that exist in the demo CRM; it is generated, so it cannot drift."""
    assert CHANGES_PATH.read_text(encoding="utf-8") == render(change_records(demo_store()))


def test_interrupted_run_resumes_from_the_state_meltano_kept(
    project: MeltanoProject, demo_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run stopped by HubSpot's daily limit leaves its last STATE in Meltano; the next run continues there.

    200 contacts in batches of 50 are 4 reads. With one request in flight at a time the requests go in order,
    so a daily limit of one less than the run needs stops it inside the last batch.
    """
    monkeypatch.setenv("TAP_HUBASSOC_BATCH_SIZE", "50")
    monkeypatch.setenv("TAP_HUBASSOC_MAX_WORKERS", "1")
    monkeypatch.setenv("TAP_HUBASSOC_ASSOCIATIONS", json.dumps([{"from": "contacts", "to": "deals"}]))
    monkeypatch.setenv("TAP_HUBASSOC_READ_EACH_PAIR_ONCE", "false")  # resume is counted in contacts batches
    read_route = "POST /crm/v3/associations/contacts/deals/batch/read"
    demo_sandbox.configure(daily_limit=requests_for_contacts_to_deals(demo_sandbox.store) - 1)
    first = project.run("tap-hubassoc", "target-jsonl", check=False)
    assert first.returncode != 0
    assert "daily request limit" in first.stderr
    saved = batches_saved(project, TAP_STATE_ID, demo_sandbox.store, batch_size=50)
    assert 1 <= saved < 4

    demo_sandbox.reset_rate_limits()
    demo_sandbox.configure(daily_limit=None)
    demo_sandbox.reset_counters()
    project.run("tap-hubassoc", "target-jsonl")
    rows = jsonl_edges(project.output / "backup" / "associations.jsonl")  # both runs append to one file
    assert set(rows) == {e for e in store_edges(demo_sandbox.store) if e[0] == "contacts" and e[2] == "deals"}
    assert demo_sandbox.counters()["requests"][read_route] == 4 - saved
