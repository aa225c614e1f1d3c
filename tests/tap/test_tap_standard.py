"""The Singer SDK's standard tap tests, against a sandbox over HTTP.

The test class is built at import, so its sandbox starts at import too; it stops when the module's tests
are done (or at exit, if they never run).
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest
from singer_sdk.testing import get_tap_test_class

from hubassoc.sandbox import Sandbox, SandboxConfig, SeedSpec, Store, seed_store
from tap_hubassoc.tap import TapHubAssoc
from tests.support.sandbox_api import TOKEN

SMALL_CRM = SeedSpec(contacts=40, companies=8, deals=12, tickets=6, many_share=0.0)


def _start_sandbox() -> Sandbox:
    store = Store()
    seed_store(store, SMALL_CRM)
    sandbox = Sandbox(SandboxConfig(rate_limit=10_000), store)
    sandbox.start()
    atexit.register(sandbox.stop)
    return sandbox


SANDBOX = _start_sandbox()

TestTapHubAssoc = get_tap_test_class(
    TapHubAssoc,
    config={"access_token": TOKEN, "api_url": SANDBOX.url, "requests_per_10s": 1000},
)


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox() -> Iterator[None]:
    yield
    SANDBOX.stop()
