"""A later from type is read ahead on idle workers while an earlier one is read; the output is unchanged.

Listing pages of one type follow one another (each cursor comes from the previous reply), so while the first
from type is listed most workers wait; the second type's ids are listed meanwhile (tap_hubassoc.prefetch).
Reading its batches then, rather than once the SDK reaches its partition, moves work off the end of the run.
The SDK still emits partition by partition, so records, their order and every STATE must stay what they are.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from tap_hubassoc.readahead import ReadAhead, WorkerSlots
from tap_hubassoc.tap import TapHubAssoc
from tests.support.crm import CONTACTS_DEALS_BOTH_WAYS, contacts_and_deals, v3_records
from tests.support.runners import records_until_it_gives_up, run_tap_in_process, tap_config, while_contacts_are_held
from tests.support.sandbox_api import LIST_DEALS
from tests.support.singer import row
from tests.support.waiting import eventually

CONTACTS = [12_000_000_001 + 11 * i for i in range(300)]  # 3 listing pages: fewer, so the first partition
DEALS = [22_000_000_001 + 7 * i for i in range(900)]  # 9 listing pages
PAIRS = CONTACTS_DEALS_BOTH_WAYS
READ_DEALS = "POST /crm/v3/associations/deals/contacts/batch/read"


def build_store() -> Store:
    return contacts_and_deals(CONTACTS, DEALS)


def _deals_reads(box: Sandbox) -> int:
    return box.counters()["requests"].get(READ_DEALS, 0)


# -- through the tap, against the sandbox -----------------------------------------------------------------------


def test_the_second_from_type_is_read_while_the_first_is_still_being_emitted() -> None:
    """The contacts partition is held after its first record: the SDK cannot have reached deals, yet they are read."""
    with Sandbox(SandboxConfig(rate_limit=10_000), build_store()) as box:
        first, read_ahead = while_contacts_are_held(box.url, lambda: _deals_reads(box) > 0, associations=PAIRS,
                                                    batch_size=100, max_workers=2, read_each_pair_once=False)
    assert first["from_id"] == str(CONTACTS[0])
    assert read_ahead


def test_records_and_states_are_those_of_a_run_without_read_ahead() -> None:
    """max_workers 1 reads nothing ahead (it could only delay the current partition): the reference output."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=5), build_store()) as box:
        settings = tap_config(box.url, associations=PAIRS, batch_size=250, read_each_pair_once=False)
        alone = run_tap_in_process({**settings, "max_workers": 1}).messages
        ahead = run_tap_in_process({**settings, "max_workers": 4}).messages
    def kept(messages: list[dict[str, Any]]) -> list[Any]:
        """Records and states, less the run's table version, which each run chooses anew."""
        return [m.get("record") or without_version(m["value"]) for m in messages if m["type"] in ("RECORD", "STATE")]
    assert kept(ahead) == kept(alone)
    assert len([m for m in ahead if m["type"] == "STATE"]) > 4  # a STATE per batch, so the comparison covers them


def without_version(state: dict[str, Any]) -> dict[str, Any]:
    associations = {k: v for k, v in state["bookmarks"].get("associations", {}).items() if k != "table_version"}
    return {"bookmarks": {**state["bookmarks"], "associations": associations}}


def test_a_from_type_finished_by_the_run_being_resumed_is_not_read_ahead() -> None:
    state = {"bookmarks": {"associations": {"partitions": [
        {"context": {"from_object_type": "deals"}, "done": True, "pairs": ["deals->contacts"]},
    ]}}}
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=5), build_store()) as box:
        run = run_tap_in_process(tap_config(box.url, associations=PAIRS, batch_size=100, max_workers=4,
                                                 read_each_pair_once=False), state)
        requests = box.counters()["requests"]
    assert {r["from_object_type"] for r in run.records()} == {"contacts"}
    assert requests.get(LIST_DEALS, 0) == 0
    assert requests.get(READ_DEALS, 0) == 0


