"""The v3 association endpoints: a pair's types, batch read (complete past 100 per object), create and archive.

v3 names a type by its v3 name and lists neither categories nor labels; toward companies its batch read shows
only the primary company. An object with more than 100 associations comes back truncated with a cursor that
only the per-object endpoint honours, so the rest is read there, each object's pages on the client's page pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError, quoted
from hubassoc.limits import PER_OBJECT_PAGE_LIMIT, READ_BATCH_LIMIT
from hubassoc.objects import ObjectType, is_object_id, pair_path, parse_object_type
from hubassoc.replies import (
    InputError,
    inputs_to_send,
    match_input_errors,
    next_after_cursor,
    raise_on_read_errors,
    read_write_reply,
)
from hubassoc.types import AssociationType, PairTypes
from hubassoc.types_v3 import V3PairTypes


@dataclass(frozen=True)
class ListedType:
    """A type as the v3 types endpoint lists it: HubSpot sends the id as a string holding an integer."""

    type_id: int
    name: str


class AssociationInput(NamedTuple):
    """One edge to create or archive, in v3 terms (the type travels by name); a named tuple: one per record."""

    from_id: str
    to_id: str
    type_name: str


class Edge(NamedTuple):
    """One association read back: ``type_name`` is HubSpot's v3 name for it (a named tuple: one per record)."""

    from_id: str
    to_id: str
    type_name: str


class AssociationsV3:
    """``/crm/v3/associations``; every request goes through ``client.request`` (pacing, retries)."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client

    # -- types -----------------------------------------------------------------------------------------------

    def association_types(self, from_type: str, to_type: str) -> list[ListedType]:
        """The types a pair may use, defaults and the account's custom labels, as HubSpot lists them."""
        path = f"/crm/v3/associations/{pair_path(from_type, to_type)}/types"
        body = self.client.request("GET", path)
        return [ListedType(int(t["id"]), str(t["name"])) for t in body.get("results", [])]

    def types(self, from_type: ObjectType, to_type: ObjectType) -> V3PairTypes:
        """The pair's types behind the one interface (:class:`hubassoc.types.PairTypes`)."""
        listed = self.association_types(from_type.name, to_type.name)
        return V3PairTypes(from_type, to_type, [(t.type_id, t.name) for t in listed])

    # -- reads -----------------------------------------------------------------------------------------------

    def batch_read(self, from_type: str, to_type: str, ids: list[str]) -> list[Edge]:
        """Every association of ``ids`` toward ``to_type``, in input order, complete past 100 per object.

        HubSpot returns results out of input order, omits ids without associations (NO_ASSOCIATIONS_FOUND in a
        207: no rows), and truncates an object at 100 with a cursor that only the per-object endpoint honours.
        """
        if len(ids) > READ_BATCH_LIMIT:
            msg = f"batch_read takes at most {READ_BATCH_LIMIT} ids, got {len(ids)}"
            raise ValueError(msg)
        path = f"/crm/v3/associations/{pair_path(from_type, to_type)}/batch/read"
        body = self.client.request("POST", path, json_body={"inputs": [{"id": i} for i in ids]})
        raise_on_read_errors(body, f"POST {path}")
        by_id: dict[str, list[Edge]] = {}
        truncated: list[tuple[str, str]] = []
        for result in body.get("results", []):
            from_id = str(result["from"]["id"])
            edges = by_id.setdefault(from_id, [])
            edges += [Edge(from_id, str(t["id"]), str(t["type"])) for t in result.get("to", [])]
            cursor = next_after_cursor(result)
            if cursor is not None:
                truncated.append((from_id, cursor))
        rest = self.client.map_pages(lambda item: self._read_remaining(from_type, item[0], to_type, item[1]),
                                     truncated)
        for (from_id, _), edges in zip(truncated, rest, strict=True):
            by_id[from_id] += edges
        return [edge for i in dict.fromkeys(ids) for edge in by_id.get(i, [])]

    def records(self, types: PairTypes, ids: list[str]) -> list[dict[str, Any]]:
        """One batch read as association records; each type named in it is resolved once, not once per record."""
        from_type, to_type = types.from_type.name, types.to_type.name
        edges = self.batch_read(from_type, to_type, ids)
        type_fields = {name: _type_fields(types.by_name(name)) for name in {edge.type_name for edge in edges}}
        return [
            {"from_object_type": from_type, "from_id": edge.from_id, "to_object_type": to_type,
             "to_id": edge.to_id, **type_fields[edge.type_name]}
            for edge in edges
        ]

    def _read_remaining(self, from_type: str, from_id: str, to_type: str, after: str) -> list[Edge]:
        """Follow an object's association paging through the per-object endpoint, to the end."""
        if not is_object_id(from_id):
            msg = f"HubSpot returned a non-numeric object id {quoted(from_id)}"
            raise HubSpotError(msg)
        from_path, to_path = parse_object_type(from_type).path, parse_object_type(to_type).path
        path = f"/crm/v3/objects/{from_path}/{from_id}/associations/{to_path}"
        edges: list[Edge] = []
        cursor: str | None = after
        while cursor is not None:
            body = self.client.request("GET", path, params={"after": cursor, "limit": PER_OBJECT_PAGE_LIMIT})
            edges += [Edge(from_id, str(t["id"]), str(t["type"])) for t in body.get("results", [])]
            cursor = next_after_cursor(body)
        return edges

    # -- writes ----------------------------------------------------------------------------------------------

    def write_input(self, kind: AssociationType | None, from_id: str, to_id: str) -> AssociationInput:
        """The input that writes ``kind`` between two objects; v3 always names a type (``record_type`` does)."""
        assert kind is not None
        assert kind.name is not None
        return AssociationInput(from_id, to_id, kind.name)

    def batch_create(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        """Create associations; returns the inputs HubSpot refused (207), everything else was written."""
        return self._batch_write("create", from_type, to_type, inputs)

    def batch_archive(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        """Archive associations (absent ones are not an error); returns the inputs HubSpot refused."""
        return self._batch_write("archive", from_type, to_type, inputs)

    def _batch_write(
        self, action: str, from_type: str, to_type: str, inputs: list[AssociationInput],
    ) -> list[InputError]:
        if not inputs_to_send(f"batch/{action}", inputs):
            return []
        path = f"/crm/v3/associations/{pair_path(from_type, to_type)}/batch/{action}"
        payload = {"inputs": [
            {"from": {"id": i.from_id}, "to": {"id": i.to_id}, "type": i.type_name} for i in inputs
        ]}
        body = self.client.request("POST", path, json_body=payload, read=read_write_reply)
        return match_input_errors(body, inputs)


def _type_fields(kind: AssociationType) -> dict[str, Any]:
    return {
        "association_type_id": kind.type_id,
        "association_type": kind.name,
        "association_category": kind.category,
        "association_label": None,  # v3 reads carry no label
    }
