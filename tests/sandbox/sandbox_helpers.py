"""Shared by the sandbox conformance tests: an HTTP caller, body matchers and a small hand-built CRM."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import requests

from hubassoc.sandbox import Store

TOKEN = "sandbox-token"

# The hand-built CRM: ids beyond 32 bits, as HubSpot's are.
CONTACTS = [30_000_000_001 + 7 * i for i in range(300)]
COMPANIES = [40_000_000_001, 40_000_000_002, 40_000_000_003]
DEAL_WITHOUT_ASSOCIATIONS = 50_000_000_001
DEAL_WITH_250_CONTACTS = 50_000_000_002
DEAL_WITH_PRIMARY = 50_000_000_003
DEALS = [DEAL_WITHOUT_ASSOCIATIONS, DEAL_WITH_250_CONTACTS, DEAL_WITH_PRIMARY]
CONTACT_WITH_PRIMARY, CONTACT_WITHOUT_PRIMARY = CONTACTS[0], CONTACTS[1]


class Matches:
    """Equal to any string matching a regular expression: for ids and timestamps in exact-body comparisons."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(self.pattern.fullmatch(other))

    def __hash__(self) -> int:
        return hash(self.pattern.pattern)

    def __repr__(self) -> str:
        return f"Matches({self.pattern.pattern!r})"


UUID = Matches(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TIMESTAMP = Matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@dataclass
class Api:
    """A keep-alive HTTP caller with a bearer token, as a HubSpot client would be."""

    url: str
    token: str | None = TOKEN

    def __post_init__(self) -> None:
        self.session = requests.Session()

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, headers=self._headers(), timeout=10)

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None) -> requests.Response:
        """POST ``body`` as JSON, or ``raw`` bytes declared as JSON (for malformed bodies)."""
        if raw is None:
            return self.session.post(self.url + path, json=body, headers=self._headers(), timeout=10)
        headers = {**self._headers(), "Content-Type": "application/json"}
        return self.session.post(self.url + path, data=raw, headers=headers, timeout=10)

    def follow(self, link: str) -> requests.Response:
        """GET an absolute link HubSpot handed out, verbatim."""
        return self.session.get(link, headers=self._headers(), timeout=10)

    def _headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    def close(self) -> None:
        self.session.close()


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