def test_a_dry_run_reads_nothing_ahead() -> None:
    """``--test`` and the SDK's dry runs read a sample of the first partition, no more."""
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=5), build_store()) as box:
        tap = TapHubAssoc(config=tap_config(box.url, associations=PAIRS, batch_size=100, max_workers=4,
                                            read_each_pair_once=False))
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                tap.run_sync_dry_run(dry_run_record_limit=1)
        finally:
            tap.close()
        requests = box.counters()["requests"]
    assert requests.get(LIST_DEALS, 0) == 0
    assert requests.get(READ_DEALS, 0) == 0


def test_a_failed_read_of_a_later_from_type_stops_the_run_when_that_type_is_read() -> None:
    """The failure waits for its partition: every contacts record is emitted first, then the run fails."""
    store = build_store()
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=5), store) as box:
        box.schedule_faults("5xx:500", count=len(DEALS), route=READ_DEALS)  # every deals read fails
        emitted = records_until_it_gives_up(tap_config(box.url, associations=PAIRS, batch_size=100,
                                                       max_workers=4, max_attempts=1, read_each_pair_once=False))
    assert [row(r) for r in emitted] == [row(r) for r in v3_records(store, "contacts", "deals")]


def test_reading_ahead_and_listing_stop_when_the_stream_stops() -> None:
    """Once the reader stops, the read-ahead and listing threads end after the request under way, if any.

    Deals take 59 listing pages of 20 ms each; the reader stops a few requests in, long before the last.
    """
    deals = [23_000_000_001 + 3 * i for i in range(5000)]
    store = build_store()
    store.add_objects("deals", deals)
    before = set(threading.enumerate())
    with Sandbox(SandboxConfig(rate_limit=10_000, latency_ms=20), store) as box:
        tap = TapHubAssoc(config=tap_config(box.url, associations=PAIRS, batch_size=100, max_workers=2,
                                            read_each_pair_once=False))
        try:
            records = iter(tap.streams["associations"].get_records({"from_object_type": "contacts"}))
            next(records)
            assert eventually(lambda: _deals_reads(box) > 0)
            records.close()  # type: ignore[attr-defined]
            started = [t for t in threading.enumerate() if t not in before and t.name.startswith(
                ("hubassoc-readahead", "hubassoc-listing"))]
            ended = eventually(lambda: not any(t.is_alive() for t in started))
        finally:
            tap.close()
        listed = box.counters()["requests"][LIST_DEALS]
    assert ended
    assert listed < (len(DEALS) + len(deals)) // 100


# -- the bounds, with tasks the test releases ------------------------------------------------------------------


class Gate:
    """Tasks that each hold a worker until released, counting how many ran."""

    def __init__(self, size: int = 1) -> None:
        self.release = threading.Event()
        self.started = 0
        self.size = size
        self._lock = threading.Lock()

    def task(self, item: int) -> list[int]:
        with self._lock:
            self.started += 1
        self.release.wait(10)
        return [item] * self.size


def _lane(n: int) -> Iterator[int]:
    yield from range(n)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_read_ahead_takes_no_worker_the_current_partition_holds(pool: ThreadPoolExecutor) -> None:
    slots = WorkerSlots(pool.submit, 4)
    current, later = Gate(), Gate()
    busy = [slots.submit(current.task, i) for i in range(4)]  # every worker on the current partition
    ahead = ReadAhead(slots, later.task, len, [("later", _lane(10))])
    time.sleep(0.2)  # room for a wrong implementation to start something
    claimed = ahead.claim("later")
    current.release.set()
    later.release.set()
    assert claimed is not None
    assert claimed.started == []
    assert list(claimed.rest) == list(range(10))
    assert all(f.result() == [i] for i, f in enumerate(busy))


