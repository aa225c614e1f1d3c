"""Which HubSpot route a request is, and the key it is counted under.

A route key is the method and path template with canonical type names (``POST
/crm/v3/associations/contacts/companies/batch/read``; object ids stay ``{id}``), so counters and scheduled
faults read the same whatever spelling (``Contacts``, ``contact``, ``0-1``) a client sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hubassoc.objects import ObjectType, UnknownObjectTypeError, parse_object_type
from hubassoc.sandbox import v4_routes

LIST_OBJECTS = "list_objects"
LIST_TYPES = "list_types"
BATCH_READ = "batch_read"
BATCH_CREATE = "batch_create"
BATCH_ARCHIVE = "batch_archive"
OBJECT_ASSOCIATIONS = "object_associations"
SEARCH_OBJECTS = "search_objects"
READ_OBJECTS = "read_objects"
READ_OBJECTS_DATED = "read_objects@2026-03"

TEMPLATES: dict[str, tuple[str, str]] = {
    LIST_OBJECTS: ("GET", "/crm/v3/objects/{from}"),
    LIST_TYPES: ("GET", "/crm/v3/associations/{from}/{to}/types"),
    BATCH_READ: ("POST", "/crm/v3/associations/{from}/{to}/batch/read"),
    BATCH_CREATE: ("POST", "/crm/v3/associations/{from}/{to}/batch/create"),
    BATCH_ARCHIVE: ("POST", "/crm/v3/associations/{from}/{to}/batch/archive"),
    OBJECT_ASSOCIATIONS: ("GET", "/crm/v3/objects/{from}/{id}/associations/{to}"),
    SEARCH_OBJECTS: ("POST", "/crm/v3/objects/{from}/search"),
    READ_OBJECTS: ("POST", "/crm/v3/objects/{from}/batch/read"),
    READ_OBJECTS_DATED: ("POST", "/crm/objects/2026-03/{from}/batch/read"),
    **v4_routes.TEMPLATES,  # v4 and 2026-03: same kinds, one set per path prefix
}
WRITES = frozenset({BATCH_CREATE, BATCH_ARCHIVE}) | v4_routes.WRITES


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


_PATTERNS = {name: (method, _pattern(path)) for name, (method, path) in TEMPLATES.items()}


@dataclass(frozen=True)
class Route:
    """A matched HubSpot route: ``params`` are the raw path segments as the client sent them."""

    name: str
    params: dict[str, str]

    @property
    def key(self) -> str:
        """The counter key: canonical type names where they parse, the raw (lowercased) segment otherwise."""
        method, template = TEMPLATES[self.name]
        path = template
        for side in ("from", "to"):
            if side in self.params:
                path = path.replace("{" + side + "}", _canonical(self.params[side]))
        return f"{method} {path}"

    def object_types(self) -> tuple[ObjectType, ...]:
        """The route's from (and to) types; UnknownObjectTypeError names the segment that is not one."""
        return tuple(parse_object_type(self.params[side]) for side in ("from", "to") if side in self.params)


def match(method: str, path: str) -> Route | None:
    """The HubSpot route for a method and path, or None (a 404)."""
    for name, (want, pattern) in _PATTERNS.items():
        found = pattern.match(path)
        if found and method == want:
            return Route(name, found.groupdict())
    return None


def route_key(text: str) -> str:
    """Canonicalise a route key a user wrote (``POST /crm/v3/associations/contact/Company/batch/read``)."""
    method, _, path = text.strip().partition(" ")
    found = match(method.upper(), path.strip())
    if found is None:
        msg = f"{text!r} is not a sandbox route: write it as in counters(), e.g. 'GET /crm/v3/objects/contacts'"
        raise ValueError(msg)
    return found.key


def _canonical(segment: str) -> str:
    try:
        return parse_object_type(segment).name
    except UnknownObjectTypeError:
        return segment.lower()
