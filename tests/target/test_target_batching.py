"""Batches of up to 2,000 inputs per (pair, action), sent concurrently under the shared pacer.

HubSpot's v3 batch create takes at most 2,000 inputs; with 100-300 ms per request only concurrency comes near
the rate limit (hubspot-associations-api.md, "What this means for throughput").
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hubassoc.sandbox import Sandbox, Store
from tests.support.runners import run_target_in_process, target_config
from tests.support.sandbox_api import SandboxFactory, write_calls
from tests.support.singer import record, schema

RECORDS_PER_PAIR = 5000
CONTACT_IDS = range(1_000_001, 1_000_101)  # 100 contacts x 50 companies or deals: 5,000 distinct pairs each
COMPANY_IDS = range(2_000_001, 2_000_051)
DEAL_IDS = range(3_000_001, 3_000_051)


def _big_store() -> Store:
    store = Store()
    store.add_objects("contacts", CONTACT_IDS)
    store.add_objects("companies", COMPANY_IDS)
    store.add_objects("deals", DEAL_IDS)
    return store


def _records(to_type: str, to_ids: range) -> list[dict[str, Any]]:
    return [record(from_object_type="contacts", from_id=str(c), to_object_type=to_type, to_id=str(t))
            for c in CONTACT_IDS for t in to_ids]


def test_5000_records_per_pair_become_ceil_5000_over_2000_concurrent_create_calls_per_pair(
    sandbox: Any, dead_letters: Path,
) -> None:
    box: Sandbox = sandbox(store=_big_store(), latency_ms=150)
    target = run_target_in_process(target_config(box, dead_letters), [
        schema(), *_records("companies", COMPANY_IDS), *_records("deals", DEAL_IDS),
    ])
    calls = math.ceil(RECORDS_PER_PAIR / 2000)
    assert write_calls(box) == {
        "POST /crm/v3/associations/contacts/companies/batch/create": calls,
        "POST /crm/v3/associations/contacts/deals/batch/create": calls,
    }
    counters = box.counters()
    assert counters["inputs"]["POST /crm/v3/associations/contacts/companies/batch/create"] == RECORDS_PER_PAIR
    assert counters["peak_concurrency"] > 1
    assert len(box.store.edges("contacts", "companies")) == RECORDS_PER_PAIR
    assert len(box.store.edges("contacts", "deals")) == RECORDS_PER_PAIR
    assert target.writer.stats.created == 2 * RECORDS_PER_PAIR


def test_batch_size_rows_caps_the_inputs_of_every_call(crm: SandboxFactory, dead_letters: Path) -> None:
    box = crm()
    run_target_in_process(target_config(box, dead_letters, batch_size_rows=3), [
        schema(), *(record(from_object_type="contacts", from_id=str(c), to_object_type="companies", to_id="201")
                    for c in range(101, 111)),
    ])
    assert write_calls(box) == {"POST /crm/v3/associations/contacts/companies/batch/create": 4}
    assert len(box.store.edges("contacts", "companies")) == 10