def test_read_ahead_runs_on_at_most_half_the_workers(pool: ThreadPoolExecutor) -> None:
    slots = WorkerSlots(pool.submit, 4)
    later = Gate()
    ahead = ReadAhead(slots, later.task, len, [("later", _lane(10))])
    assert eventually(lambda: later.started == 2)
    time.sleep(0.2)  # room for a wrong implementation to start a third
    claimed = ahead.claim("later")
    later.release.set()
    assert claimed is not None
    assert [f.result() for f in claimed.started] == [[0], [1]]
    assert list(claimed.rest) == list(range(2, 10))


def test_read_ahead_starts_nothing_while_told_the_budget_is_needed_elsewhere(pool: ThreadPoolExecutor) -> None:
    """The tap says no while two listings run: chains bound the run, and two of them can spend the whole budget."""
    slots = WorkerSlots(pool.submit, 4)
    later = Gate()
    later.release.set()
    allowed = threading.Event()
    ahead = ReadAhead(slots, later.task, len, [("later", _lane(10))], may_start=allowed.is_set)
    time.sleep(0.2)  # room for a wrong implementation to start something
    started_before = later.started
    allowed.set()
    assert eventually(lambda: later.started > 0)
    ahead.stop()
    assert started_before == 0


def test_read_ahead_holds_at_most_twice_max_workers_batches(pool: ThreadPoolExecutor) -> None:
    slots = WorkerSlots(pool.submit, 4)
    later = Gate(size=0)  # batches without records: only the batch bound applies
    later.release.set()
    ahead = ReadAhead(slots, later.task, len, [("later", _lane(20))])
    assert eventually(lambda: later.started == 8)
    time.sleep(0.2)  # room for a wrong implementation to start more: that nothing starts takes time to see
    claimed = ahead.claim("later")
    assert claimed is not None
    assert len(claimed.started) == 8
    assert next(claimed.rest) == 8


def test_read_ahead_stops_at_its_record_cap(pool: ThreadPoolExecutor) -> None:
    slots = WorkerSlots(pool.submit, 2)  # one task ahead at a time: each finishes before the next may start
    later = Gate(size=60)
    later.release.set()
    ahead = ReadAhead(slots, later.task, len, [("later", _lane(20))], max_records=100)
    assert eventually(lambda: later.started == 2)
    time.sleep(0.2)  # room for a wrong implementation to start more: that nothing starts takes time to see
    claimed = ahead.claim("later")
    assert claimed is not None
    assert len(claimed.started) == 2  # 120 records held: no third batch


def test_a_failed_listing_read_ahead_is_raised_where_its_partition_is_read(pool: ThreadPoolExecutor) -> None:
    def listing() -> Iterator[int]:
        yield 0
        msg = "listing failed"
        raise RuntimeError(msg)

    slots = WorkerSlots(pool.submit, 4)
    later = Gate()
    later.release.set()
    ahead = ReadAhead(slots, later.task, len, [("later", listing())])
    assert eventually(lambda: later.started == 1)
    ahead.thread.join(5)
    assert not ahead.thread.is_alive()  # a failure halts reading ahead
    claimed = ahead.claim("later")
    assert claimed is not None
    results = slots.ordered(later.task, claimed.rest, claimed.started)
    assert next(results) == [0]
    with pytest.raises(RuntimeError, match="listing failed"):
        next(results)


def test_stopping_cancels_read_ahead_not_yet_started_and_ends_its_thread() -> None:
    with ThreadPoolExecutor(2) as pool:
        other, later = Gate(), Gate()
        held: Future[Any] = pool.submit(other.task, 0)  # one thread busy outside the slots' count
        slots = WorkerSlots(pool.submit, 4)
        ahead = ReadAhead(slots, later.task, len, [("later", _lane(10))])
        assert eventually(lambda: later.started == 1 and slots.busy == 2)  # the second waits in the pool's queue
        ahead.stop()
        other.release.set()
        later.release.set()
        held.result()
        assert eventually(lambda: slots.busy == 0)
        ahead.thread.join(5)
    assert later.started == 1
    assert not ahead.thread.is_alive()
    assert ahead.claim("later") is None
