"""Full batches go out while reading goes on; a flush still returns only once everything sent is settled.

Reading the next records while HubSpot works on the last full batch is what lets a load run at the rate limit
rather than at rate limit plus reading time (benchmarks/). Order and STATE stay as without it: a record whose
key was already sent, or whose order matters against a sent key, waits for what was sent (a flush).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from hubassoc.associations_v3 import AssociationInput, AssociationsV3
from hubassoc.client import ClientSettings, ClientStats
from hubassoc.errors import HubSpotError
from hubassoc.replies import InputError
from target_hubassoc.dead_letters import DeadLetterFile
from target_hubassoc.writer import AssociationWriter, WriterFailedError

TYPES = [(1, "contact_to_company"), (279, "contact_to_company_unlabeled")]


class ScriptedClient(AssociationsV3):
    """The client calls the writer makes; batches run when submitted (in this thread), settled by the writer."""

    settings = ClientSettings(max_workers=2)

    def __init__(self, fail_on: int | None = None, *, held: bool = False) -> None:
        self.stats = ClientStats()
        self.sent: list[tuple[str, list[str]]] = []
        self.fail_on = fail_on  # the 1-based batch call that fails
        self.held = held  # batches wait for release(), as if HubSpot had not answered yet
        self.waiting: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def association_types(self, from_type: str, to_type: str) -> list[Any]:
        return [type("T", (), {"type_id": i, "name": n})() for i, n in TYPES]

    def batch_create(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        return self._write("create", inputs)

    def batch_archive(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        return self._write("archive", inputs)

    def _write(self, action: str, inputs: list[AssociationInput]) -> list[InputError]:
        self.sent.append((action, [i.from_id for i in inputs]))
        if len(self.sent) == self.fail_on:
            raise HubSpotError("HubSpot answered 500 eight times", status=500)
        return []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        done: Future[Any] = Future()
        if self.held:
            self.waiting.append((done, fn, args))
        else:
            _run(done, fn, args)
        return done

    def release(self, count: int | None = None) -> None:
        """HubSpot answers the oldest ``count`` held batches (all by default)."""
        count = len(self.waiting) if count is None else count
        for done, fn, args in self.waiting[:count]:
            _run(done, fn, args)
        del self.waiting[:count]


def _run(done: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        done.set_result(fn(*args))
    except Exception as exc:  # handed over through the future, as from a worker thread
        done.set_exception(exc)


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Callable[..., tuple[AssociationWriter, ScriptedClient]]]:
    made: list[AssociationWriter] = []

    def make(fail_on: int | None = None, *, held: bool = False) -> tuple[AssociationWriter, ScriptedClient]:
        client = ScriptedClient(fail_on, held=held)
        made.append(AssociationWriter(client, DeadLetterFile(tmp_path / "dead.jsonl"), batch_size=2, api=client))  # type: ignore[arg-type]
        return made[-1], client

    yield make
    for each in made:
        each.close()


def _record(contact: int, company: int = 201) -> dict[str, Any]:
    return {"from_object_type": "contacts", "from_id": contact, "to_object_type": "companies", "to_id": company}


def test_a_full_batch_is_sent_before_the_flush_and_the_flush_sends_the_rest(writer: Any) -> None:
    w, client = writer()
    for contact in (101, 102, 103, 104, 105):
        w.add(_record(contact), "associations", "create")
    assert client.sent == [("create", ["101", "102"]), ("create", ["103", "104"])]
    w.flush()
    assert client.sent[2:] == [("create", ["105"])]
    assert (w.stats.created, w.stats.unwritten) == (5, 0)


def test_a_flush_returns_only_once_every_sent_batch_is_settled(writer: Any) -> None:
    """What a STATE after the flush covers must be written: the counts say so before flush returns."""
    w, _ = writer()
    for contact in (101, 102, 103, 104):
        w.add(_record(contact), "associations", "create")
    w.flush()
    assert (w.stats.created, w.stats.unwritten) == (4, 0)


def test_a_record_for_a_key_already_sent_waits_for_that_batch(writer: Any) -> None:
    """create 101, create 102 (sent as a full batch), then archive 101: the archive goes only after the create
    batch is settled, never beside it."""
    w, client = writer()
    w.add(_record(101), "associations", "create")
    w.add(_record(102), "associations", "create")
    w.add(_record(101), "associations", "archive")
    assert w.stats.created == 2  # the create batch was settled before the archive was taken
    w.flush()
    assert client.sent == [("create", ["101", "102"]), ("archive", ["101"])]


def test_a_failed_early_batch_stops_sending_and_the_next_flush_raises_it(writer: Any) -> None:
    w, client = writer(fail_on=1)
    for contact in (101, 102, 103, 104, 105, 106):
        w.add(_record(contact), "associations", "create")
    with pytest.raises(HubSpotError, match="500 eight times"):
        w.flush()
    assert client.sent == [("create", ["101", "102"])]  # nothing after the failure
    assert w.stats.unwritten == 6
    with pytest.raises(WriterFailedError, match="an earlier batch failed"):
        w.flush()


def test_a_checkpoint_sends_the_rest_and_returns_before_hubspot_answers(writer: Any) -> None:
    """A STATE checkpoint must not cost a round trip: reading goes on while its batches are in flight."""
    w, client = writer(held=True)
    reached: list[str] = []
    for contact in (101, 102, 103):
        w.add(_record(contact), "associations", "create")
    w.checkpoint(lambda: reached.append("state 1"))
    assert len(client.waiting) == 2  # the full batch and the rest: both sent, neither answered
    assert reached == []
    w.add(_record(104), "associations", "create")  # taken while HubSpot still works on the checkpoint's batches
    assert w.buffered == 1


def test_a_checkpoint_is_reached_once_every_batch_before_it_is_settled(writer: Any) -> None:
    """A STATE acknowledges every record before it, so it waits for the slowest of their batches."""
    w, client = writer(held=True)
    reached: list[str] = []
    for contact in (101, 102, 103):
        w.add(_record(contact), "associations", "create")
    w.checkpoint(lambda: reached.append("state 1"))
    client.release(1)
    for contact in (104, 105):  # a full batch: sending it settles what HubSpot has answered
        w.add(_record(contact), "associations", "create")
    assert (reached, w.stats.created) == ([], 2)  # 103's batch is not answered yet
    client.release()
    for contact in (106, 107):
        w.add(_record(contact), "associations", "create")
    assert (reached, w.stats.created) == (["state 1"], 5)


def test_checkpoints_are_reached_in_order_and_each_once(writer: Any) -> None:
    w, client = writer(held=True)
    reached: list[str] = []
    w.add(_record(101), "associations", "create")
    w.checkpoint(lambda: reached.append("state 1"))
    w.add(_record(102), "associations", "create")
    w.checkpoint(lambda: reached.append("state 2"))
    client.release(1)
    w.checkpoint(lambda: reached.append("state 3"))  # nothing new to send: reached with state 2's batch
    assert reached == ["state 1"]
    client.release()
    w.flush()
    assert reached == ["state 1", "state 2", "state 3"]


def test_a_checkpoint_is_never_reached_after_a_failed_batch(writer: Any) -> None:
    """HubSpot refused a batch for good: no STATE may pass its records, even once later batches succeed."""
    w, client = writer(fail_on=1, held=True)
    reached: list[str] = []
    w.add(_record(101), "associations", "create")
    w.add(_record(102), "associations", "create")  # full batch 1: will fail
    w.add(_record(103), "associations", "create")
    w.checkpoint(lambda: reached.append("state 1"))
    client.release()
    with pytest.raises(HubSpotError, match="500 eight times"):
        w.flush()
    assert reached == []
    assert w.stats.created == 1  # 103's batch was written; the STATE still may not pass 101 and 102


def test_a_checkpoint_after_a_failure_seen_raises_it(writer: Any) -> None:
    """Reading stops at the first checkpoint after a failed batch is known, as at a flush."""
    w, _ = writer(fail_on=1)
    w.add(_record(101), "associations", "create")
    w.add(_record(102), "associations", "create")  # settled at once, as failed
    w.add(_record(103), "associations", "create")
    with pytest.raises(HubSpotError, match="500 eight times"):
        w.checkpoint(lambda: None)
