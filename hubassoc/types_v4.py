"""A pair's association types as v4 and 2026-03 list them (category, type id, label), and v4's rules for a record.

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
from typing import Any

from hubassoc.errors import quoted
from hubassoc.objects import ObjectType, default_types
from hubassoc.types import (
    AssociationType,
    PairTypes,
    UnknownAssociationTypeError,
    inverse_ids,
    text_field,
    type_id_field,
)


def default_names(from_type: ObjectType, to_type: ObjectType) -> dict[int, str]:
    """v3 names of the pair's HubSpot-defined types, the same in every account."""
    return {t.type_id: t.name for t in default_types(from_type, to_type)}


def name_key(text: str) -> str:
    """How a v3 name is derived from a label: lowercase, runs of other characters as one underscore."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


class V4PairTypes(PairTypes):
    """The types of one pair as ``GET .../{from}/{to}/labels`` lists them: (type id, category, label)."""

    def __init__(self, from_type: ObjectType, to_type: ObjectType, listed: list[tuple[int, str, str | None]]) -> None:
        names, inverses = default_names(from_type, to_type), inverse_ids(from_type, to_type)
        types = [AssociationType(i, names.get(i), c, label, inverses.get(i)) for i, c, label in sorted(listed)]
        super().__init__(from_type, to_type, types)

    def by_name(self, name: str) -> AssociationType:
        """A HubSpot-defined type by its v3 name, else the one label whose derived name matches."""
        return self.one(self.with_name(name), f"association_type {quoted(name)}")

    def by_label(self, label: str) -> AssociationType:
        """The one type with that label (case-insensitive)."""
        return self.one(self.with_label(label), f"association_label {quoted(label)}")

    def with_label(self, label: str) -> list[AssociationType]:
        """The types with that label (case-insensitive)."""
        want = label.strip().lower()
        return [t for t in self.types if t.label is not None and t.label.strip().lower() == want]

    def with_name(self, name: str) -> list[AssociationType]:
        """A HubSpot-defined type by its v3 name, else the labels whose derived name matches."""
        want = name.strip().lower()
        named = [t for t in self.types if t.name is not None and t.name == want]
        key = name_key(name)
        return named or [t for t in self.types if t.label is not None and name_key(t.label) == key]

    def one(self, found: list[AssociationType], what: str) -> AssociationType:
        """The single type ``found``, or UnknownAssociationTypeError when there is none or several."""
        if not found:
            raise UnknownAssociationTypeError(self._unknown(what))
        if len(found) > 1:
            ids = ", ".join(str(t.type_id) for t in found)
            msg = f"{what} names several {self.from_type}->{self.to_type} types ({ids}): give association_type_id"
            raise UnknownAssociationTypeError(msg)
        return found[0]

    def record_type(self, record: dict[str, Any]) -> AssociationType | None:
        """The type a record names (see the module docstring for the rules), or None for no type."""
        raw_id = record.get("association_type_id")
        label, name = text_field(record, "association_label"), text_field(record, "association_type")
        by_label = None if label is None else self.with_label(label)
        by_name = None if name is None else self.with_name(name)
        if raw_id not in (None, ""):
            chosen = self.by_id(type_id_field(raw_id))
            named = ((f"association_label {quoted(label)}", by_label), (f"association_type {quoted(name)}", by_name))
            for what, found in named:
                if found and chosen not in found:
                    msg = f"association_type_id {chosen.type_id} and {what} (id {found[0].type_id}) name different " \
                          "types: give one, or make them agree"
                    raise UnknownAssociationTypeError(msg)
            return chosen
        from_label = None if by_label is None else self.one(by_label, f"association_label {quoted(label)}")
        from_name = None if by_name is None else self.one(by_name, f"association_type {quoted(name)}")
        if from_label is not None and from_name is not None and from_label != from_name:
            msg = f"association_label {quoted(label)} (id {from_label.type_id}) and association_type {quoted(name)} " \
                  f"(id {from_name.type_id}) name different types: give one, or make them agree"
            raise UnknownAssociationTypeError(msg)
        return from_label or from_name
