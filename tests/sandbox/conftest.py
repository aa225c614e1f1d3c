"""Fixtures for the sandbox conformance tests: the conformance CRM (tests.support.crm.conformance) on a sandbox."""

from __future__ import annotations

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.crm.conformance import build_crm
from tests.support.sandbox_api import SandboxFactory


@pytest.fixture
def crm(sandbox: SandboxFactory) -> SandboxFactory:
    """``crm(**knobs)``: a started sandbox over a fresh ``build_crm()`` store."""

    def start(**knobs: object) -> Sandbox:
        return sandbox(store=build_crm(), **knobs)

    return start
