"""The v4 / 2026-03 tests' CRM: ids beyond 32 bits with gaps, non-primary companies, two custom labels, objects
past 100 associations; and what v4 shows of a store."""

from __future__ import annotations

from typing import Any

from hubassoc.sandbox import Store
from tests.support.crm import PRIMARY

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


def v4_expected(store: Store, from_type: str, to_type: str) -> list[dict[str, Any]]:
    """What v4 shows of a pair: every association with category and label; a v3 name only where HubSpot
    defines the type (account labels' names are not in any v4 reply)."""
    return [{**r, "association_type": r["association_type"] if r["association_category"] == "HUBSPOT_DEFINED"
             else None} for r in store.records(from_type, to_type)]
