"""A pair's association types as v4 lists them (category, type id, label), and records in v4 terms.

v4 and 2026-03 never show v3 type names. A record's ``association_type`` is filled only where the name is a
fact: HubSpot-defined types have the same id and name in every account (:mod:`hubassoc.objects`), so their
names are known without asking v3. An account's own labels get a name when created, which no v4 endpoint
returns, so records leave it null rather than ask the v3 API (unsupported from September 2027) or guess.

Writing resolves a record's type against the labels endpoint:

* ``association_type_id`` decides when given; a label or name that names a *different* type of the pair is a
  conflict (the record is rejected), one that names no type v4 shows (a v3 name of a custom label, say) is
  ignored;
* else ``association_label`` (case-insensitive), else ``association_type``: a HubSpot-defined name, or a
  custom label's name matched to its label as HubSpot derives names (``billing_contact`` for
  ``Billing contact``); both given must agree;
* else no type: HubSpot's default association on create, every type between the two objects on archive.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from hubassoc.client_v4 import AssociationsV4, LabelledEdge, LabelledInput
from hubassoc.errors import quoted
from hubassoc.objects import ObjectType, default_types
from hubassoc.types import UnknownAssociationTypeError

# Internal association keys of records without a type (no HubSpot type has an id below 1). They differ, so a
# create and an archive of the same two objects never replace one another: the writer applies them in order.
DEFAULT_TYPE_KEY = 0  # create: HubSpot's default association of the pair
EVERY_TYPE_KEY = -1  # archive: every type between the two objects


@dataclass(frozen=True)
class LabelledType:
    """One type of one pair: ``name`` is its v3 name where known (HubSpot-defined types), else None."""

    type_id: int
    category: str
    label: str | None
    name: str | None


def default_names(from_type: ObjectType, to_type: ObjectType) -> dict[int, str]:
    """v3 names of the pair's HubSpot-defined types, the same in every account."""
    return {t.type_id: t.name for t in default_types(from_type, to_type)}


def name_key(text: str) -> str:
    """How a v3 name is derived from a label: lowercase, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


class PairLabels:
    """The types of one (from, to) pair in this account, as the labels endpoint lists them."""

    def __init__(self, from_type: ObjectType, to_type: ObjectType, listed: list[tuple[int, str, str | None]]) -> None:
        self.from_type = from_type
        self.to_type = to_type
        names = default_names(from_type, to_type)
        self.types = [LabelledType(i, c, label, names.get(i)) for i, c, label in sorted(listed)]
        self._by_id = {t.type_id: t for t in self.types}

    def by_id(self, type_id: int) -> LabelledType:
        """The type with that id, or UnknownAssociationTypeError listing the pair's types."""
        found = self._by_id.get(type_id)
        if found is None:
            raise UnknownAssociationTypeError(self._unknown(f"type id {type_id}"))
        return found

    def with_label(self, label: str) -> list[LabelledType]:
        """The types with that label (case-insensitive)."""
        want = label.strip().lower()
        return [t for t in self.types if t.label is not None and t.label.strip().lower() == want]

    def with_name(self, name: str) -> list[LabelledType]:
        """A HubSpot-defined type by its v3 name, else the labels whose derived name matches."""
        want = name.strip().lower()
        named = [t for t in self.types if t.name is not None and t.name == want]
        key = name_key(name)
        return named or [t for t in self.types if t.label is not None and name_key(t.label) == key]

    def one(self, found: list[LabelledType], what: str) -> LabelledType:
        """The single type ``found``, or UnknownAssociationTypeError when there is none or several."""
        if not found:
            raise UnknownAssociationTypeError(self._unknown(what))
        if len(found) > 1:
            ids = ", ".join(str(t.type_id) for t in found)
            msg = f"{what} names several {self.from_type}->{self.to_type} types ({ids}): give association_type_id"
            raise UnknownAssociationTypeError(msg)
        return found[0]

    def _unknown(self, what: str) -> str:
        have = ", ".join(f"{t.type_id} ({t.label or t.name or 'unlabeled'})" for t in self.types) or "none"
        return f"{what} is not a {self.from_type}->{self.to_type} association type here; it has: {have}"


class PairLabelsCache:
    """Fetch each pair's labels once per run, whichever thread asks first."""

    def __init__(self, api: AssociationsV4) -> None:
        self._api = api
        self._lock = threading.Lock()
        self._pairs: dict[tuple[ObjectType, ObjectType], PairLabels] = {}

    def get(self, from_type: ObjectType, to_type: ObjectType) -> PairLabels:
        """The pair's types, fetched on first use."""
        with self._lock:
            pair = self._pairs.get((from_type, to_type))
            if pair is None:
                listed = self._api.labels(from_type.name, to_type.name)
                pair = PairLabels(from_type, to_type, [(t.type_id, t.category, t.label) for t in listed])
                self._pairs[(from_type, to_type)] = pair
            return pair


def labelled_input(
    types: PairLabels, record: dict[str, Any], from_id: str, to_id: str, *, archive: bool,
) -> tuple[int, LabelledInput]:
    """The record's association key type and its v4 input; UnknownAssociationTypeError says what is wrong."""
    kind = record_type(types, record)
    if kind is None:
        return (EVERY_TYPE_KEY if archive else DEFAULT_TYPE_KEY), LabelledInput(from_id, to_id)
    return kind.type_id, LabelledInput(from_id, to_id, kind.category, kind.type_id)


def record_type(types: PairLabels, record: dict[str, Any]) -> LabelledType | None:
    """The type a record names (see the module docstring for the rules), or None for no type."""
    raw_id = record.get("association_type_id")
    label, name = _text(record, "association_label"), _text(record, "association_type")
    by_label = None if label is None else types.with_label(label)
    by_name = None if name is None else types.with_name(name)
    if raw_id not in (None, ""):
        chosen = types.by_id(_type_id(raw_id))
        named = ((f"association_label {quoted(label)}", by_label), (f"association_type {quoted(name)}", by_name))
        for what, found in named:
            if found and chosen not in found:
                msg = f"association_type_id {chosen.type_id} and {what} (id {found[0].type_id}) name different " \
                      "types: give one, or make them agree"
                raise UnknownAssociationTypeError(msg)
        return chosen
    from_label = None if by_label is None else types.one(by_label, f"association_label {quoted(label)}")
    from_name = None if by_name is None else types.one(by_name, f"association_type {quoted(name)}")
    if from_label is not None and from_name is not None and from_label != from_name:
        msg = f"association_label {quoted(label)} (id {from_label.type_id}) and association_type {quoted(name)} " \
              f"(id {from_name.type_id}) name different types: give one, or make them agree"
        raise UnknownAssociationTypeError(msg)
    return from_label or from_name


def _text(record: dict[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        msg = f"{field} {quoted(value)} is not text"
        raise UnknownAssociationTypeError(msg)
    return value


def _type_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    msg = f"association_type_id {quoted(value)} is not an integer type id such as 279"
    raise UnknownAssociationTypeError(msg)


def edge_record(
    from_type: ObjectType, to_type: ObjectType, edge: LabelledEdge, names: dict[int, str],
) -> dict[str, Any]:
    """One v4 edge as the design's association record (``names``: :func:`default_names` of the pair)."""
    return {
        "from_object_type": from_type.name,
        "from_id": edge.from_id,
        "to_object_type": to_type.name,
        "to_id": edge.to_id,
        "association_type_id": edge.type_id,
        "association_type": names.get(edge.type_id),
        "association_category": edge.category,
        "association_label": edge.label,
    }
