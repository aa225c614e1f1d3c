"""What v3 shows of a store's associations: the oracle the tap and v4 tests both compare against."""

from __future__ import annotations

from typing import Any

from hubassoc.objects import parse_object_type
from hubassoc.sandbox import Store


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
