"""Fixtures for the sandbox conformance tests; the helpers they use live in sandbox_helpers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sandbox_helpers import TOKEN, Api, build_crm

from hubassoc.sandbox import Sandbox


@pytest.fixture
def api() -> Iterator[Callable[..., Api]]:
    """``api(sandbox_or_url, token=TOKEN)``: a caller closed at teardown."""
    made: list[Api] = []

    def make(target: Sandbox | str, token: str | None = TOKEN) -> Api:
        caller = Api(target if isinstance(target, str) else target.url, token)
        made.append(caller)
        return caller

    yield make
    for caller in made:
        caller.close()


@pytest.fixture
def crm(sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """``crm(**knobs)``: a started sandbox over a fresh ``build_crm()`` store."""
    return lambda **knobs: sandbox(store=build_crm(), **knobs)
