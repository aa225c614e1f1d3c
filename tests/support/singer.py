"""Singer messages: building the input a target reads, and reading what a tap printed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA

DELETED = "2026-01-01T00:00:00+00:00"  # a non-null _sdc_deleted_at: the record asks for an archive

Key = tuple[str, str, str, str, int]


# -- building messages -------------------------------------------------------------------------------------------


def schema(stream: str = "associations", key_properties: Iterable[str] = ()) -> dict[str, Any]:
    """A SCHEMA message with the association record schema (the tap's, so its output is valid input)."""
    return {"type": "SCHEMA", "stream": stream, "schema": ASSOCIATION_SCHEMA, "key_properties": list(key_properties)}


def tap_schema(stream: str = "associations") -> dict[str, Any]:
    """The SCHEMA message tap-hubassoc sends for its associations stream."""
    return schema(stream, ASSOCIATION_KEY)


def record(stream: str = "associations", **fields: Any) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": fields}


def association(
    from_type: str, from_id: int, to_type: str, to_id: int, stream: str = "associations", **extra: Any,
) -> dict[str, Any]:
    """A RECORD asking for one association (extra fields, e.g. ``_sdc_deleted_at``, as given)."""
    return record(stream, from_object_type=from_type, from_id=str(from_id), to_object_type=to_type,
                  to_id=str(to_id), **extra)


def contact_company(contact: int, company: int, stream: str = "associations", **extra: Any) -> dict[str, Any]:
    """A RECORD asking for the association between one contact and one company."""
    return association("contacts", contact, "companies", company, stream, **extra)


def activate_version(stream: str = "associations", version: int = 1) -> dict[str, Any]:
    """An ACTIVATE_VERSION message, as taps send at the end of a full-table read."""
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def state(**value: Any) -> dict[str, Any]:
    """A STATE message."""
    return {"type": "STATE", "value": value}


def as_messages(
    rows: Iterable[dict[str, Any]], stream: str = "associations", *, tap_keys: bool = False,
) -> list[dict[str, Any]]:
    """A SCHEMA and one RECORD per row; ``tap_keys``: with the tap's key properties, which hand-written changes
    without a type id cannot have."""
    return [schema(stream, ASSOCIATION_KEY if tap_keys else ()), *(record(stream, **r) for r in rows)]


def singer_text(messages: Iterable[dict[str, Any] | str]) -> str:
    """Messages as the target reads them, one JSON document a line (strings are sent as they are)."""
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


# -- reading output ----------------------------------------------------------------------------------------------


def parse_messages(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON messages among printed lines (anything else, e.g. a stray log line, is skipped)."""
    return [json.loads(line) for line in lines if line.strip().startswith("{")]


def records(messages: list[dict[str, Any]], stream: str = "associations") -> list[dict[str, Any]]:
    """The records of one stream, in order."""
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def key_of(record: dict[str, Any]) -> Key:
    """A record's association key with ids as text and the type id as an int, however they were spelt."""
    f, fi, t, ti, type_id = (record[name] for name in ASSOCIATION_KEY)
    return str(f), str(fi), str(t), str(ti), int(type_id)


def row(record: dict[str, Any]) -> tuple[Any, ...]:
    """A record as a hashable row of every field, so comparisons cover all of them."""
    return tuple(sorted(record.items()))
