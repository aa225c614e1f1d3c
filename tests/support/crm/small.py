"""The target tests' small CRM: objects and a custom label, no associations; ids stay small so failures read easily."""

from __future__ import annotations

from hubassoc.sandbox import Sandbox, Store

CONTACTS = list(range(101, 131))
COMPANIES = list(range(201, 211))
DEALS = list(range(301, 311))
MISSING_COMPANY = 299  # no such company: HubSpot refuses it in a 207
BILLING = "Billing contact"  # a custom label on contacts->companies (v3 name billing_contact)


def new_store() -> Store:
    """The small CRM: contacts, companies, deals and the Billing contact label; no associations."""
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.add_objects("companies", COMPANIES)
    store.add_objects("deals", DEALS)
    store.add_label("contacts", "companies", BILLING)
    return store


def billing_type_id(box: Sandbox) -> int:
    """The account-specific id HubSpot gave the Billing contact label."""
    return box.store.add_label("contacts", "companies", BILLING)[0]
