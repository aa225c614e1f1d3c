"""Associations as comparable edges (object types by name), from the sandbox's store, from files and from the
warehouse: for the end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

from demo.pipeline import MeltanoProject
from demo.warehouse import Database
from hubassoc.objects import parse_object_type
from hubassoc.sandbox import Store

Edge = tuple[str, str, str, str, int]
EDGE_COLUMNS = "from_object_type, from_id, to_object_type, to_id, association_type_id"


def named_edge(record: dict[str, Any]) -> Edge:
    return (parse_object_type(record["from_object_type"]).name, str(record["from_id"]),
            parse_object_type(record["to_object_type"]).name, str(record["to_id"]),
            int(record["association_type_id"]))


def store_edges(store: Store) -> set[Edge]:
    return {named_edge(r) for r in store.records()}


def warehouse_rows(db: Database, where: str = "TRUE") -> list[Edge]:
    """The replicated associations table's rows as edges, duplicates kept so a test can see them."""
    rows = db.rows(f"SELECT {EDGE_COLUMNS} FROM hubspot.associations WHERE {where}")
    return [(f, str(fi), t, str(ti), int(k)) for f, fi, t, ti, k in rows]


def current_rows(db: Database) -> list[Edge]:
    """Rows target-postgres has not marked deleted."""
    return warehouse_rows(db, "_sdc_deleted_at IS NULL")


def batches_saved(project: MeltanoProject, state_id: str, store: Store, batch_size: int) -> int:
    """How many contacts batches the STATE Meltano kept covers: its listing cursor (an object id) plus the skip."""
    state = json.loads(project.meltano("state", "get", state_id, check=True).stdout)
    partitions = state["singer_state"]["bookmarks"].get("associations", {}).get("partitions", [])
    if not partitions:
        return 0
    position = partitions[0]
    ids = store.object_ids("contacts")
    start = 0 if position.get("after") is None else ids.index(int(position["after"]))
    return (start + position.get("skip", 0)) // batch_size


def requests_for_contacts_to_deals(store: Store) -> int:
    """Types, listing pages of 100, reads of 50, and per-object pages (500 each) past an object's first 100."""
    contacts = store.object_ids("contacts")
    extra = sum(-(-max(0, len(store.targets("contacts", c, "deals")) - 100) // 500) for c in contacts)
    return 1 + -(-len(contacts) // 100) + -(-len(contacts) // 50) + extra
