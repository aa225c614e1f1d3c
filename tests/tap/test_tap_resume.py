"""Resume: a tap killed with SIGKILL mid-run and restarted with its last STATE repeats at most one batch.

The first run is the real ``tap-hubassoc`` process, read line by line and killed after its k-th batch STATE;
the rerun gets the last STATE the killed process printed, as an orchestrator (Meltano) would pass it.
"""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from tests.support.crm import v3_records
from tests.support.runners import kill_after_batches, partition, partition_or_empty, run_tap_cli, tap_config
from tests.support.singer import row
from tests.support.waiting import settled

BATCH = 150  # batches end mid-page, so resuming needs the page cursor and a skip
CONTACTS = [11_000_000_001 + 13 * i for i in range(1000)]  # 7 batches, 10 listing pages
DEALS = [21_000_000_001 + 5 * i for i in range(450)]  # 3 batches
COMPANIES = [31_000_000_001 + i for i in range(30)]
PAIRS = [("contacts", "deals"), ("contacts", "companies"), ("deals", "contacts")]
IDS = {"contacts": CONTACTS, "deals": DEALS}


def build_store() -> Store:
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.add_objects("deals", DEALS)
    store.add_objects("companies", COMPANIES)
    primary = store.primary_type("contacts", "companies")
    assert primary is not None
    for i, contact in enumerate(CONTACTS):
        for deal in {DEALS[i % len(DEALS)], DEALS[(7 * i) % len(DEALS)]}:
            store.associate("contacts", contact, "deals", deal)
        if i % 3:
            store.associate("contacts", contact, "companies", COMPANIES[i % 30], primary.type_id)
    return store


@pytest.fixture
def box() -> Iterator[Sandbox]:
    """Latency makes each batch take a few tens of milliseconds, so the kill lands mid-run."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=30), build_store()) as sandbox:
        yield sandbox


def config(url: str) -> dict[str, Any]:
    # Each direction from its own side: these tests kill mid-way through the contacts and deals listings.
    return tap_config(url, batch_size=BATCH, associations=[{"from": a, "to": b} for a, b in PAIRS],
                      read_each_pair_once=False)


def fresh_counters(box: Sandbox) -> None:
    """Reset the counters once the killed tap's last requests (still in the server's hands) are counted."""
    settled(lambda: box.counters()["requests_total"], quiet=0.15)  # several times the sandbox latency
    box.reset_counters()


def batches_done(state: dict[str, Any], from_type: str) -> int:
    """How many batches the saved cursor says are emitted: first unread id's position / batch size."""
    saved = partition(state, from_type)
    if saved.get("done"):
        return math.ceil(len(IDS[from_type]) / BATCH)
    first_page = 0 if saved["after"] is None else IDS[from_type].index(int(saved["after"]))
    unread = first_page + saved["skip"]
    assert unread % BATCH == 0
    return unread // BATCH


def expected_rows() -> set[tuple[Any, ...]]:
    store = build_store()
    return {row(r) for a, b in PAIRS for r in v3_records(store, a, b)}


def reads(requests: dict[str, int], from_type: str, to_type: str) -> int:
    return requests.get(f"POST /crm/v3/associations/{from_type}/{to_type}/batch/read", 0)


@pytest.mark.parametrize(("from_type", "k"), [("contacts", 3), ("deals", 1)])
def test_killed_run_resumes_from_last_state_repeating_at_most_one_batch(
    box: Sandbox, tmp_path: Path, from_type: str, k: int,
) -> None:
    """SIGKILL after k batches; the rerun with the last STATE completes the set and repeats <= one batch."""
    killed = kill_after_batches(tmp_path, config(box.url), from_type, k)
    assert killed.returncode == -signal.SIGKILL
    last_state = killed.states()[-1]
    done = batches_done(last_state, from_type)
    total = math.ceil(len(IDS[from_type]) / BATCH)
    assert k <= done < total, "the kill must land mid-way for this test to mean anything"

    fresh_counters(box)
    rerun = run_tap_cli(tmp_path, config(box.url), state=last_state)
    assert rerun.returncode == 0, rerun.stderr
    requests = box.counters()["requests"]

    assert {row(r) for r in killed.records()} | {row(r) for r in rerun.records()} == expected_rows()
    for to_type in [b for a, b in PAIRS if a == from_type]:
        assert reads(requests, from_type, to_type) <= total - done + 1
    repeated = {r["from_id"] for r in killed.records()} & {r["from_id"] for r in rerun.records()}
    assert len(repeated) <= BATCH
    if from_type == "contacts":  # deals (fewer, so first) finished in the killed run: not read again
        assert reads(requests, "deals", "contacts") == 0
        assert requests.get("GET /crm/v3/objects/deals", 0) == 0


def test_rerun_lists_from_the_saved_page_not_from_the_start(box: Sandbox, tmp_path: Path) -> None:
    """The listing cursor is HubSpot's ``after``: the rerun asks only for the pages from there on."""
    killed = kill_after_batches(tmp_path, config(box.url), "contacts", 3)
    last_state = killed.states()[-1]
    saved = partition(last_state, "contacts")
    fresh_counters(box)
    rerun = run_tap_cli(tmp_path, config(box.url), state=last_state)
    assert rerun.returncode == 0, rerun.stderr
    pages_left = math.ceil((len(CONTACTS) - CONTACTS.index(int(saved["after"]))) / 100)
    assert box.counters()["requests"]["GET /crm/v3/objects/contacts"] == pages_left


def test_state_is_small_and_written_at_every_batch_boundary(box: Sandbox, tmp_path: Path) -> None:
    """One STATE per emitted batch, holding a cursor, a count and pair names: never a list of ids."""
    run = run_tap_cli(tmp_path, config(box.url))
    assert run.returncode == 0, run.stderr
    cursors = [partition(s, "contacts") for s in run.states() if "after" in partition_or_empty(s, "contacts")]
    assert len(cursors) == math.ceil(len(CONTACTS) / BATCH) - 1  # the last batch completes the partition
    for state in run.states():
        assert len(json.dumps(state)) < 1000
    final = run.states()[-1]["bookmarks"]["associations"]["partitions"]
    assert all(set(p) == {"context"} for p in final)


def test_rerun_with_another_pair_list_reads_that_from_type_afresh(box: Sandbox, tmp_path: Path) -> None:
    """A cursor saved for other pairs would skip ids the new pair never read: start afresh and say why."""
    killed = kill_after_batches(tmp_path, config(box.url), "contacts", 2)
    fresh_counters(box)
    settings = {**config(box.url), "associations": [{"from": "contacts", "to": "deals"}]}
    rerun = run_tap_cli(tmp_path, settings, state=killed.states()[-1])
    assert rerun.returncode == 0, rerun.stderr
    assert reads(box.counters()["requests"], "contacts", "deals") == math.ceil(len(CONTACTS) / BATCH)
    assert "reading afresh" in rerun.stderr
