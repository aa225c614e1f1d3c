"""The objects endpoints: listing a type's ids, counting them by search, reading record ids by a unique property."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hubassoc.api_version import DATED, V3, V4, parse_api_version
from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError
from hubassoc.limits import LIST_PAGE_LIMIT, OBJECTS_READ_LIMIT, SEARCH_PER_SECOND
from hubassoc.objects import parse_object_type
from hubassoc.pacing import Pacer
from hubassoc.replies import next_after_cursor


@dataclass(frozen=True)
class IdPage:
    """One page of object ids and the cursor that fetched it (None for the first), for resuming."""

    after: str | None
    ids: list[str]
    next_after: str | None


class ObjectsApi:
    """``/crm/v3/objects``: one per client, as it holds search's own limit on top of the client's window."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._search_pacer = Pacer(SEARCH_PER_SECOND, 1.0)

    def list_object_ids(self, object_type: str, after: str | None = None, *, rank: int = 0) -> Iterator[IdPage]:
        """Page through an object type's ids, 100 at a time, asking for no properties beyond the id.

        Each page's cursor comes from the previous reply: the pages are a chain, paced first (pacing.py). When
        several listings run at once, those of lower ``rank`` go first.
        """
        path = f"/crm/v3/objects/{parse_object_type(object_type).path}"
        pacer = self.client.pacer
        with pacer.chain(rank):
            while True:
                params = {"limit": LIST_PAGE_LIMIT, "archived": "false", "properties": "hs_object_id"}
                if after is not None:
                    params["after"] = after
                with self.client.chain_link(rank):
                    body = self.client.request("GET", path, params=params)
                ids = [str(result["id"]) for result in body.get("results", [])]
                next_after = next_after_cursor(body)
                with pacer.chain_paused(rank):
                    yield IdPage(after, ids, next_after)
                if next_after is None:
                    return
                after = next_after

    def count_objects(self, object_type: str) -> int:
        """How many objects of a type exist, in one call: the listing tells no total, search does."""
        path = f"/crm/v3/objects/{parse_object_type(object_type).path}/search"
        body = self.client.request("POST", path, json_body={"limit": 1, "properties": ["hs_object_id"]},
                                   also_paced_by=self._search_pacer)
        total = body.get("total") if isinstance(body, dict) else None
        if type(total) is not int or total < 0:
            raise HubSpotError("HubSpot's search reply has no total", route=f"POST {path}")
        return total


# The objects routes of each API version; HubSpot's date-versioned objects API sits beside its associations one.
_OBJECTS_PREFIXES = {V3: "/crm/v3/objects", V4: "/crm/v3/objects", DATED: "/crm/objects/2026-03"}
EMAIL = "email"  # contacts' unique property, which HubSpot matches whatever its case


def objects_prefix(api_version: str) -> str:
    """``/crm/v3/objects``, or ``/crm/objects/2026-03`` for the date-versioned API (v4 has no objects API)."""
    return _OBJECTS_PREFIXES[parse_api_version(api_version)]


def property_value_key(id_property: str, value: str) -> str:
    """What two values of a unique property are compared by: emails without case, as HubSpot does; others exactly."""
    return value.lower() if id_property == EMAIL else value


@dataclass(frozen=True)
class PropertyMatches:
    """One batch read by a unique property: record ids by the value's key, and the keys HubSpot found no record for."""

    ids: dict[str, str]
    missing: list[str]


def read_ids_by_property(
    client: HubSpotClient, object_type: str, id_property: str, values: list[str], *, api_version: str = V3,
) -> PropertyMatches:
    """Record ids of the objects whose unique ``id_property`` has these values, in one call of at most 100.

    Matched by the property's value in each result, never by position (HubSpot answers out of order); a value
    with no result is missing, whether or not the 207's OBJECT_NOT_FOUND error lists it.
    """
    if len(values) > OBJECTS_READ_LIMIT:
        msg = f"at most {OBJECTS_READ_LIMIT} values a call, got {len(values)}"
        raise ValueError(msg)
    path = f"{objects_prefix(api_version)}/{parse_object_type(object_type).path}/batch/read"
    body = client.request("POST", path, json_body={
        "idProperty": id_property, "inputs": [{"id": value} for value in values], "properties": [id_property],
    })
    ids: dict[str, str] = {}
    for result in (body or {}).get("results", []) if isinstance(body, dict) else []:
        found = (result.get("properties") or {}).get(id_property) if isinstance(result, dict) else None
        if found is not None and result.get("id") is not None:
            ids[property_value_key(id_property, str(found))] = str(result["id"])
    asked = dict.fromkeys(property_value_key(id_property, value) for value in values)
    return PropertyMatches(ids, [key for key in asked if key not in ids])
