"""Fixtures shared by every test package: a real sandbox HubSpot server on a free loopback port, and callers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig, SeedSpec, Store, preset, seed_store
from tests.support.sandbox_api import TOKEN, Api, ApiFactory, SandboxFactory


@pytest.fixture
def sandbox() -> Iterator[SandboxFactory]:
    """``sandbox(seed=None, store=None, **knobs)``: a started Sandbox, stopped at teardown.

    ``seed`` is a SeedSpec or a preset name ("demo", "empty"); ``knobs`` are SandboxConfig fields.
    """
    started: list[Sandbox] = []

    def start(seed: SeedSpec | str | None = None, store: Store | None = None, **knobs: Any) -> Sandbox:
        store = store if store is not None else Store()
        if seed is not None:
            seed_store(store, preset(seed) if isinstance(seed, str) else seed)
        box = Sandbox(SandboxConfig(**knobs), store)
        started.append(box)
        box.start()
        return box

    yield start
    for box in started:
        box.stop()


@pytest.fixture
def api() -> Iterator[ApiFactory]:
    """``api(sandbox_or_url, token=TOKEN)``: an HTTP caller with a bearer token (None: none), closed at teardown."""
    made: list[Api] = []

    def make(target: Sandbox | str, token: str | None = TOKEN) -> Api:
        caller = Api(target if isinstance(target, str) else target.url, token)
        made.append(caller)
        return caller

    yield make
    for caller in made:
        caller.close()
