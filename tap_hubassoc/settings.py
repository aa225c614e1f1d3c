"""The tap's own settings and what they mean: which pairs to read, which ids, in what batches.

Connection settings (auth, api_url, pacing) are shared with the target and defined once in
:mod:`hubassoc.settings`; this module only adds what is particular to reading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from singer_sdk import typing as th

from hubassoc.auth import Credentials, validate_api_url
from hubassoc.limits import READ_BATCH_LIMIT
from hubassoc.objects import ObjectType, UnknownObjectTypeError, is_object_id, parse_object_type
from hubassoc.progress import DEFAULT_PROGRESS_INTERVAL
from hubassoc.settings import CONNECTION_PROPERTIES, DEFAULT_API_URL
from tap_hubassoc.versions import SETTING as VERSIONING_SETTING
from tap_hubassoc.versions import VERSIONING_PROPERTY

READ_EACH_PAIR_ONCE = "read_each_pair_once"

# contacts<->companies, contacts<->deals, contacts<->tickets, companies<->deals, companies<->tickets,
# deals<->tickets: the pairs the issue names, both directions.
_DEFAULT_UNDIRECTED = (
    ("contacts", "companies"), ("contacts", "deals"), ("contacts", "tickets"),
    ("companies", "deals"), ("companies", "tickets"), ("deals", "tickets"),
)
DEFAULT_PAIRS: list[dict[str, str]] = [
    {"from": a, "to": b} for x, y in _DEFAULT_UNDIRECTED for a, b in ((x, y), (y, x))
]

TAP_PROPERTIES = th.PropertiesList(
    th.Property(
        "associations",
        th.ArrayType(th.ObjectType(
            th.Property("from", th.StringType, required=True),
            th.Property("to", th.StringType, required=True),
        )),
        default=DEFAULT_PAIRS,
        description="Pairs to read, each {\"from\": ..., \"to\": ...} in any spelling HubSpot accepts "
        "(Contacts, deal, 0-5, 2-123456). Default: contacts, companies, deals and tickets with each other, "
        "both directions. v3 returns only the primary company toward companies; api_version v4 or 2026-03 "
        "returns every company, with labels.",
    ),
    th.Property(
        "from_ids",
        th.ObjectType(additional_properties=th.ArrayType(th.CustomType({"type": ["string", "integer"]}))),
        description="Optional {object_type: [ids]}: for these types, read these ids instead of listing every "
        "object (the other types are still listed). A pair with a type named here is read from these ids, in "
        "both directions: the other direction then holds the associations of these objects only.",
    ),
    th.Property(
        READ_EACH_PAIR_ONCE, th.BooleanType, default=True,
        description="Read each pair of types once, from one side (the side from_ids names; in v3 the companies "
        "side; else the side with fewer objects), and emit every configured direction from that read, mapping "
        "each type to its inverse. In v3 that makes contacts->companies complete, not only the primary company. "
        "false: read each configured direction from its own from type, as v3 shows it.",
    ),
    th.Property(
        "batch_size", th.IntegerType(minimum=1, maximum=READ_BATCH_LIMIT), default=READ_BATCH_LIMIT,
        description="Ids per batch read (HubSpot allows 1000). A resumed run repeats at most one batch.",
    ),
    th.Property(
        "progress_interval", th.NumberType(minimum=0.01), default=DEFAULT_PROGRESS_INTERVAL,
        description="Seconds between progress lines on stderr while associations are read.",
    ),
    VERSIONING_PROPERTY,
)

CONFIG_JSONSCHEMA: dict[str, Any] = th.PropertiesList(
    *(prop for _, prop in CONNECTION_PROPERTIES.items()),
    *(prop for _, prop in TAP_PROPERTIES.items()),
).to_dict()


@dataclass(frozen=True)
class Pair:
    """One configured (from, to) pair: ``name`` is how state and logs refer to it."""

    from_type: ObjectType
    to_type: ObjectType

    @property
    def name(self) -> str:
        """``contacts->companies``: canonical names, so any spelling of the pair names it the same way."""
        return f"{self.from_type.name}->{self.to_type.name}"


def parse_pairs(config: Mapping[str, Any]) -> list[Pair]:
    """The configured pairs in configured order, each once (``Contact`` and ``0-1`` are the same type)."""
    raw = config.get("associations") or DEFAULT_PAIRS
    pairs: dict[Pair, None] = {}
    for item in raw:
        pairs[Pair(parse_object_type(item["from"]), parse_object_type(item["to"]))] = None
    return list(pairs)


def from_types(pairs: list[Pair]) -> list[ObjectType]:
    """The from types in order of first appearance: one listing, and one state partition, each."""
    return list(dict.fromkeys(p.from_type for p in pairs))


def parse_from_ids(config: Mapping[str, Any]) -> dict[ObjectType, list[str]]:
    """``from_ids`` by canonical type, ids as strings, each once in the order given."""
    found: dict[ObjectType, list[str]] = {}
    for spelling, ids in (config.get("from_ids") or {}).items():
        kind = parse_object_type(spelling)
        found[kind] = list(dict.fromkeys([*found.get(kind, []), *(str(i).strip() for i in ids)]))
    return found


def ids_digest(ids: list[str]) -> str:
    """A short fingerprint of a from_ids list: an index saved in state means nothing for another list."""
    return hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]


def config_problems(config: Mapping[str, Any]) -> list[str]:
    """What is wrong with a config beyond its JSON schema, each as a sentence a user can act on."""
    problems: list[str] = []
    for check in (lambda: validate_api_url(str(config.get("api_url") or DEFAULT_API_URL)),
                  lambda: Credentials.from_config(dict(config))):
        try:
            check()
        except ValueError as exc:
            problems.append(str(exc))
    try:
        pairs = parse_pairs(config)
        ids = parse_from_ids(config)
    except (UnknownObjectTypeError, KeyError, TypeError) as exc:
        return [*problems, f"associations/from_ids: {exc}"]
    if not pairs:
        problems.append("associations is empty: name at least one {\"from\": ..., \"to\": ...} pair")
    for kind, values in ids.items():
        bad = [v for v in values if not is_object_id(v)]
        if bad:
            problems.append(f"from_ids[{kind.name}]: not HubSpot object ids (digits): {', '.join(bad[:5])}")
    return problems


def config_warnings(config: Mapping[str, Any]) -> list[str]:
    """Settings that are valid but probably not what was meant (they do no harm, so the run goes on)."""
    pairs = parse_pairs(config)
    once = config.get(READ_EACH_PAIR_ONCE, True)
    # Read once, a pair is read from the ids of either of its types; else only from its from type's.
    readable = {kind for p in pairs for kind in ((p.from_type, p.to_type) if once else (p.from_type,))}
    which = "has" if once else "starts from"
    warnings = [f"from_ids names {kind.name}, which no configured pair {which}: those ids are not read"
                for kind in parse_from_ids(config) if kind not in readable]
    if config.get(VERSIONING_SETTING) and config.get("batch_config"):
        warnings.append(f"{VERSIONING_SETTING} has no effect with batch_config: BATCH messages carry no table "
                        "version, so no ACTIVATE_VERSION is sent and a loader keeps removed associations")
    return warnings
