"""The CRM of the issue, which the tap must read exactly: objects with 0, 1, 100, 101 and 250 associations (v3
pages past 100), a custom label, primary companies, and a company seen from its side with more than 100 contacts."""

from __future__ import annotations

from hubassoc.sandbox import Store

CONTACTS = [10_000_000_001 + 7 * i for i in range(230)]  # 3 listing pages; ids beyond 32 bits, with gaps
DEALS = [20_000_000_001 + 3 * i for i in range(300)]
COMPANIES = [30_000_000_001 + i for i in range(20)]
TICKETS = [40_000_000_001 + i for i in range(10)]
DEALS_PER_CONTACT = {0: 0, 1: 1, 2: 100, 3: 101, 4: 250}  # contact index -> deals; the rest get i % 3
CONTACTS_OF_BIG_COMPANY = 130  # companies[0]: more than 100 contacts, seen from the company side


def build_crm() -> Store:
    """The CRM the tap must read exactly (contact 0 has no associations at all)."""
    store = Store()
    for kind, ids in (("contacts", CONTACTS), ("deals", DEALS), ("companies", COMPANIES), ("tickets", TICKETS)):
        store.add_objects(kind, ids)
    billing, _ = store.add_label("contacts", "companies", "Billing contact")
    primary = store.primary_type("contacts", "companies")
    assert primary is not None
    for i, contact in enumerate(CONTACTS[1:], start=1):
        for deal in DEALS[:DEALS_PER_CONTACT.get(i, i % 3)]:
            store.associate("contacts", contact, "deals", deal)
        if i % 4:
            store.associate("contacts", contact, "companies", COMPANIES[i % 20], primary.type_id)
            if i % 6 == 0:
                store.associate("contacts", contact, "companies", COMPANIES[i % 20], billing)  # visible in v3
        if i % 5 == 0:
            other = COMPANIES[(i + 1) % 20]  # not the primary: v3 hides it, label or not
            store.associate("contacts", contact, "companies", other)
            store.associate("contacts", contact, "companies", other, billing)
        if i % 7 == 1:
            store.associate("contacts", contact, "tickets", TICKETS[i % 10])
    for contact in CONTACTS[-CONTACTS_OF_BIG_COMPANY:]:
        store.associate("companies", COMPANIES[0], "contacts", contact)
    return store
