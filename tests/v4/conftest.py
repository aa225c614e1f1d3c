"""Fixtures for the v4 / 2026-03 tests: the labelled CRM (tests.support.crm.labelled) on a sandbox."""

from __future__ import annotations

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.crm.labelled import build_crm
from tests.support.sandbox_api import SandboxFactory


@pytest.fixture
def crm(sandbox: SandboxFactory) -> SandboxFactory:
    """``crm(associations=True, **knobs)``: a started sandbox over a fresh copy of the CRM.

    Its rate limit is above the plugins' budget of 1000 requests per 10 s unless a test sets one: a client
    paces itself down when HubSpot's Remaining header shows less budget than it expected.
    """

    def start(associations: bool = True, **knobs: object) -> Sandbox:
        return sandbox(store=build_crm(associations=associations), **{"rate_limit": 10_000, **knobs})

    return start
