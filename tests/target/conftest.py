"""Fixtures for target-hubassoc tests: a sandbox HubSpot holding the small CRM of target_helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from target_helpers import CrmFactory, new_store

from hubassoc.sandbox import Sandbox


@pytest.fixture
def crm(sandbox: Callable[..., Sandbox]) -> CrmFactory:
    """``crm(**knobs)``: a running sandbox with the small CRM's objects and label and no associations."""

    def start(**knobs: object) -> Sandbox:
        return sandbox(store=new_store(), **knobs)

    return start


@pytest.fixture
def dead_letters(tmp_path: Path) -> Path:
    """Where a test's run writes its dead letters."""
    return tmp_path / "rejected.jsonl"
