"""A pair's association types, fetched once and resolved by id, by v3 name or to the ordinary default."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from hubassoc.client import HubSpotClient
from hubassoc.errors import quoted
from hubassoc.objects import ObjectType, default_types, ordinary_type


class UnknownAssociationTypeError(ValueError):
    """A type id or name the pair does not have in this account; the message lists the ones it has."""


@dataclass(frozen=True)
class ResolvedType:
    """One type of one pair, with everything a record carries about it."""

    type_id: int
    name: str
    category: str | None
    label: str | None = None  # v3 lists no labels


class PairTypes:
    """The types of one (from, to) pair in this account, as HubSpot's types endpoint lists them."""

    def __init__(self, from_type: ObjectType, to_type: ObjectType, listed: list[tuple[int, str]]) -> None:
        self.from_type = from_type
        self.to_type = to_type
        defaults = {t.type_id for t in default_types(from_type, to_type)}
        self.types = [ResolvedType(i, n, _category(i, defaults)) for i, n in listed]
        self._by_id = {t.type_id: t for t in self.types}
        self._by_name = {t.name.lower(): t for t in self.types}

    def by_id(self, type_id: int) -> ResolvedType:
        """Resolve a numeric type id, as records carry it."""
        found = self._by_id.get(type_id)
        if found is None:
            raise UnknownAssociationTypeError(self._unknown(f"type id {type_id}"))
        return found

    def by_name(self, name: str) -> ResolvedType:
        """Resolve a v3 name such as contact_to_company_unlabeled or billing_contact."""
        found = self._by_name.get(name.strip().lower())
        if found is None:
            raise UnknownAssociationTypeError(self._unknown(f"type {quoted(name)}"))
        return found

    def ordinary(self) -> ResolvedType:
        """The pair's unlabeled type: what a record without a type means. Never the primary one."""
        default = ordinary_type(self.from_type, self.to_type)
        if default is not None and default.type_id in self._by_id:
            return self._by_id[default.type_id]
        if default is None and len(self.types) == 1:
            return self.types[0]  # a pair HubSpot defines one type for (custom objects): no choice to make
        msg = f"{self.from_type}->{self.to_type} has no single ordinary type: give association_type_id"
        raise UnknownAssociationTypeError(msg)

    def _unknown(self, what: str) -> str:
        have = ", ".join(f"{t.type_id} ({t.name})" for t in self.types) or "none"
        return f"{what} is not a {self.from_type}->{self.to_type} association type here; it has: {have}"


def _category(type_id: int, defaults: set[int]) -> str | None:
    """v3 lists no category: a pair's default ids are the same in every account, so any other is a label.

    For pairs whose defaults are not known here (custom objects) the category is unknown, and says so (null)
    rather than guessing.
    """
    if not defaults:
        return None
    return "HUBSPOT_DEFINED" if type_id in defaults else "USER_DEFINED"


class PairTypesCache:
    """Fetch each pair's types once per run, whichever thread asks first."""

    def __init__(self, client: HubSpotClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._pairs: dict[tuple[ObjectType, ObjectType], PairTypes] = {}

    def get(self, from_type: ObjectType, to_type: ObjectType) -> PairTypes:
        """The pair's types, fetched on first use."""
        with self._lock:
            pair = self._pairs.get((from_type, to_type))
            if pair is None:
                listed = self._client.association_types(from_type.name, to_type.name)
                pair = PairTypes(from_type, to_type, [(t.type_id, t.name) for t in listed])
                self._pairs[(from_type, to_type)] = pair
            return pair
