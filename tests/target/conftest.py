"""Fixtures for target-hubassoc tests: a sandbox HubSpot holding the small CRM (tests.support.crm.small)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.crm.small import new_store
from tests.support.sandbox_api import SandboxFactory


@pytest.fixture
def crm(sandbox: SandboxFactory) -> SandboxFactory:
    """``crm(**knobs)``: a running sandbox with the small CRM's objects and label and no associations."""

    def start(**knobs: object) -> Sandbox:
        return sandbox(store=new_store(), **knobs)

    return start


@pytest.fixture
def dead_letters(tmp_path: Path) -> Path:
    """Where a test's run writes its dead letters."""
    return tmp_path / "rejected.jsonl"
