"""Object types and default association types: the one place that knows HubSpot's names and ids.

Records carry a canonical object-type name (lowercase plural, or ``2-<n>`` for custom objects); requests use
the HubSpot type id where one exists (``0-1``), because HubSpot accepts ids in every path that takes a type and
ids never change spelling. Users may write any spelling HubSpot accepts, so every entry point parses through
:func:`parse_object_type`.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass

from hubassoc.errors import quoted

# canonical name -> HubSpot object type id (hubspot-associations-api.md, "Object types").
OBJECT_TYPE_IDS: dict[str, str] = {
    "contacts": "0-1",
    "companies": "0-2",
    "deals": "0-3",
    "tickets": "0-5",
    "products": "0-7",
    "line_items": "0-8",
    "quotes": "0-14",
    "communications": "0-18",
    "tasks": "0-27",
    "notes": "0-46",
    "meetings": "0-47",
    "calls": "0-48",
    "emails": "0-49",
    "leads": "0-136",
}
_NAME_BY_TYPE_ID = {type_id: name for name, type_id in OBJECT_TYPE_IDS.items()}
# Singular forms HubSpot also accepts (and uses in v3 type names such as "contact_to_company").
SINGULAR: dict[str, str] = {
    "contacts": "contact",
    "companies": "company",
    "deals": "deal",
    "tickets": "ticket",
    "products": "product",
    "line_items": "line_item",
    "quotes": "quote",
    "communications": "communication",
    "tasks": "task",
    "notes": "note",
    "meetings": "meeting",
    "calls": "call",
    "emails": "email",
    "leads": "lead",
}
_NAME_BY_SPELLING = {
    **{name: name for name in OBJECT_TYPE_IDS},
    **{singular: name for name, singular in SINGULAR.items()},
    **{name.replace("_", ""): name for name in OBJECT_TYPE_IDS if "_" in name},
    **{singular.replace("_", ""): name for name, singular in SINGULAR.items() if "_" in singular},
}
_CUSTOM_TYPE_ID = re.compile(r"^2-[1-9][0-9]{0,17}$")


class UnknownObjectTypeError(ValueError):
    """An object type that HubSpot would not accept; the message lists what is accepted."""


@dataclass(frozen=True, order=True)
class ObjectType:
    """One CRM object type: ``name`` goes in records, ``path`` in request URLs."""

    name: str
    path: str

    @property
    def singular(self) -> str:
        """The singular name HubSpot uses inside v3 association type names."""
        return SINGULAR.get(self.name, self.name)

    def __str__(self) -> str:
        return self.name


def parse_object_type(spelling: object) -> ObjectType:
    """Accept any spelling HubSpot accepts (``Contacts``, ``contact``, ``0-1``, ``2-123456``)."""
    text = str(spelling).strip().lower() if isinstance(spelling, (str, int)) else ""
    if text in _NAME_BY_TYPE_ID:
        name = _NAME_BY_TYPE_ID[text]
        return ObjectType(name, OBJECT_TYPE_IDS[name])
    if _CUSTOM_TYPE_ID.match(text):
        return ObjectType(text, text)
    name = _NAME_BY_SPELLING.get(text.replace("-", "_").replace(" ", "_"))
    if name is None:
        accepted = ", ".join(sorted(OBJECT_TYPE_IDS))
        msg = (
            f"unknown object type {quoted(spelling)}: use one of {accepted} (singular or plural, any case), "
            "a HubSpot type id such as 0-1, or a custom object id such as 2-123456"
        )
        raise UnknownObjectTypeError(msg)
    return ObjectType(name, OBJECT_TYPE_IDS[name])


def pair_path(from_type: str, to_type: str) -> str:
    """``0-1/0-2``: a pair in a request path, by type id, whatever spelling the user wrote."""
    return f"{parse_object_type(from_type).path}/{parse_object_type(to_type).path}"


@dataclass(frozen=True)
class DefaultAssociationType:
    """A HubSpot-defined association type, the same id in every account."""

    type_id: int
    name: str
    inverse_id: int
    primary: bool = False


def _pair(
    from_name: str, to_name: str, type_id: int, inverse_id: int, *, name: str | None = None,
    inverse_name: str | None = None, primary: bool = False,
) -> list[tuple[tuple[str, str], DefaultAssociationType]]:
    forward = name or f"{SINGULAR[from_name]}_to_{SINGULAR[to_name]}"
    backward = inverse_name or f"{SINGULAR[to_name]}_to_{SINGULAR[from_name]}"
    return [
        ((from_name, to_name), DefaultAssociationType(type_id, forward, inverse_id, primary)),
        ((to_name, from_name), DefaultAssociationType(inverse_id, backward, type_id, primary)),
    ]


def _primary_and_unlabeled(
    from_name: str, to_name: str, primary: tuple[int, int], unlabeled: tuple[int, int],
) -> list[tuple[tuple[str, str], DefaultAssociationType]]:
    forward = f"{SINGULAR[from_name]}_to_{SINGULAR[to_name]}"
    backward = f"{SINGULAR[to_name]}_to_{SINGULAR[from_name]}"
    return [
        *_pair(from_name, to_name, *primary, primary=True),
        *_pair(
            from_name, to_name, *unlabeled,
            name=f"{forward}_unlabeled", inverse_name=f"{backward}_unlabeled",
        ),
    ]


def _activity_rows() -> list[tuple[tuple[str, str], DefaultAssociationType]]:
    # activity -> contact/company/deal/ticket; the reverse id is one less (contact_to_call 193, call_to_contact 194).
    table = {
        "calls": (194, 182, 206, 220),
        "emails": (198, 186, 210, 224),
        "meetings": (200, 188, 212, 226),
        "notes": (202, 190, 214, 228),
        "tasks": (204, 192, 216, 230),
    }
    rows = []
    for activity, ids in table.items():
        for target, type_id in zip(("contacts", "companies", "deals", "tickets"), ids, strict=True):
            rows += _pair(activity, target, type_id, type_id - 1)
    return rows


_DEFAULT_ROWS = [
    *_primary_and_unlabeled("contacts", "companies", (1, 2), (279, 280)),
    *_primary_and_unlabeled("deals", "companies", (5, 6), (341, 342)),
    *_primary_and_unlabeled("tickets", "companies", (26, 25), (339, 340)),
    *_pair("contacts", "deals", 4, 3),
    *_pair("contacts", "tickets", 15, 16),
    *_pair("deals", "tickets", 27, 28),
    *_pair("deals", "line_items", 19, 20),
    *_pair(
        "companies", "companies", 13, 14,
        name="parent_to_child_company", inverse_name="child_to_parent_company",
    ),
    *_activity_rows(),
]
DEFAULT_ASSOCIATION_TYPES: dict[tuple[str, str], tuple[DefaultAssociationType, ...]] = {}
for _key, _type in _DEFAULT_ROWS:
    DEFAULT_ASSOCIATION_TYPES[_key] = (*DEFAULT_ASSOCIATION_TYPES.get(_key, ()), _type)
HUBSPOT_DEFINED_TYPE_IDS = frozenset(t.type_id for _, t in _DEFAULT_ROWS)


def default_types(from_type: ObjectType, to_type: ObjectType) -> tuple[DefaultAssociationType, ...]:
    """The HubSpot-defined types of a pair, primary first; empty for pairs HubSpot defines none for here."""
    types = DEFAULT_ASSOCIATION_TYPES.get((from_type.name, to_type.name), ())
    return tuple(sorted(types, key=lambda t: not t.primary))


def ordinary_type(from_type: ObjectType, to_type: ObjectType) -> DefaultAssociationType | None:
    """The pair's ordinary (unlabeled) default type: never the primary one, which would move a primary company."""
    ordinary = [t for t in default_types(from_type, to_type) if not t.primary]
    return ordinary[0] if ordinary else None


def is_object_id(value: object) -> bool:
    """HubSpot object ids are positive integers sent as strings of digits (they exceed 32 bits)."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return text.isascii() and text.isdigit() and 0 < len(text) <= 20 and text != "0" * len(text)


EXACT_FLOAT_LIMIT = 2**53  # above this a double no longer holds every whole number: the id may have been rounded
ID_FIX = "cast the column to bigint or text"


def object_id_text(value: object) -> str | None:
    """An id as HubSpot takes it (digits, no leading zero), or None when ``value`` is not one.

    Warehouses hand ids over as they store them: digit strings, integers, numerics (Decimal, ``10000022589.0``)
    and doubles. A whole, positive Decimal or float below 2^53 is taken; a larger one may already be rounded.
    """
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(int(value)) if is_object_id(value) else None
    if isinstance(value, (float, decimal.Decimal)) and _whole_below_limit(value):
        return str(int(value))
    return None


def _whole_below_limit(value: float | decimal.Decimal) -> bool:
    finite = value.is_finite() if isinstance(value, decimal.Decimal) else math.isfinite(value)
    return finite and 0 < value < EXACT_FLOAT_LIMIT and value == int(value)  # bounded before int(): 1E+999999
