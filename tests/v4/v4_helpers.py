"""Shared by the v4 / 2026-03 tests: the two path prefixes, an HTTP caller, a CRM with non-primary companies and
custom labels, and in-process tap and target runs.

Expected values come from the sandbox's store (what "HubSpot" holds) and HubSpot's documented behaviour
(hubspot-associations-api.md), never from the plugins' own code.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable
from typing import Any

import requests

from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA
from hubassoc.sandbox import Sandbox, Store
from tap_hubassoc.tap import TapHubAssoc
from target_hubassoc.target import TargetHubAssoc

TOKEN = "sandbox-token"
# hubspot-associations-api.md, "v4 and the date-versioned API": only the prefix differs.
PREFIXES = {"v4": "/crm/v4/associations", "2026-03": "/crm/associations/2026-03"}
LABELLED = tuple(PREFIXES)
VERSIONS = ("v3", *LABELLED)
PRIMARY, UNLABELED = 1, 279  # contact->company (hubspot-associations-api.md, "Object types")
DEAL_COMPANY_UNLABELED = 341

# -- the CRM: ids beyond 32 bits with gaps; non-primary companies; two custom labels; objects past 100 ------------

CONTACTS = [10_000_000_001 + 7 * i for i in range(60)]
COMPANIES = [20_000_000_001 + 3 * i for i in range(130)]
DEALS = [30_000_000_001 + 11 * i for i in range(40)]
TICKETS = [40_000_000_001 + i for i in range(10)]
CONTACT_OF_EVERY_COMPANY = CONTACTS[1]  # 130 companies: v4 pages it at 100; v3 shows only its primary
BILLING = "Billing contact"  # contacts->companies, inverse "Billed company"
DECISION_MAKER = "Decision maker"  # deals->contacts, one label both ways
PAIRS = [
    ("contacts", "companies"), ("companies", "contacts"), ("contacts", "deals"), ("deals", "contacts"),
    ("deals", "companies"), ("tickets", "companies"),
]
TOWARD_COMPANIES = [p for p in PAIRS if p[1] == "companies"]


def build_crm(*, associations: bool = True) -> Store:
    """The CRM (contact 0 and deal 0 have no associations); ``associations=False``: objects and labels only."""
    store = Store()
    for kind, ids in (("contacts", CONTACTS), ("companies", COMPANIES), ("deals", DEALS), ("tickets", TICKETS)):
        store.add_objects(kind, ids)
    billing, _ = store.add_label("contacts", "companies", BILLING, "Billed company")
    decision, _ = store.add_label("deals", "contacts", DECISION_MAKER)
    if associations:
        _associate(store, billing, decision)
    return store


def _associate(store: Store, billing: int, decision: int) -> None:
    for i, contact in enumerate(CONTACTS[1:], start=1):
        if i % 4:
            store.associate("contacts", contact, "companies", COMPANIES[i % 7], PRIMARY)
        if i % 3 == 0:  # a second company, never primary: v3 hides it toward companies
            store.associate("contacts", contact, "companies", COMPANIES[i % 7 + 10])
            if i % 2 == 0:
                store.associate("contacts", contact, "companies", COMPANIES[i % 7 + 10], billing)
        if i % 8 == 1:
            store.associate("contacts", contact, "companies", COMPANIES[i % 7], billing)
        for deal in DEALS[1 + i % 5: 3 + i % 5]:
            store.associate("contacts", contact, "deals", deal)
    for company in COMPANIES:
        store.associate("contacts", CONTACT_OF_EVERY_COMPANY, "companies", company)
    for j, deal in enumerate(DEALS[1:], start=1):
        store.associate("deals", deal, "companies", COMPANIES[j % 9], 5 if j % 2 else None)  # 5: deal primary
        store.associate("deals", deal, "companies", COMPANIES[j % 9 + 20])  # never primary
        if j % 4 == 0:
            store.associate("deals", deal, "contacts", CONTACTS[j], decision)
    for k, ticket in enumerate(TICKETS):
        store.associate("tickets", ticket, "companies", COMPANIES[k + 40])  # tickets without a primary company


def edge(record: dict[str, Any]) -> tuple[str, str, str, str, int]:
    """The association key of a record."""
    return (record["from_object_type"], record["from_id"], record["to_object_type"], record["to_id"],
            int(record["association_type_id"]))


def row(record: dict[str, Any]) -> tuple[Any, ...]:
    """A record as a hashable row of every field."""
    return tuple(sorted(record.items()))


def v4_expected(store: Store, from_type: str, to_type: str) -> list[dict[str, Any]]:
    """What v4 shows of a pair: every association with category and label; a v3 name only where HubSpot
    defines the type (account labels' names are not in any v4 reply)."""
    return [{**r, "association_type": r["association_type"] if r["association_category"] == "HUBSPOT_DEFINED"
             else None} for r in store.records(from_type, to_type)]


# -- HTTP ---------------------------------------------------------------------------------------------------------


class Api:
    """A keep-alive caller with the sandbox token; close() at the end."""

    def __init__(self, box: Sandbox) -> None:
        self.url = box.url
        self.session = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.url + path, headers=self._headers(), timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.url + path, json=body, headers=self._headers(), timeout=10)

    @staticmethod
    def _headers() -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def close(self) -> None:
        self.session.close()


# -- plugins ------------------------------------------------------------------------------------------------------


def tap_config(box: Sandbox, version: str, **settings: Any) -> dict[str, Any]:
    pairs = [{"from": a, "to": b} for a, b in PAIRS]
    return {"access_token": TOKEN, "api_url": box.url, "requests_per_10s": 1000, "api_version": version,
            "associations": pairs, **settings}


def run_tap(config: dict[str, Any]) -> list[dict[str, Any]]:
    """A full sync in this process; the Singer messages it printed."""
    out = io.StringIO()
    tap = TapHubAssoc(config=config, state={})
    try:
        with contextlib.redirect_stdout(out):
            tap.sync_all()
    finally:
        tap.close()
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def records(messages: list[dict[str, Any]], stream: str = "associations") -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]


def target_config(box: Sandbox, version: str, dead_letters: Any, **settings: Any) -> dict[str, Any]:
    return {"access_token": TOKEN, "api_url": box.url, "requests_per_10s": 1000, "api_version": version,
            "dead_letter_path": str(dead_letters), **settings}


def run_target(config: dict[str, Any], messages: Iterable[dict[str, Any]]) -> TargetHubAssoc:
    """The target in this process (STATE lines go to stdout); returned for its writer's counters."""
    target = TargetHubAssoc(config=config)
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
    return target


def as_messages(
    rows: Iterable[dict[str, Any]], stream: str = "associations", *, tap_keys: bool = False,
) -> list[dict[str, Any]]:
    """A SCHEMA (the tap's, so tap output is valid input) and one RECORD per row; ``tap_keys``: with the tap's
    key properties, which hand-written changes without a type id cannot have."""
    keys = list(ASSOCIATION_KEY) if tap_keys else []
    schema = {"type": "SCHEMA", "stream": stream, "schema": ASSOCIATION_SCHEMA, "key_properties": keys}
    return [schema, *({"type": "RECORD", "stream": stream, "record": r} for r in rows)]


def read_dead_letters(path: Any) -> list[dict[str, Any]]:
    with contextlib.suppress(FileNotFoundError), open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]
    return []
