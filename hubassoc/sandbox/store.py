"""The sandbox's in-memory CRM: objects, association types and association edges, safe across threads.

Everything HubSpot-specific about names and default type ids comes from :mod:`hubassoc.objects`; this module
only keeps state and enforces the invariants HubSpot keeps: associations are two-way, a primary association
always comes with the pair's unlabeled one, and an object has at most one primary company.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from hubassoc.objects import (
    DEFAULT_ASSOCIATION_TYPES,
    HUBSPOT_DEFINED_TYPE_IDS,
    ObjectType,
    default_types,
    ordinary_type,
    parse_object_type,
)
from hubassoc.objects_api import EMAIL, property_value_key

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
USER_DEFINED = "USER_DEFINED"
PRIMARY_LABEL = "Primary"  # v4 label of a primary default type; unlabeled defaults carry None
FIRST_LABEL_ID = 500  # custom labels get account-specific ids; the sandbox hands them out from here
# Pairs objects.py defines no types for (custom objects, contact->contact, ...) get one HUBSPOT_DEFINED
# unlabeled type per direction, numbered from here: far above every default id and every label id in use.
FIRST_SANDBOX_DEFINED_ID = 100_000
RECORD_ID_PROPERTY = "hs_object_id"  # every object's own id, a unique property like any other


def _primary_targets() -> frozenset[str]:
    """The object type every primary association points at (companies), derived rather than repeated.

    Every pair objects.py gives a primary type includes it, so it is the type common to all of them.
    """
    pairs = [set(pair) for pair, types in DEFAULT_ASSOCIATION_TYPES.items() if any(t.primary for t in types)]
    return frozenset(set.intersection(*pairs)) if pairs else frozenset()


PRIMARY_TARGETS = _primary_targets()


@dataclass(frozen=True)
class AssociationType:
    """One type of one ordered pair, with what v3 (name) and v4 (category, label) say about it."""

    type_id: int
    name: str
    category: str
    label: str | None
    inverse_id: int
    primary: bool = False


class Edge(NamedTuple):
    """One direction of one association; the store always holds its inverse too."""

    from_type: str
    from_id: int
    to_type: str
    to_id: int
    type_id: int


def v3_name(label: str) -> str:
    """The v3 name HubSpot derives from a custom label ("Billing contact" -> "billing_contact")."""
    return re.sub(r"[^a-z0-9]", "_", label.strip().lower())


def _types_of(spelling: str | ObjectType) -> ObjectType:
    return spelling if isinstance(spelling, ObjectType) else parse_object_type(spelling)


class Store:
    """A thread-safe CRM: every method takes any object-type spelling HubSpot accepts."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[str, set[int]] = {}
        self._sorted: dict[str, list[int]] = {}
        self._types: dict[tuple[str, str], dict[int, AssociationType]] = {}
        self._out: dict[tuple[str, str], dict[int, set[tuple[int, int]]]] = {}
        self._label_ids = itertools.count(FIRST_LABEL_ID)
        # Unique properties per type: property -> value's key -> object id (contacts' email is always one).
        self._unique: dict[str, dict[str, dict[str, int]]] = {"contacts": {EMAIL: {}}}
        self._values: dict[tuple[str, int], dict[str, str]] = {}  # an object's properties as set
        self._sandbox_ids = itertools.count(FIRST_SANDBOX_DEFINED_ID)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the store for a whole batch request: one lock per batch, not one per input.

        Every method takes the (reentrant) lock itself; taken thousands of times a batch by several handler
        threads, it would make the sandbox, not the plugin, what a load benchmark measures.
        """
        with self._lock:
            yield

    # -- objects ---------------------------------------------------------------------------------------------

    def add_objects(self, object_type: str | ObjectType, ids: Iterable[int]) -> None:
        """Add objects (ids as ints; HubSpot's exceed 32 bits)."""
        name = _types_of(object_type).name
        with self._lock:
            self._objects.setdefault(name, set()).update(int(i) for i in ids)
            self._sorted.pop(name, None)

    def object_ids(self, object_type: str | ObjectType) -> list[int]:
        """All ids of a type, ascending."""
        with self._lock:
            return list(self._sorted_ids(_types_of(object_type).name))

    def has_object(self, object_type: str | ObjectType, object_id: int) -> bool:
        """Whether the object exists (creating an association needs both ends to)."""
        with self._lock:
            return object_id in self._objects.get(_types_of(object_type).name, ())

    def live_object_ids(self, object_type: str | ObjectType) -> set[int] | frozenset[int]:
        """The type's ids as the store holds them, for many ``in`` checks inside one ``batch()``; never change it."""
        return self._objects.get(_types_of(object_type).name, frozenset())

    def object_page(
        self, object_type: str | ObjectType, first: int | None, limit: int,
    ) -> tuple[list[int], int | None]:
        """Up to ``limit`` ids >= ``first`` (ascending) and the id the next page starts at, if any."""
        with self._lock:
            ids = self._sorted_ids(_types_of(object_type).name)
            start = 0 if first is None else bisect.bisect_left(ids, first)
            page = ids[start:start + limit]
            following = ids[start + limit] if start + limit < len(ids) else None
            return page, following

    # -- properties --------------------------------------------------------------------------------------------

    def add_unique_property(self, object_type: str | ObjectType, name: str) -> None:
        """Declare a property with unique values on a type (a custom one HubSpot creates with hasUniqueValue)."""
        with self._lock:
            self._unique.setdefault(_types_of(object_type).name, {}).setdefault(name, {})

    def set_properties(self, object_type: str | ObjectType, values: dict[int, dict[str, str]]) -> None:
        """Set properties of existing objects; a unique property's value taken by another object is a ValueError."""
        name = _types_of(object_type).name
        with self._lock:
            unique = self._unique.get(name, {})
            for object_id, properties in values.items():
                for prop, value in properties.items():
                    if prop in unique:
                        key = property_value_key(prop, str(value))
                        holder = unique[prop].get(key)
                        if holder is not None and holder != int(object_id):
                            msg = f"{name} {holder} already has {prop} {value!r}: the property is unique"
                            raise ValueError(msg)
                        unique[prop][key] = int(object_id)
                    self._values.setdefault((name, int(object_id)), {})[prop] = str(value)

    def properties(self, object_type: str | ObjectType, object_id: int) -> dict[str, str]:
        """The properties set on an object (its id aside)."""
        with self._lock:
            return dict(self._values.get((_types_of(object_type).name, object_id), {}))

    def is_unique_property(self, object_type: str | ObjectType, name: str) -> bool:
        """Whether HubSpot would take the property as an ``idProperty`` of the type (the record id is one)."""
        with self._lock:
            return name == RECORD_ID_PROPERTY or name in self._unique.get(_types_of(object_type).name, {})

    def find_by_property(self, object_type: str | ObjectType, name: str, value: str) -> int | None:
        """The object whose unique property has the value (emails in any case), or None."""
        if name == RECORD_ID_PROPERTY:
            return int(value) if value.isascii() and value.isdigit() else None
        with self._lock:
            return self._unique.get(_types_of(object_type).name, {}).get(name, {}).get(property_value_key(name, value))

    def _sorted_ids(self, name: str) -> list[int]:
        if name not in self._sorted:
            self._sorted[name] = sorted(self._objects.get(name, ()))
        return self._sorted[name]

    # -- association types -----------------------------------------------------------------------------------

    def types(self, from_type: str | ObjectType, to_type: str | ObjectType) -> list[AssociationType]:
        """The pair's types (defaults first created on first use), by type id."""
        with self._lock:
            return sorted(self._pair_types(from_type, to_type).values(), key=lambda t: t.type_id)

    def type_by_id(
        self, from_type: str | ObjectType, to_type: str | ObjectType, type_id: int,
    ) -> AssociationType | None:
        """The pair's type with that id, or None."""
        with self._lock:
            return self._pair_types(from_type, to_type).get(type_id)

    def type_by_name(
        self, from_type: str | ObjectType, to_type: str | ObjectType, name: str,
    ) -> AssociationType | None:
        """The pair's type with that v3 name (exact), or None."""
        return next((t for t in self.types(from_type, to_type) if t.name == name), None)

    def ordinary_type(self, from_type: str | ObjectType, to_type: str | ObjectType) -> AssociationType:
        """The pair's ordinary (unlabeled, never primary) HubSpot-defined type."""
        a, b = _types_of(from_type), _types_of(to_type)
        default = ordinary_type(a, b)
        with self._lock:
            types = self._pair_types(a, b)
            if default is not None:
                return types[default.type_id]
            return min((t for t in types.values() if t.category == HUBSPOT_DEFINED), key=lambda t: t.type_id)

    def primary_type(self, from_type: str | ObjectType, to_type: str | ObjectType) -> AssociationType | None:
        """The pair's primary type, if it has one."""
        return next((t for t in self.types(from_type, to_type) if t.primary), None)

    def add_label(
        self, from_type: str | ObjectType, to_type: str | ObjectType, label: str, inverse_label: str | None = None,
        name: str | None = None,
    ) -> tuple[int, int]:
        """Create a USER_DEFINED label (ids from 500 up) and its inverse; returns (type_id, inverse_id).

        Adding a label the pair already has returns the existing ids. On a pair of one type with no inverse
        label, one type serves both directions. ``name`` is the v3 name (v4's POST labels gives one); by
        default HubSpot's derivation from the label.
        """
        a, b = _types_of(from_type), _types_of(to_type)
        with self._lock:
            existing = next((t for t in self._pair_types(a, b).values() if t.label == label
                             and t.category == USER_DEFINED), None)
            if existing is not None:
                return existing.type_id, existing.inverse_id
            type_id = self._next_id(self._label_ids)
            same = a == b and inverse_label is None
            inverse_id = type_id if same else self._next_id(self._label_ids)
            back = inverse_label or label
            self._types[(a.name, b.name)][type_id] = AssociationType(
                type_id, name or v3_name(label), USER_DEFINED, label, inverse_id)
            self._types[(b.name, a.name)][inverse_id] = AssociationType(
                inverse_id, v3_name(back) if inverse_label else name or v3_name(back), USER_DEFINED, back, type_id)
            return type_id, inverse_id

    def _pair_types(self, from_type: str | ObjectType, to_type: str | ObjectType) -> dict[int, AssociationType]:
        a, b = _types_of(from_type), _types_of(to_type)
        if (a.name, b.name) not in self._types:
            self._create_pair(a, b)
        return self._types[(a.name, b.name)]

    def _create_pair(self, a: ObjectType, b: ObjectType) -> None:
        forward = self._types.setdefault((a.name, b.name), {})
        backward = self._types.setdefault((b.name, a.name), {})
        defaults = default_types(a, b)
        for found, (x, y) in ((forward, (a, b)), (backward, (b, a))):
            for d in default_types(x, y):
                found[d.type_id] = AssociationType(
                    d.type_id, d.name, HUBSPOT_DEFINED, PRIMARY_LABEL if d.primary else None, d.inverse_id, d.primary)
        if defaults:
            return
        type_id = self._next_id(self._sandbox_ids)
        inverse_id = type_id if a == b else self._next_id(self._sandbox_ids)
        forward[type_id] = AssociationType(type_id, f"{a.singular}_to_{b.singular}", HUBSPOT_DEFINED, None, inverse_id)
        backward[inverse_id] = AssociationType(
            inverse_id, f"{b.singular}_to_{a.singular}", HUBSPOT_DEFINED, None, type_id)

    @staticmethod
    def _next_id(counter: itertools.count[int]) -> int:
        return next(i for i in counter if i not in HUBSPOT_DEFINED_TYPE_IDS)

    # -- edges -----------------------------------------------------------------------------------------------

    def associate(
        self, from_type: str | ObjectType, from_id: int, to_type: str | ObjectType, to_id: int,
        type_id: int | None = None,
    ) -> None:
        """Add an association and its inverse (default: the pair's ordinary type).

        A primary type also adds the unlabeled one, and moves the object's primary company: the previous
        primary stays associated, unlabeled, as in HubSpot.
        """
        a, b = _types_of(from_type), _types_of(to_type)
        with self._lock:
            kind = self.ordinary_type(a, b) if type_id is None else self.type_by_id(a, b, type_id)
            if kind is None:
                msg = f"type {type_id} is not a {a}->{b} association type"
                raise ValueError(msg)
            self.associate_as(a, from_id, b, to_id, kind)

    def associate_as(self, a: ObjectType, from_id: int, b: ObjectType, to_id: int, kind: AssociationType) -> None:
        """``associate`` with the pair's type already looked up: a batch create names the same one 2,000 times."""
        with self._lock:
            if kind.primary:
                self._drop_other_primaries(a, from_id, b, to_id, kind)
                self._add(a, from_id, b, to_id, self.ordinary_type(a, b))
            self._add(a, from_id, b, to_id, kind)

    def add_associations(
        self, from_type: str | ObjectType, to_type: str | ObjectType, pairs: Iterable[tuple[int, int]],
        type_id: int | None = None,
    ) -> None:
        """Add many (from_id, to_id) associations of one type and their inverses at once, to seed a large CRM.

        Only for a type that is not primary (default: the pair's ordinary one): a primary one moves the
        object's primary company, which ``associate`` handles one association at a time.
        """
        a, b = _types_of(from_type), _types_of(to_type)
        with self._lock:
            kind = self.ordinary_type(a, b) if type_id is None else self.type_by_id(a, b, type_id)
            if kind is None or kind.primary:
                msg = f"add_associations takes a {a}->{b} type that is not primary; use associate for {type_id}"
                raise ValueError(msg)
            forward = self._out.setdefault((a.name, b.name), {})
            backward = self._out.setdefault((b.name, a.name), {})
            for from_id, to_id in pairs:
                forward.setdefault(from_id, set()).add((to_id, kind.type_id))
                backward.setdefault(to_id, set()).add((from_id, kind.inverse_id))

    def archive(
        self, from_type: str | ObjectType, from_id: int, to_type: str | ObjectType, to_id: int, type_id: int,
    ) -> bool:
        """Remove one association type between two objects, both directions; False if it was not there."""
        a, b = _types_of(from_type), _types_of(to_type)
        with self._lock:
            kind = self.type_by_id(a, b, type_id)
            if kind is None or (to_id, type_id) not in self._out.get((a.name, b.name), {}).get(from_id, ()):
                return False
            self._discard(a.name, from_id, b.name, to_id, type_id)
            self._discard(b.name, to_id, a.name, from_id, kind.inverse_id)
            return True

    def clear_associations(self) -> None:
        """Remove every association (objects and types stay)."""
        with self._lock:
            self._out.clear()

    def targets(self, from_type: str | ObjectType, from_id: int, to_type: str | ObjectType) -> list[tuple[int, int]]:
        """(to_id, type_id) of every association of one object toward a type, in that order."""
        a, b = _types_of(from_type), _types_of(to_type)
        with self._lock:
            return sorted(self._out.get((a.name, b.name), {}).get(from_id, ()))

    def edges(self, from_type: str | ObjectType, to_type: str | ObjectType) -> list[Edge]:
        """Every association of a pair in that direction, sorted."""
        a, b = _types_of(from_type), _types_of(to_type)
        with self._lock:
            out = self._out.get((a.name, b.name), {})
            return [Edge(a.name, f, b.name, t, k) for f in sorted(out) for t, k in sorted(out[f])]

    def records(self, from_type: str | ObjectType | None = None, to_type: str | ObjectType | None = None,
                ) -> list[dict[str, object]]:
        """Every association in the design's record shape, both directions, sorted; optionally one side fixed."""
        want_from = None if from_type is None else _types_of(from_type).name
        want_to = None if to_type is None else _types_of(to_type).name
        with self._lock:
            pairs = sorted(p for p in self._out if want_from in (None, p[0]) and want_to in (None, p[1]))
            return [self._record(edge) for pair in pairs for edge in self.edges(*pair)]

    def _record(self, edge: Edge) -> dict[str, object]:
        kind = self._types[(edge.from_type, edge.to_type)][edge.type_id]
        return {
            "from_object_type": edge.from_type, "from_id": str(edge.from_id),
            "to_object_type": edge.to_type, "to_id": str(edge.to_id),
            "association_type_id": edge.type_id, "association_type": kind.name,
            "association_category": kind.category, "association_label": kind.label,
        }

    def _add(self, a: ObjectType, from_id: int, b: ObjectType, to_id: int, kind: AssociationType) -> None:
        self._out.setdefault((a.name, b.name), {}).setdefault(from_id, set()).add((to_id, kind.type_id))
        self._out.setdefault((b.name, a.name), {}).setdefault(to_id, set()).add((from_id, kind.inverse_id))

    def _discard(self, from_name: str, from_id: int, to_name: str, to_id: int, type_id: int) -> None:
        by_id = self._out.get((from_name, to_name), {})
        found = by_id.get(from_id)
        if found is not None:
            found.discard((to_id, type_id))
            if not found:
                del by_id[from_id]

    def _drop_other_primaries(
        self, a: ObjectType, from_id: int, b: ObjectType, to_id: int, kind: AssociationType,
    ) -> None:
        """Keep one primary company per object: seen from the object, the primary points at the company."""
        owner, owner_id, target, target_id, type_id = (
            (a, from_id, b, to_id, kind.type_id) if b.name in PRIMARY_TARGETS
            else (b, to_id, a, from_id, kind.inverse_id))
        for other, other_type in self.targets(owner, owner_id, target):
            if other_type == type_id and other != target_id:
                self.archive(owner, owner_id, target, other, type_id)
