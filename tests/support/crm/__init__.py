"""CRMs the tests run on, built by hand in a sandbox Store (one module per CRM), and what v3 shows of a store.

Expected values come from the store (what "HubSpot" holds) and HubSpot's documented behaviour
(hubspot-associations-api.md), never from the plugins' own code.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from hubassoc.objects import parse_object_type
from hubassoc.sandbox import Store
from tests.support.singer import Key, key_of

# HubSpot-defined association types (hubspot-associations-api.md, "Object types").
PRIMARY, UNLABELED = 1, 279  # contact->company
DEAL_COMPANY_UNLABELED = 341

V3_BATCH_READ_ENTRIES = 100  # v3 batch read returns an object's first 100 associations
PER_OBJECT_PAGE = 500  # the client follows >100 objects through the per-object endpoint, 500 a page
CONTACTS_DEALS_BOTH_WAYS = [{"from": "contacts", "to": "deals"}, {"from": "deals", "to": "contacts"}]


def v3_records(store: Store, from_type: str, to_type: str) -> list[dict[str, Any]]:
    """What v3 batch read exposes of a pair: everything, except toward companies only the primary company.

    (hubspot-associations-api.md: "Toward companies v3 returns only the primary company.") v3 names a type
    but carries no label, so ``association_label`` is null where the store (v4's view) has one.
    """
    records = [{**r, "association_label": None} for r in store.records(from_type, to_type)]
    primary = store.primary_type(from_type, to_type)
    if parse_object_type(to_type).name != "companies" or primary is None:
        return records
    primaries = {(r["from_id"], r["to_id"]) for r in records if r["association_type_id"] == primary.type_id}
    return [r for r in records if (r["from_id"], r["to_id"]) in primaries]


def extra_pages(store: Store, from_type: str, to_type: str) -> int:
    """Per-object requests a full read needs: objects past 100 entries continue 500 at a time."""
    per_object: dict[str, int] = {}
    for record in v3_records(store, from_type, to_type):
        per_object[record["from_id"]] = per_object.get(record["from_id"], 0) + 1
    return sum(math.ceil((n - V3_BATCH_READ_ENTRIES) / PER_OBJECT_PAGE)
               for n in per_object.values() if n > V3_BATCH_READ_ENTRIES)


def store_keys(store: Store, pairs: Iterable[tuple[str, str]]) -> Counter[Key]:
    """What HubSpot holds for ``pairs``, as keys (each once: the store is a set)."""
    return Counter(key_of(r) for a, b in pairs for r in store.records(a, b))


def contacts_and_deals(contacts: list[int], deals: list[int]) -> Store:
    """Contacts and deals only, each contact with one deal (round robin): two from types, one pair each way."""
    store = Store()
    store.add_objects("contacts", contacts)
    store.add_objects("deals", deals)
    store.add_associations("contacts", "deals", ((c, deals[i % len(deals)]) for i, c in enumerate(contacts)))
    return store
