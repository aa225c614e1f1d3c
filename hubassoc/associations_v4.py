"""The v4 and date-versioned (2026-03) association endpoints, over the shared client's one transport and pacer.

The two APIs differ only in their path prefix (:mod:`hubassoc.api_version`), so one class serves both. What
this adds to v3:

* batch read returns every association (all companies, not only the primary) with each type's category,
  type id and label, and continues an object past its first page when the same id is sent again with the
  ``after`` cursor HubSpot gave (v3 ignores that; v4 honours it), so no per-object endpoint is needed;
* ``toObjectId`` arrives as a JSON number although described as a string: it becomes a string of digits
  straight from the integer JSON gives, never through a float, which would round ids above 2**53;
* writes name types by category and id (``types``), create HubSpot's default association when no type is
  given (batch/associate/default), and archive either named types (batch/labels/archive) or every type
  between two objects (batch/archive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hubassoc.api_version import associations_prefix, is_labelled
from hubassoc.client import HubSpotClient
from hubassoc.errors import HubSpotError, quoted
from hubassoc.limits import READ_BATCH_LIMIT
from hubassoc.objects import ObjectType, pair_path
from hubassoc.replies import InputError, inputs_to_send, match_input_errors, next_after_cursor, raise_on_read_errors
from hubassoc.types import AssociationType, PairTypes
from hubassoc.types_v4 import V4PairTypes, default_names


@dataclass(frozen=True)
class Label:
    """One association type of a pair as v4 lists it; ``label`` is None for an unlabeled type."""

    type_id: int
    category: str
    label: str | None


@dataclass(frozen=True)
class LabelledEdge:
    """One association of one type, read back with everything v4 says about its type."""

    from_id: str
    to_id: str
    type_id: int
    category: str
    label: str | None


@dataclass(frozen=True)
class LabelledInput:
    """One association to create or archive in v4 terms.

    With a type (``type_id`` and its ``category``) only that type is created or archived. Without one, create
    makes HubSpot's default association of the pair and archive removes every type between the two objects.
    """

    from_id: str
    to_id: str
    category: str | None = None
    type_id: int | None = None

    @property
    def typed(self) -> bool:
        """Whether the input names a type."""
        return self.type_id is not None

    @property
    def type_name(self) -> str:
        """How logs name the input's type (the dry-run samples read this, as for v3 inputs)."""
        return f"{self.category} {self.type_id}" if self.typed else "(no type)"


