"""Fixtures for the v4 / 2026-03 tests: callers closed at teardown, the CRM of v4_helpers on a sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from v4_helpers import Api, build_crm

from hubassoc.sandbox import Sandbox


@pytest.fixture
def api() -> Iterator[Callable[[Sandbox], Api]]:
    """``api(box)``: an HTTP caller with the sandbox token, closed at teardown."""
    made: list[Api] = []

    def make(box: Sandbox) -> Api:
        made.append(Api(box))
        return made[-1]

    yield make
    for caller in made:
        caller.close()


@pytest.fixture
def crm(sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """``crm(associations=True, **knobs)``: a started sandbox over a fresh copy of the CRM.

    Its rate limit is above the plugins' budget of 1000 requests per 10 s unless a test sets one: a client
    paces itself down when HubSpot's Remaining header shows less budget than it expected.
    """

    def start(associations: bool = True, **knobs: object) -> Sandbox:
        return sandbox(store=build_crm(associations=associations), **{"rate_limit": 10_000, **knobs})

    return start
