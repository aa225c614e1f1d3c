"""The CRMs the benchmarks run against, built straight into a sandbox Store, and what using them must cost.

The expected call counts come from the store and HubSpot's documented paging (100 ids per listing page,
1,000 ids per batch read, an object's first 100 associations in the batch read and 500 per further page),
never from the plugins' own code, so a benchmark can check that a run made exactly the calls it should.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubassoc.limits import LIST_PAGE_LIMIT, PER_OBJECT_PAGE_LIMIT, READ_BATCH_LIMIT, WRITE_BATCH_LIMIT
from hubassoc.objects import ObjectType, ordinary_type, parse_object_type
from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA
from hubassoc.sandbox import SeedSpec, Store, seed_store
from hubassoc.sandbox.reads import BATCH_READ_PAGE, visible

Pair = tuple[str, str]
TAP_PAIRS: tuple[Pair, ...] = (("contacts", "companies"), ("companies", "contacts"))
SCALE_PAIRS: tuple[Pair, ...] = (("contacts", "deals"),)
CREATE_STREAM = "associations"
ARCHIVE_STREAM = "associations_archived"
STATE_EVERY = 10_000  # records between STATE messages in the target's input, as SDK taps send them


def tap_crm(contacts: int, companies: int) -> Store:
    """The sandbox's seeded CRM shape (primaries, labels, objects past 100 associations, lonely objects)."""
    store = Store()
    seed_store(store, SeedSpec(contacts=contacts, companies=companies, deals=0, tickets=0,
                               pairs=(("contacts", "companies"),)))
    return store


