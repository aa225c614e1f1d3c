"""Which HubSpot associations API a plugin speaks, and where its paths start: the one place that knows.

``v3`` is the seed's API (names only; toward companies only the primary company; unsupported from
September 2027). ``v4`` (unsupported from 2027-03-30) and the date-versioned ``2026-03`` have the same request
and response shapes (every association with its category, type id and label): only the path prefix differs,
so both go through one code path that asks :func:`associations_prefix` for it.
"""

from __future__ import annotations

from hubassoc.errors import quoted

V3 = "v3"
V4 = "v4"
DATED = "2026-03"
API_VERSIONS: tuple[str, ...] = (V3, V4, DATED)
DEFAULT_API_VERSION = V3
# The versions with v4's shapes (labels, typeId, numeric toObjectId, per-object paging through "after").
LABELLED_VERSIONS: tuple[str, ...] = (V4, DATED)

_PREFIXES = {
    V3: "/crm/v3/associations",
    V4: "/crm/v4/associations",
    DATED: "/crm/associations/2026-03",
}


class UnknownApiVersionError(ValueError):
    """An ``api_version`` setting HubSpot has no associations API for; the message lists the ones there are."""


def parse_api_version(value: object) -> str:
    """The setting as one of :data:`API_VERSIONS`; unset means the default (v3)."""
    if value is None or value == "":
        return DEFAULT_API_VERSION
    text = str(value).strip().lower()
    if text not in _PREFIXES:
        msg = f"api_version {quoted(value)} is not one of {', '.join(API_VERSIONS)}"
        raise UnknownApiVersionError(msg)
    return text


def associations_prefix(version: str) -> str:
    """``/crm/v4/associations`` or ``/crm/associations/2026-03`` (no trailing slash)."""
    return _PREFIXES[parse_api_version(version)]


def is_labelled(version: str) -> bool:
    """True for the versions with v4's shapes: they read every association with its labels."""
    return parse_api_version(version) in LABELLED_VERSIONS
