"""A pair's association types as v3 lists them (id and name only), and the v3 rules for a record's type.

A record names its type by ``association_type_id`` or by v3 name (both given, they must agree); without either
it means the pair's ordinary, unlabeled type, never the primary one, which would move a primary company.
"""

from __future__ import annotations

from typing import Any

from hubassoc.errors import quoted
from hubassoc.objects import ObjectType, default_types
from hubassoc.types import AssociationType, PairTypes, UnknownAssociationTypeError, inverse_ids, type_id_field


class V3PairTypes(PairTypes):
    """The types of one pair as ``GET /crm/v3/associations/{from}/{to}/types`` lists them: (id, name)."""

    def __init__(self, from_type: ObjectType, to_type: ObjectType, listed: list[tuple[int, str]]) -> None:
        defaults = {t.type_id for t in default_types(from_type, to_type)}
        inverses = inverse_ids(from_type, to_type)
        types = [AssociationType(i, n, _category(i, defaults), None, inverses.get(i)) for i, n in listed]
        super().__init__(from_type, to_type, types)
        self._by_name = {t.name.lower(): t for t in types if t.name is not None}

    def by_name(self, name: str) -> AssociationType:
        """Resolve a v3 name such as contact_to_company_unlabeled or billing_contact, in any case."""
        found = self._by_name.get(name.strip().lower())
        if found is None:
            raise UnknownAssociationTypeError(self._unknown(f"type {quoted(name)}"))
        return found

    def by_label(self, label: str) -> AssociationType:
        """v3 lists no labels: a label resolves to nothing."""
        raise UnknownAssociationTypeError(self._unknown(f"association_label {quoted(label)}"))

    def record_type(self, record: dict[str, Any]) -> AssociationType:
        """By ``association_type_id``, by ``association_type`` name (both: they must agree), else the ordinary type."""
        raw_id, raw_name = record.get("association_type_id"), record.get("association_type")
        by_id = None if raw_id in (None, "") else self.by_id(type_id_field(raw_id))
        by_name = None if raw_name in (None, "") else self.by_name(_type_name(raw_name))
        if by_id is not None and by_name is not None and by_id.type_id != by_name.type_id:
            msg = (
                f"association_type_id {by_id.type_id} ({by_id.name}) and association_type {quoted(raw_name)} "
                f"(id {by_name.type_id}) name different types: give one, or make them agree"
            )
            raise UnknownAssociationTypeError(msg)
        return by_id or by_name or self.ordinary()


def _category(type_id: int, defaults: set[int]) -> str | None:
    """v3 lists no category: a pair's default ids are the same in every account, so any other is a label.

    For pairs whose defaults are not known here (custom objects) the category is unknown, and says so (null)
    rather than guessing.
    """
    if not defaults:
        return None
    return "HUBSPOT_DEFINED" if type_id in defaults else "USER_DEFINED"


def _type_name(value: object) -> str:
    if isinstance(value, str):
        return value
    msg = f"association_type {quoted(value)} is not a type name such as billing_contact"
    raise UnknownAssociationTypeError(msg)