class AssociationsV4:
    """v4 or 2026-03 association endpoints; every request goes through ``client.request`` (pacing, retries)."""

    def __init__(self, client: HubSpotClient, api_version: str) -> None:
        if not is_labelled(api_version):
            msg = f"AssociationsV4 speaks v4 shapes; api_version {quoted(api_version)} does not have them"
            raise ValueError(msg)
        self.client = client
        self.prefix = associations_prefix(api_version)

    # -- reads -----------------------------------------------------------------------------------------------

    def labels(self, from_type: str, to_type: str) -> list[Label]:
        """``GET .../{from}/{to}/labels``: every type of the pair, HubSpot's and the account's."""
        body = self.client.request("GET", self._path(from_type, to_type, "labels"))
        return [Label(int(t["typeId"]), str(t["category"]), _label(t.get("label")))
                for t in (body or {}).get("results", [])]

    def types(self, from_type: ObjectType, to_type: ObjectType) -> V4PairTypes:
        """The pair's types behind the one interface (:class:`hubassoc.types.PairTypes`)."""
        listed = self.labels(from_type.name, to_type.name)
        return V4PairTypes(from_type, to_type, [(t.type_id, t.category, t.label) for t in listed])

    def batch_read(self, from_type: str, to_type: str, ids: list[str]) -> list[LabelledEdge]:
        """Every association of ``ids`` toward ``to_type``, one edge per type, in input order, complete.

        Objects with more associations than one page are read on in later batch reads, each sending
        ``{"id", "after"}`` for every object that still has a cursor (HubSpot answers out of input order, so
        results are matched by ``from.id``). NO_ASSOCIATIONS_FOUND is "no rows"; other input errors fail.
        """
        if len(ids) > READ_BATCH_LIMIT:
            msg = f"batch_read takes at most {READ_BATCH_LIMIT} ids, got {len(ids)}"
            raise ValueError(msg)
        path = self._path(from_type, to_type, "batch/read")
        wanted = list(dict.fromkeys(ids))
        by_id: dict[str, list[LabelledEdge]] = {i: [] for i in wanted}
        inputs: list[dict[str, str]] = [{"id": i} for i in wanted]
        while inputs:
            body = self.client.request("POST", path, json_body={"inputs": inputs})
            raise_on_read_errors(body, f"POST {path}")
            inputs = self._read_page(body, by_id, {i["id"]: i.get("after") for i in inputs})
        return [edge for i in wanted for edge in by_id[i]]

    def records(self, types: PairTypes, ids: list[str]) -> list[dict[str, Any]]:
        """One batch read as association records, a record per type of each association."""
        edges = self.batch_read(types.from_type.name, types.to_type.name, ids)
        names = default_names(types.from_type, types.to_type)
        return [_record(types, edge, names) for edge in edges]

    def _read_page(
        self, body: Any, by_id: dict[str, list[LabelledEdge]], sent: dict[str, str | None],
    ) -> list[dict[str, str]]:
        """Keep one reply's edges; return the inputs that continue objects with more to read."""
        more: list[dict[str, str]] = []
        for result in (body or {}).get("results", []):
            from_id = str(result["from"]["id"])
            if from_id not in by_id:
                msg = f"HubSpot returned associations of {quoted(from_id)}, which was not asked for"
                raise HubSpotError(msg)
            by_id[from_id] += [edge for to in result.get("to", []) for edge in _edges(from_id, to)]
            cursor = next_after_cursor(result)
            if cursor is not None:
                if cursor == sent.get(from_id):
                    msg = f"HubSpot returned the cursor it was sent for {from_id}: reading on would never end"
                    raise HubSpotError(msg)
                more.append({"id": from_id, "after": cursor})
        return more

    # -- writes ----------------------------------------------------------------------------------------------

    def write_input(self, kind: AssociationType | None, from_id: str, to_id: str) -> LabelledInput:
        """The input that writes ``kind`` between two objects; without a type, HubSpot's default or every type."""
        if kind is None:
            return LabelledInput(from_id, to_id)
        return LabelledInput(from_id, to_id, kind.category, kind.type_id)

    def batch_create(self, from_type: str, to_type: str, inputs: list[LabelledInput]) -> list[InputError]:
        """Typed inputs through batch/create, untyped ones through batch/associate/default; the refused ones."""
        typed, default = _split(inputs)
        return [
            *self._write(from_type, to_type, "batch/create", typed, _typed_input),
            *self._write(from_type, to_type, "batch/associate/default", default, _pair_input),
        ]

    def batch_archive(self, from_type: str, to_type: str, inputs: list[LabelledInput]) -> list[InputError]:
        """Typed inputs through batch/labels/archive (that type only), untyped through batch/archive (every type)."""
        typed, every = _split(inputs)
        errors = self._write(from_type, to_type, "batch/labels/archive", typed, _typed_input)
        if not every:
            return errors
        grouped: dict[str, list[str]] = {}
        for item in every:
            grouped.setdefault(item.from_id, []).append(item.to_id)
        payload = {"inputs": [{"from": {"id": f}, "to": [{"id": t} for t in to]} for f, to in grouped.items()]}
        body = self.client.request("POST", self._path(from_type, to_type, "batch/archive"), json_body=payload)
        return [*errors, *match_input_errors(body, every)]

    def _write(
        self, from_type: str, to_type: str, action: str, inputs: list[LabelledInput],
        shape: Callable[[LabelledInput], dict[str, Any]],
    ) -> list[InputError]:
        if not inputs_to_send(action, inputs):
            return []
        body = self.client.request("POST", self._path(from_type, to_type, action),
                                   json_body={"inputs": [shape(i) for i in inputs]})
        return match_input_errors(body, inputs)  # errors are matched by from_id and to_id, as for v3 inputs

    def _path(self, from_type: str, to_type: str, tail: str) -> str:
        return f"{self.prefix}/{pair_path(from_type, to_type)}/{tail}"


def _record(types: PairTypes, edge: LabelledEdge, names: dict[int, str]) -> dict[str, Any]:
    """One v4 edge as the design's association record; ``association_type`` is known for HubSpot's types only."""
    return {
        "from_object_type": types.from_type.name,
        "from_id": edge.from_id,
        "to_object_type": types.to_type.name,
        "to_id": edge.to_id,
        "association_type_id": edge.type_id,
        "association_type": names.get(edge.type_id),
        "association_category": edge.category,
        "association_label": edge.label,
    }


def _edges(from_id: str, to: dict[str, Any]) -> Iterable[LabelledEdge]:
    to_id = object_id_text(to.get("toObjectId"))
    for kind in to.get("associationTypes", []):
        yield LabelledEdge(from_id, to_id, int(kind["typeId"]), str(kind["category"]), _label(kind.get("label")))


def object_id_text(value: Any) -> str:
    """An id HubSpot sent as a JSON number (or a string) as a string of digits, never through a float."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    msg = f"HubSpot returned {quoted(value)} as an object id: expected an integer"
    raise HubSpotError(msg)


def _label(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _split(inputs: list[LabelledInput]) -> tuple[list[LabelledInput], list[LabelledInput]]:
    return [i for i in inputs if i.typed], [i for i in inputs if not i.typed]


def _typed_input(item: LabelledInput) -> dict[str, Any]:
    return {"from": {"id": item.from_id}, "to": {"id": item.to_id},
            "types": [{"associationCategory": item.category, "associationTypeId": item.type_id}]}


def _pair_input(item: LabelledInput) -> dict[str, Any]:
    return {"from": {"id": item.from_id}, "to": {"id": item.to_id}}
