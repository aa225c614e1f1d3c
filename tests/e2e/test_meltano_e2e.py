"""The real `meltano` runs both plugins against a sandbox: every direction ends in exactly the expected data.

These install the plugins into .meltano/ once (seconds when already installed) and use a Meltano system
database per test, so each test's state is its own.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from demo.make_changes import CHANGES_PATH, change_records, demo_store, render
from demo.pipeline import MeltanoProject
from hubassoc.objects import parse_object_type
from hubassoc.sandbox import Sandbox, Store

pytestmark = pytest.mark.e2e

Edge = tuple[str, str, str, str, int]
TAP_STATE_ID = "sandbox:tap-hubassoc-to-target-jsonl"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`meltano install` once for the module: every test then reuses the plugins' virtualenvs."""
    MeltanoProject("http://127.0.0.1:9", tmp_path_factory.mktemp("install")).install()


@pytest.fixture
def demo_sandbox(sandbox: Callable[..., Sandbox], installed: None) -> Sandbox:
    return sandbox(seed="demo")


@pytest.fixture
def project(demo_sandbox: Sandbox, tmp_path: Path) -> MeltanoProject:
    return MeltanoProject(demo_sandbox.url, tmp_path)


def edge(record: dict[str, Any]) -> Edge:
    return (parse_object_type(record["from_object_type"]).name, str(record["from_id"]),
            parse_object_type(record["to_object_type"]).name, str(record["to_id"]),
            int(record["association_type_id"]))


def store_edges(store: Store) -> set[Edge]:
    return {edge(r) for r in store.records()}


def v3_visible(store: Store) -> set[Edge]:
    """What v3 batch reads return: toward companies only the primary company's associations (API notes)."""
    primary = {(e.from_type, e.from_id): e.to_id for e in _all_edges(store)
               if e.to_type == "companies" and store.type_by_id(e.from_type, e.to_type, e.type_id).primary}
    return {(e.from_type, str(e.from_id), e.to_type, str(e.to_id), e.type_id) for e in _all_edges(store)
            if e.to_type != "companies" or primary.get((e.from_type, e.from_id)) == e.to_id}


def _all_edges(store: Store) -> Iterator[Any]:
    pairs = {(r["from_object_type"], r["to_object_type"]) for r in store.records()}
    for from_type, to_type in sorted(pairs):
        yield from store.edges(from_type, to_type)


def csv_edges(path: Path) -> set[Edge]:
    with path.open(encoding="utf-8", newline="") as rows:
        return {edge(row) for row in csv.DictReader(rows)}


def jsonl_edges(path: Path) -> list[Edge]:
    return [edge(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def test_warehouse_replication_writes_every_edge_v3_exposes(project: MeltanoProject, demo_sandbox: Sandbox) -> None:
    """`meltano run tap-hubassoc target-csv`: the CSV holds exactly the sandbox's v3-visible associations."""
    project.run("tap-hubassoc", "target-csv")
    assert csv_edges(project.output / "warehouse" / "associations.csv") == v3_visible(demo_sandbox.store)


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
    read_route = "POST /crm/v3/associations/contacts/deals/batch/read"
    demo_sandbox.configure(daily_limit=requests_for_contacts_to_deals(demo_sandbox.store) - 1)
    first = project.run("tap-hubassoc", "target-jsonl", check=False)
    assert first.returncode != 0
    assert "daily request limit" in first.stderr
    saved = batches_saved(project, demo_sandbox.store, batch_size=50)
    assert 1 <= saved < 4

    demo_sandbox.reset_rate_limits()
    demo_sandbox.configure(daily_limit=None)
    demo_sandbox.reset_counters()
    project.run("tap-hubassoc", "target-jsonl")
    rows = jsonl_edges(project.output / "backup" / "associations.jsonl")  # both runs append to one file
    assert set(rows) == {e for e in v3_visible(demo_sandbox.store) if e[0] == "contacts" and e[2] == "deals"}
    assert demo_sandbox.counters()["requests"][read_route] == 4 - saved


def requests_for_contacts_to_deals(store: Store) -> int:
    """Types, listing pages of 100, reads of 50, and per-object pages (500 each) past an object's first 100."""
    contacts = store.object_ids("contacts")
    extra = sum(-(-max(0, len(store.targets("contacts", c, "deals")) - 100) // 500) for c in contacts)
    return 1 + -(-len(contacts) // 100) + -(-len(contacts) // 50) + extra


def batches_saved(project: MeltanoProject, store: Store, batch_size: int) -> int:
    """How many batches the STATE Meltano kept covers: its listing cursor (an object id) plus the skip."""
    state = json.loads(project.meltano("state", "get", TAP_STATE_ID, check=True).stdout)
    partitions = state["singer_state"]["bookmarks"].get("associations", {}).get("partitions", [])
    if not partitions:
        return 0
    position = partitions[0]
    ids = store.object_ids("contacts")
    start = 0 if position.get("after") is None else ids.index(int(position["after"]))
    return (start + position.get("skip", 0)) // batch_size
