"""A pair's association types, one interface whatever the API version, and the cache that fetches each pair once.

:class:`PairTypes` resolves a type by id, by v3 name or by label, names the pair's ordinary type and the type a
record names; ``types_v3`` and ``types_v4`` implement it from what each API lists. Each type knows its inverse
(the type of the other direction that is the same association) where that is known without reading the other
direction: HubSpot-defined types always (:mod:`hubassoc.objects`); a user-defined one through :meth:`inverse_in`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hubassoc.errors import quoted
from hubassoc.objects import ObjectType, default_types, ordinary_type


class UnknownAssociationTypeError(ValueError):
    """A type id or name the pair does not have in this account; the message lists the ones it has."""


class UnpairedTypesError(ValueError):
    """The types of a pair's two directions cannot be paired one to one; the message says which type and why."""


@dataclass(frozen=True)
class AssociationType:
    """One type of one pair, with everything a record carries about it; None where the API does not say."""

    type_id: int
    name: str | None  # the v3 name (contact_to_company_unlabeled, billing_contact)
    category: str | None  # HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED
    label: str | None = None
    inverse_id: int | None = None  # the other direction's type id for the same association


class PairTypes(ABC):
    """The types of one (from, to) pair in this account, as one API version lists them."""

    def __init__(self, from_type: ObjectType, to_type: ObjectType, types: list[AssociationType]) -> None:
        self.from_type = from_type
        self.to_type = to_type
        self.types = types
        self._by_id = {t.type_id: t for t in types}

    def by_id(self, type_id: int) -> AssociationType:
        """Resolve a numeric type id, as records carry it."""
        found = self._by_id.get(type_id)
        if found is None:
            raise UnknownAssociationTypeError(self._unknown(f"type id {type_id}"))
        return found

    @abstractmethod
    def by_name(self, name: str) -> AssociationType:
        """Resolve a v3 name such as contact_to_company_unlabeled or billing_contact."""

    @abstractmethod
    def by_label(self, label: str) -> AssociationType:
        """Resolve a label such as ``Billing contact`` (case-insensitive)."""

    @abstractmethod
    def record_type(self, record: dict[str, Any]) -> AssociationType | None:
        """The type a record names by its type fields; None where the version lets HubSpot choose."""

    def ordinary(self) -> AssociationType:
        """The pair's unlabeled type: what a record without a type means in v3. Never the primary one."""
        default = ordinary_type(self.from_type, self.to_type)
        if default is not None and default.type_id in self._by_id:
            return self._by_id[default.type_id]
        if default is None and len(self.types) == 1:
            return self.types[0]  # a pair HubSpot defines one type for (custom objects): no choice to make
        msg = f"{self.from_type}->{self.to_type} has no single ordinary type: give association_type_id"
        raise UnknownAssociationTypeError(msg)

    def inverse_in(self, backward: PairTypes, kind: AssociationType) -> AssociationType | None:
        """``kind``'s inverse among ``backward`` (the to->from types): by id where known, else by category and label.

        A user-defined label with the same text both ways is its own inverse; a paired label (a different text
        each way) cannot be matched from what HubSpot lists, so it has none here rather than a guess.
        """
        if kind.inverse_id is not None:
            return backward._by_id.get(kind.inverse_id)
        same = [t for t in backward.types if t.inverse_id is None and t.category == kind.category
                and _text_key(t) is not None and _text_key(t) == _text_key(kind)]
        return same[0] if len(same) == 1 else None

    def inverses_in(self, backward: PairTypes) -> dict[int, AssociationType]:
        """Every type's inverse among ``backward`` (the to->from types), one to one both ways.

        By id where HubSpot defines the pair, else by category and text (label, or the v3 name with the pair's
        own ``from_to_to`` prefix read as one word, which pairs a custom object's unlabeled types). Raises
        UnpairedTypesError naming the first type that has no single inverse (a paired label, say).
        """
        found: dict[int, AssociationType] = {}
        for kind in self.types:
            inverse = self.inverse_in(backward, kind) if kind.inverse_id is not None else self._matched(backward, kind)
            if inverse is None:
                msg = (f"{self.from_type}->{self.to_type} type {kind.type_id} ({self._shown(kind)}) has no single "
                       f"inverse among the {backward.from_type}->{backward.to_type} types")
                raise UnpairedTypesError(msg)
            found[kind.type_id] = inverse
        images = {t.type_id for t in found.values()}
        if len(images) != len(found) or images != {t.type_id for t in backward.types}:
            missed = ", ".join(f"{t.type_id} ({backward._shown(t)})" for t in backward.types if t.type_id not in images)
            msg = (f"the {self.from_type}->{self.to_type} and {backward.from_type}->{backward.to_type} types do not "
                   f"pair one to one (unmatched: {missed or 'two types share an inverse'})")
            raise UnpairedTypesError(msg)
        return found

    def _matched(self, backward: PairTypes, kind: AssociationType) -> AssociationType | None:
        key = self._pairing_key(kind)
        same = [t for t in backward.types if t.inverse_id is None and t.category == kind.category
                and backward._pairing_key(t) == key]
        return same[0] if len(same) == 1 else None

    def _pairing_key(self, kind: AssociationType) -> str:
        """A type's text for pairing: its label, else its v3 name with this pair's own prefix as one word."""
        text = (kind.label or kind.name or "").strip().lower()
        own = f"{self.from_type.singular}_to_{self.to_type.singular}".lower()
        return "(pair)" + text[len(own):] if text.startswith(own) else text

    def _unknown(self, what: str) -> str:
        have = ", ".join(f"{t.type_id} ({self._shown(t)})" for t in self.types) or "none"
        return f"{what} is not a {self.from_type}->{self.to_type} association type here; it has: {have}"

    def _shown(self, kind: AssociationType) -> str:
        return kind.label or kind.name or "unlabeled"


def inverse_ids(from_type: ObjectType, to_type: ObjectType) -> dict[int, int]:
    """The pair's HubSpot-defined type ids and their inverses (279 -> 280), the same in every account."""
    return {t.type_id: t.inverse_id for t in default_types(from_type, to_type)}


def _text_key(kind: AssociationType) -> str | None:
    text = kind.label or kind.name
    return None if text is None else text.strip().lower()


class PairTypesCache:
    """Fetch each pair's types once per run, whichever thread asks first; different pairs are fetched at once."""

    def __init__(self, fetch: Callable[[ObjectType, ObjectType], PairTypes]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._fetching: dict[tuple[ObjectType, ObjectType], threading.Lock] = {}  # one per pair
        self._pairs: dict[tuple[ObjectType, ObjectType], PairTypes] = {}

    def get(self, from_type: ObjectType, to_type: ObjectType) -> PairTypes:
        """The pair's types, fetched on first use."""
        key = (from_type, to_type)
        with self._lock:
            pair_lock = self._fetching.setdefault(key, threading.Lock())
        with pair_lock:
            pair = self._pairs.get(key)
            if pair is None:
                pair = self._pairs[key] = self._fetch(from_type, to_type)
            return pair


def text_field(record: dict[str, Any], field: str) -> str | None:
    """A record's text field, None when empty; anything but text is an error naming the field."""
    value = record.get(field)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        msg = f"{field} {quoted(value)} is not text"
        raise UnknownAssociationTypeError(msg)
    return value


def type_id_field(value: object) -> int:
    """A record's ``association_type_id`` as an integer; anything else is an error saying what is expected."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    msg = f"association_type_id {quoted(value)} is not an integer type id such as 279"
    raise UnknownAssociationTypeError(msg)
