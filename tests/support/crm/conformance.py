"""The sandbox conformance tests' CRM: deals with 0 and 250 contacts and with a primary company, contacts with and
without a primary company."""

from __future__ import annotations

from hubassoc.sandbox import Store

# The hand-built CRM: ids beyond 32 bits, as HubSpot's are.
CONTACTS = [30_000_000_001 + 7 * i for i in range(300)]
COMPANIES = [40_000_000_001, 40_000_000_002, 40_000_000_003]
DEAL_WITHOUT_ASSOCIATIONS = 50_000_000_001
DEAL_WITH_250_CONTACTS = 50_000_000_002
DEAL_WITH_PRIMARY = 50_000_000_003
DEALS = [DEAL_WITHOUT_ASSOCIATIONS, DEAL_WITH_250_CONTACTS, DEAL_WITH_PRIMARY]
CONTACT_WITH_PRIMARY, CONTACT_WITHOUT_PRIMARY = CONTACTS[0], CONTACTS[1]


def build_crm() -> Store:
    """Deals with 0 and 250 contacts, and with a primary company; contacts with and without a primary company."""
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.add_objects("companies", COMPANIES)
    store.add_objects("deals", DEALS)
    for contact in CONTACTS[:250]:
        store.associate("deals", DEAL_WITH_250_CONTACTS, "contacts", contact)
    deal_primary = store.primary_type("deals", "companies")
    contact_primary = store.primary_type("contacts", "companies")
    assert deal_primary is not None
    assert contact_primary is not None
    store.associate("deals", DEAL_WITH_PRIMARY, "companies", COMPANIES[0], deal_primary.type_id)
    store.associate("deals", DEAL_WITH_PRIMARY, "companies", COMPANIES[1])
    store.associate("contacts", CONTACT_WITH_PRIMARY, "companies", COMPANIES[0], contact_primary.type_id)
    store.associate("contacts", CONTACT_WITH_PRIMARY, "companies", COMPANIES[1])
    store.associate("contacts", CONTACT_WITHOUT_PRIMARY, "companies", COMPANIES[2])
    return store