def scale_crm(contacts: int) -> Store:
    """``contacts`` contacts with one deal each (ten contacts per deal), ids beyond 32 bits with gaps."""
    store = Store()
    contact_ids = [10_000_000_001 + 7 * i for i in range(contacts)]
    deal_ids = [20_000_000_001 + 3 * i for i in range(max(1, contacts // 10))]
    store.add_objects("contacts", contact_ids)
    store.add_objects("deals", deal_ids)
    store.add_associations("contacts", "deals",
                           ((c, deal_ids[i % len(deal_ids)]) for i, c in enumerate(contact_ids)))
    return store


@dataclass(frozen=True)
class ReadCost:
    """What a complete read of some pairs costs at the least, and what it yields."""

    types_calls: int
    listing_calls: dict[str, int]  # by from type: each is listed once
    search_calls: int  # one count per listed from type, when two or more are listed (tap_hubassoc.order)
    read_calls: int
    per_object_calls: int
    associations: int
    association_types: int
    relisting_calls: int  # the same, listing the from type again for every pair
    per_object_pattern_calls: int  # listing for every pair, then one per-object request per object

    @property
    def calls(self) -> int:
        """Every request of the run."""
        return (self.types_calls + self.search_calls + sum(self.listing_calls.values()) + self.read_calls
                + self.per_object_calls)

    @property
    def chain(self) -> int:
        """Requests that must follow one another: the longest listing, then one read."""
        return max(self.listing_calls.values(), default=0) + 1

    @property
    def records(self) -> int:
        """RECORD messages of both streams."""
        return self.associations + self.association_types


def read_cost(store: Store, pairs: tuple[Pair, ...], batch_size: int = READ_BATCH_LIMIT) -> ReadCost:
    """The calls and records a complete read of ``pairs`` needs against ``store``."""
    kinds = [(parse_object_type(a), parse_object_type(b)) for a, b in pairs]
    pages = {a.name: _pages(len(store.object_ids(a)), LIST_PAGE_LIMIT) for a, _ in kinds}
    reads = extra = associations = per_object_pattern = 0
    for a, b in kinds:
        ids = store.object_ids(a)
        reads += math.ceil(len(ids) / batch_size)
        for counts in _visible_counts(store, a, b, ids):
            associations += counts
            extra += math.ceil((counts - BATCH_READ_PAGE) / PER_OBJECT_PAGE_LIMIT) if counts > BATCH_READ_PAGE else 0
            per_object_pattern += max(1, math.ceil(counts / PER_OBJECT_PAGE_LIMIT))
    listed_per_pair = sum(pages[a.name] for a, _ in kinds)
    return ReadCost(
        types_calls=len(kinds), listing_calls=pages, search_calls=len(pages) if len(pages) > 1 else 0,
        read_calls=reads, per_object_calls=extra,
        associations=associations, association_types=sum(len(store.types(a, b)) for a, b in kinds),
        relisting_calls=len(kinds) + listed_per_pair + reads + extra,
        per_object_pattern_calls=len(kinds) + listed_per_pair + per_object_pattern,
    )


def _visible_counts(store: Store, a: ObjectType, b: ObjectType, ids: list[int]) -> Iterator[int]:
    """Per object, how many associations v3 shows (toward companies: only the primary company's)."""
    for object_id in ids:
        yield len(visible(store, a, object_id, b))


def _pages(count: int, size: int) -> int:
    return max(1, math.ceil(count / size))  # an empty listing is still one request


# -- the target's CRM and input ---------------------------------------------------------------------------------


def target_crm(contacts: int, companies: int) -> Store:
    """Objects only: every association the target is asked to create joins two objects that exist."""
    store = Store()
    contact_ids, company_ids = target_ids(contacts, companies)
    store.add_objects("contacts", contact_ids)
    store.add_objects("companies", company_ids)
    return store


def target_ids(contacts: int, companies: int) -> tuple[list[int], list[int]]:
    """The contact and company ids of the target's CRM."""
    return ([10_000_000_001 + 7 * i for i in range(contacts)], [30_000_000_001 + 3 * i for i in range(companies)])


def write_target_input(path: Path, contacts: int, companies: int, creates: int, archives: int) -> dict[str, Any]:
    """Singer input: ``creates`` contact->company records, then ``archives`` of the first ones; the last STATE.

    Records have the tap's shape (the backup-restore case) and use the pair's ordinary type; a STATE message
    follows every 10,000 records, as an SDK tap sends them.
    """
    contact_ids, company_ids = target_ids(contacts, companies)
    if creates > len(contact_ids) * len(company_ids) or archives > creates:
        msg = "the CRM has too few objects for that many distinct associations"
        raise ValueError(msg)
    contact, company = parse_object_type("contacts"), parse_object_type("companies")
    kind = ordinary_type(contact, company)
    assert kind is not None
    state: dict[str, Any] = {}
    with path.open("w") as out:
        for stream in (CREATE_STREAM, ARCHIVE_STREAM):
            out.write(_line({"type": "SCHEMA", "stream": stream, "schema": ASSOCIATION_SCHEMA,
                             "key_properties": list(ASSOCIATION_KEY)}))
        written = 0
        for stream, count in ((CREATE_STREAM, creates), (ARCHIVE_STREAM, archives)):
            for n in range(count):
                from_id, to_id = contact_ids[n // len(company_ids)], company_ids[n % len(company_ids)]
                out.write(_line({"type": "RECORD", "stream": stream, "record": {
                    "from_object_type": contact.name, "from_id": str(from_id), "to_object_type": company.name,
                    "to_id": str(to_id), "association_type_id": kind.type_id, "association_type": kind.name,
                    "association_category": "HUBSPOT_DEFINED", "association_label": None}}))
                written += 1
                if written % STATE_EVERY == 0 or written == creates + archives:
                    state = {"bookmarks": {stream: {"records": written}}}
                    out.write(_line({"type": "STATE", "value": state}))
    return state


def _line(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":")) + "\n"


def write_calls(creates: int, archives: int, buffer_limit: int, batch_size: int = WRITE_BATCH_LIMIT) -> int:
    """Batch calls for creates then archives, flushed every ``buffer_limit`` records, by pair and action."""
    calls = 0
    for start in range(0, creates + archives, buffer_limit):
        end = min(start + buffer_limit, creates + archives)
        in_creates = max(0, min(end, creates) - start)
        calls += math.ceil(in_creates / batch_size) + math.ceil((end - start - in_creates) / batch_size)
    return calls
