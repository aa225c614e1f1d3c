"""Talking to the sandbox as a HubSpot client would: the token, an HTTP caller, body matchers, and reading back
what "HubSpot" holds and counted."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from hubassoc.sandbox import Sandbox
from hubassoc.sandbox.config import DEFAULT_TOKEN
from tests.support.waiting import wait_until

TOKEN = DEFAULT_TOKEN  # the one token every sandbox accepts unless a test configures others

SandboxFactory = Callable[..., Sandbox]  # the ``sandbox`` fixture, and the ``crm`` fixtures built on it
LIST_DEALS = "GET /crm/v3/objects/deals"  # a route as the sandbox counts it


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
    """A keep-alive HTTP caller with a bearer token (None: no Authorization header), as a HubSpot client would be."""

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


ApiFactory = Callable[..., Api]  # the ``api`` fixtures


# -- reading back HubSpot's state ------------------------------------------------------------------------------


def contact_company_edges(box: Sandbox) -> set[tuple[int, int, int]]:
    """Every contact->company association as (contact, company, type id)."""
    return {(e.from_id, e.to_id, e.type_id) for e in box.store.edges("contacts", "companies")}


def assert_only(box: Sandbox, expected: set[tuple[int, int, int]]) -> None:
    """HubSpot holds exactly these contact->company associations (and their inverses), nothing else anywhere."""
    assert contact_company_edges(box) == expected
    assert len(box.store.records()) == 2 * len(expected)


def write_calls(box: Sandbox) -> dict[str, int]:
    """Requests counted by the sandbox on the batch create and archive routes."""
    counted = box.counters()["requests"]
    return {route: n for route, n in counted.items() if route.endswith(("/batch/create", "/batch/archive"))}


def settled_counters(box: Sandbox, calls: int) -> dict[str, Any]:
    """The sandbox's counters once it has answered ``calls`` requests.

    A request the client gave up on (a slow reply) is counted when the sandbox finishes it, which can be after
    the client's run ended.
    """
    wait_until(lambda: box.counters()["requests_total"] >= calls, f"the sandbox to count {calls} requests")
    return box.counters()
