"""Write demo/association_changes.jsonl: the reverse-ETL sample the demo loads, drawn from the demo CRM.

The ids must exist in the sandbox's ``demo`` seed, so the sample is derived from it rather than typed by hand;
tests/e2e checks that the shipped file is what this script writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hubassoc.sandbox import Store, preset, seed_store

CHANGES_PATH = Path(__file__).with_name("association_changes.jsonl")
DELETED_AT = "2026-11-01T00:00:00Z"


def demo_store() -> Store:
    """The demo CRM as the sandbox seeds it."""
    store = Store()
    seed_store(store, preset("demo"))
    return store


def change_records(store: Store) -> list[dict[str, Any]]:
    """Creates (default type, label by name, type by id), archives, and two records HubSpot cannot take."""
    contacts, companies = store.object_ids("contacts"), store.object_ids("companies")
    deals = store.object_ids("deals")
    linked = {(e.from_id, e.to_id) for e in store.edges("contacts", "companies")}
    free = [(c, k) for c in contacts[:40] for k in companies[:8] if (c, k) not in linked]
    unlabeled = [e for e in store.edges("contacts", "companies") if e.type_id == 279]
    deal_ticket = store.edges("deals", "tickets")

    def record(from_type: str, from_id: int, to_type: str, to_id: int, **extra: Any) -> dict[str, Any]:
        return {"from_object_type": from_type, "from_id": str(from_id), "to_object_type": to_type,
                "to_id": str(to_id), **extra}

    return [
        *(record("contacts", c, "companies", k) for c, k in free[:6]),
        *(record("contacts", c, "companies", k, association_type="billing_contact") for c, k in free[6:8]),
        record("Contacts", contacts[-1], "deal", deals[0], association_type_id=4),
        record("0-1", contacts[-2], "0-3", deals[1], association_type_id=4),
        *(record("contacts", e.from_id, "companies", e.to_id, _sdc_deleted_at=DELETED_AT) for e in unlabeled[:3]),
        record("deals", deal_ticket[0].from_id, "tickets", deal_ticket[0].to_id, _sdc_deleted_at=DELETED_AT),
        record("contacts", contacts[0], "companies", 999_999_999),  # no such company: HubSpot refuses it
        record("widgets", contacts[0], "companies", companies[0]),  # no such object type
    ]


def render(records: list[dict[str, Any]]) -> str:
    """One JSON object a line, as tap-jsonl reads them."""
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)


if __name__ == "__main__":
    CHANGES_PATH.write_text(render(change_records(demo_store())), encoding="utf-8")
    print(f"wrote {CHANGES_PATH}")
