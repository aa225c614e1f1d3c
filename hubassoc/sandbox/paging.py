"""Opaque association cursors, shaped like HubSpot's (``MC0yLTc1MDI%3D``: URL-quoted base64).

A cursor names the last entry returned, so a page continues exactly after it even when a client got the
cursor from a batch read and continues through the per-object endpoint. HubSpot hands the cursor out
already URL-quoted; clients pass it back quoted once, twice or not at all, so decoding unquotes until stable.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from urllib.parse import quote, unquote

Entry = tuple[int, int]  # (to_id, type_id): the order association entries are listed in


def encode(last: Entry) -> str:
    """The cursor that continues after ``last``."""
    raw = base64.b64encode(f"{last[0]}-{last[1]}".encode()).decode()
    return quote(raw, safe="")


def decode(cursor: str) -> Entry | None:
    """The entry a cursor continues after, or None if it is not a cursor this sandbox gave out."""
    text = cursor
    for _ in range(5):
        plain = unquote(text)
        if plain == text:
            break
        text = plain
    try:
        to_id, _, type_id = base64.b64decode(text, validate=True).decode().partition("-")
        return int(to_id), int(type_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def page(entries: list[Entry], after: Entry | None, limit: int) -> tuple[list[Entry], str | None]:
    """Up to ``limit`` entries after ``after`` (sorted input), and the cursor for the rest (None: no more)."""
    start = 0 if after is None else bisect.bisect_right(entries, after)
    chunk = entries[start:start + limit]
    more = start + limit < len(entries)
    return chunk, encode(chunk[-1]) if more else None
