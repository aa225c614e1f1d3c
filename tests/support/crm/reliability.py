"""The small CRMs the reliability (fault, limit, crash) tests run on, and what the tap must read or the target
must leave.

Expected values come from the sandbox's store, never from the plugins' own code. The pairs avoid the direction
toward companies, where v3 shows only the primary company, so the expectation is the store itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from hubassoc.sandbox import Store
from tests.support.crm import store_keys
from tests.support.crm.paged import CONTACTS, DEALS, DEALS_PER_CONTACT
from tests.support.singer import DELETED, Key, association, schema, state

# -- what the tap reads ----------------------------------------------------------------------------------------

# CONTACTS (3 listing pages), DEALS and DEALS_PER_CONTACT are the tap tests' (crm.paged): v3 batch read stops at
# 100 per object, so contacts with 100, 101 and 250 deals page.
TICKETS = [40_000_000_001 + i for i in range(12)]
TAP_PAIRS = [("contacts", "deals"), ("deals", "contacts"), ("contacts", "tickets")]
TAP_BATCH = 25  # small batches: a few dozen requests, so fault shares of 10 % and 30 % mean something


def tap_crm() -> Store:
    """Contacts with 0, 1, 100, 101 and 250 deals, deals seen from their side, a few tickets."""
    store = Store()
    for kind, ids in (("contacts", CONTACTS), ("deals", DEALS), ("tickets", TICKETS)):
        store.add_objects(kind, ids)
    for i, contact in enumerate(CONTACTS):
        for deal in DEALS[:DEALS_PER_CONTACT.get(i, i % 3)]:
            store.associate("contacts", contact, "deals", deal)
        if i % 7 == 1:
            store.associate("contacts", contact, "tickets", TICKETS[i % len(TICKETS)])
    return store


def tap_settings(**settings: Any) -> dict[str, Any]:
    """The tap's own settings for these tests (connection settings come from tests.support.credentials)."""
    return {"associations": [{"from": a, "to": b} for a, b in TAP_PAIRS], "batch_size": TAP_BATCH, **settings}


def tap_expected(store: Store) -> Counter[Key]:
    """Every association of the pairs, each exactly once."""
    return store_keys(store, TAP_PAIRS)


# -- what the target writes ------------------------------------------------------------------------------------

TARGET_CONTACTS = [50_000_000_001 + i for i in range(120)]
TARGET_DEALS = [60_000_000_001 + i for i in range(40)]
TARGET_PAIR = ("contacts", "deals")
STATE_EVERY = 50


@dataclass(frozen=True)
class Load:
    """A target input and what it must leave: ``before`` held by HubSpot at the start, ``after`` at the end.

    No association gets both a create and an archive, so the end state does not depend on when a request that
    timed out on the client's side is applied by the server.
    """

    lines: list[dict[str, Any]]
    before: frozenset[tuple[int, int]]
    after: frozenset[tuple[int, int]]
    creates: int
    archives: int
    repeats: int

    @property
    def records(self) -> int:
        """RECORD messages in the input."""
        return self.creates + self.archives + self.repeats

    def position_of(self, state: dict[str, Any] | None) -> int:
        """How many records the STATE acknowledges (0 for none)."""
        return 0 if state is None else int(state["position"])

    def records_until(self, position: int) -> list[dict[str, Any]]:
        """The first ``position`` records."""
        return [m["record"] for m in self.lines if m["type"] == "RECORD"][:position]

    def resume_from(self, position: int) -> list[dict[str, Any]]:
        """The input a tap resuming from that STATE sends: the SCHEMA, then everything after the STATE."""
        seen, rest = 0, []
        for message in self.lines[1:]:
            if seen >= position:
                rest.append(message)
            seen += message["type"] == "RECORD"
        return [self.lines[0], *rest]


def target_crm() -> tuple[Store, Load]:
    """120 contacts, 40 deals, 100 associations already there; the load creates 500, archives 50, repeats 40."""
    store = Store()
    store.add_objects("contacts", TARGET_CONTACTS)
    store.add_objects("deals", TARGET_DEALS)
    before = {(TARGET_CONTACTS[i], TARGET_DEALS[i % 40]) for i in range(100)}
    for contact, deal in sorted(before):
        store.associate("contacts", contact, "deals", deal)
    archived = sorted(before)[::2]
    created = [(c, d) for c in TARGET_CONTACTS for d in TARGET_DEALS[:5] if (c, d) not in before][:500]
    repeated = created[::13][:40]
    records = [association("contacts", c, "deals", d) for c, d in created]
    for n, (c, d) in enumerate(archived):  # archives spread through the creates, so every flush has both
        records.insert(n * 11, association("contacts", c, "deals", d, _sdc_deleted_at=DELETED))
    records += [association("contacts", c, "deals", d) for c, d in repeated]
    lines: list[dict[str, Any]] = [schema()]
    for n, record in enumerate(records, start=1):
        lines.append(record)
        if n % STATE_EVERY == 0 or n == len(records):
            lines.append(state(position=n))
    after = (before - set(archived)) | set(created)
    return store, Load(lines, frozenset(before), frozenset(after), len(created), len(archived), len(repeated))


def target_settings(**settings: Any) -> dict[str, Any]:
    """Small batches, several workers: many write calls, several flushes, a STATE after each."""
    return {"batch_size_rows": 25, "max_workers": 4, **settings}


def contact_deal_edges(store: Store) -> set[tuple[int, int]]:
    """Every contact->deal association HubSpot holds, as (contact, deal)."""
    return {(e.from_id, e.to_id) for e in store.edges(*TARGET_PAIR)}
