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

from hubassoc.client import AssociationInput, ClientSettings, ClientStats, InputError
from hubassoc.dead_letters import DeadLetterFile
from hubassoc.errors import HubSpotError
from hubassoc.writer import AssociationWriter, WriterFailedError

TYPES = [(1, "contact_to_company"), (279, "contact_to_company_unlabeled")]


class ScriptedClient:
    """The client calls the writer makes; batches run when submitted (in this thread), settled by the writer."""

    settings = ClientSettings(max_workers=2)

    def __init__(self, fail_on: int | None = None) -> None:
        self.stats = ClientStats()
        self.sent: list[tuple[str, list[str]]] = []
        self.fail_on = fail_on  # the 1-based batch call that fails

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
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # handed over through the future, as from a worker thread
            done.set_exception(exc)
        return done


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[Callable[..., tuple[AssociationWriter, ScriptedClient]]]:
    made: list[AssociationWriter] = []

    def make(fail_on: int | None = None) -> tuple[AssociationWriter, ScriptedClient]:
        client = ScriptedClient(fail_on)
        made.append(AssociationWriter(client, DeadLetterFile(tmp_path / "dead.jsonl"), batch_size=2))  # type: ignore[arg-type]
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
