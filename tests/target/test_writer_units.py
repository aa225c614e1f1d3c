"""Write planning without HTTP: type resolution, record validation, batching, 207 settlement, dead-letter lines."""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from hubassoc.associations_v3 import AssociationInput, AssociationsV3
from hubassoc.client import ClientSettings, ClientStats
from hubassoc.objects import parse_object_type
from hubassoc.records import AssociationKey
from hubassoc.replies import InputError
from hubassoc.types_v3 import V3PairTypes
from target_hubassoc.dead_letters import DeadLetter, DeadLetterFile
from target_hubassoc.settings import TargetSettings
from target_hubassoc.target import TargetHubAssoc
from target_hubassoc.writer import (
    AssociationWriter,
    InvalidAssociationError,
    Pending,
    Resolved,
    WriterFailedError,
    association_type,
    plan_batches,
)

CONTACTS, COMPANIES = parse_object_type("contacts"), parse_object_type("companies")
# What HubSpot's types endpoint lists for contacts->companies in an account with one custom label.
CONTACT_COMPANY = V3PairTypes(CONTACTS, COMPANIES, [
    (1, "contact_to_company"), (279, "contact_to_company_unlabeled"), (500, "billing_contact")])


class FakeClient(AssociationsV3):
    """Just enough of HubSpotClient: the types endpoint, batch writes answering from a script, map_ordered."""

    def __init__(self, answer: Callable[[str, list[AssociationInput]], list[InputError]] | None = None) -> None:
        self.stats = ClientStats()
        self.sent: list[tuple[str, list[AssociationInput]]] = []
        self._answer = answer or (lambda _action, _inputs: [])

    def association_types(self, from_type: str, to_type: str) -> list[Any]:
        assert (from_type, to_type) == ("contacts", "companies")
        return [type("T", (), {"type_id": t.type_id, "name": t.name})() for t in CONTACT_COMPANY.types]

    def batch_create(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        self.sent.append(("create", inputs))
        return self._answer("create", inputs)

    def batch_archive(self, from_type: str, to_type: str, inputs: list[AssociationInput]) -> list[InputError]:
        self.sent.append(("archive", inputs))
        return self._answer("archive", inputs)

    def map_ordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(fn, items)

    settings = ClientSettings(max_workers=2)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run at once, in this thread: the writer settles in sending order either way."""
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # handed over through the future, as from a worker thread
            done.set_exception(exc)
        return done


WriterFactory = Callable[..., AssociationWriter]


@pytest.fixture
def make_writer(tmp_path: Path) -> Iterator[WriterFactory]:
    """``make_writer(client)``: a writer with dead letters in tmp_path/dead.jsonl, closed at teardown."""
    made: list[AssociationWriter] = []

    def make(client: FakeClient) -> AssociationWriter:
        made.append(AssociationWriter(client, DeadLetterFile(tmp_path / "dead.jsonl"), api=client))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for writer in made:
        writer.close()


def _record(contact: int | str, company: int | str, **extra: Any) -> dict[str, Any]:
    return {"from_object_type": "contacts", "from_id": contact, "to_object_type": "companies", "to_id": company,
            **extra}


# -- association types -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "type_id"),
    [
        ({}, 279),  # the ordinary type: never 1, the primary one
        ({"association_type_id": 500}, 500),
        ({"association_type_id": "500"}, 500),
        ({"association_type": "Billing_Contact"}, 500),
        ({"association_type_id": 1, "association_type": "contact_to_company"}, 1),
        ({"association_type_id": None, "association_type": ""}, 279),
    ],
)
def test_a_type_is_resolved_by_id_by_name_or_to_the_ordinary_one(fields: dict[str, Any], type_id: int) -> None:
    assert association_type(CONTACT_COMPANY, fields).type_id == type_id


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"association_type_id": 28}, "type id 28 is not a contacts->companies association type here; it has: "
                                      "1 (contact_to_company), 279 (contact_to_company_unlabeled), 500 "
                                      "(billing_contact)"),
        ({"association_type_id": True}, "association_type_id true is not an integer type id such as 279"),
        ({"association_type_id": "2x"}, "association_type_id \"2x\" is not an integer type id such as 279"),
        ({"association_type": 7}, "association_type 7 is not a type name such as billing_contact"),
        ({"association_type_id": 279, "association_type": "billing_contact"},
         "association_type_id 279 (contact_to_company_unlabeled) and association_type \"billing_contact\" (id 500) "
         "name different types: give one, or make them agree"),
    ],
)
def test_a_type_that_does_not_fit_the_pair_is_refused_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidAssociationError) as refused:
        association_type(CONTACT_COMPANY, fields)
    assert refused.value.reason == reason


# -- records ---------------------------------------------------------------------------------------------------


def test_ids_are_normalised_so_one_object_is_one_key(make_writer: WriterFactory) -> None:
    writer = make_writer(FakeClient())
    writer.add(_record("0042", 7), "s", "create")
    writer.add(_record(42, "007"), "s", "create")
    writer.flush()
    assert writer.stats.duplicates == 1
    assert writer.client.sent == [("create", [AssociationInput("42", "7", "contact_to_company_unlabeled")])]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ("not an object", "the record is not a JSON object"),
        ({"from_object_type": "contacts", "from_id": "1", "to_id": "2"}, "missing to_object_type"),
        (_record("1/../../oauth", 2), 'from_id "1/../../oauth" is not a HubSpot object id'),
        (_record(1, -2), "to_id -2 is not a HubSpot object id"),
        (_record(1, True), "to_id true is not a HubSpot object id"),
        ({**_record(1, 2), "to_object_type": "widgets"}, 'to_object_type: unknown object type "widgets"'),
    ],
)
def test_a_record_that_cannot_be_an_association_is_dead_lettered_at_once(
    make_writer: WriterFactory, tmp_path: Path, record: Any, reason: str,
) -> None:
    writer = make_writer(FakeClient())
    writer.add(record, "stream-a", "create")
    [line] = (tmp_path / "dead.jsonl").read_text().splitlines()
    letter = json.loads(line)
    assert letter["reason"].startswith(reason)
    assert (letter["stream"], letter["record"], letter["action"]) == ("stream-a", record, "create")
    assert (writer.stats.read, writer.stats.rejected, writer.buffered) == (1, 1, 0)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (_record("1/../../oauth", 2, association_type_id=279), 'from_id "1/../../oauth" is not a HubSpot object id'),
        (_record(1, True, association_type_id=279), "to_id true is not a HubSpot object id"),
        (_record(1, None, association_type_id=279), "missing to_id"),
        (_record(1, 2, association_type_id=279.0), "association_type_id 279.0 is not an integer type id such as 279"),
        (_record(1, 2, association_type_id=True), "association_type_id true is not an integer type id such as 279"),
    ],
)
def test_a_record_is_checked_in_full_even_after_records_of_its_types_were_resolved(
    make_writer: WriterFactory, tmp_path: Path, record: Any, reason: str,
) -> None:
    """A load names a few types in millions of records: the writer resolves them once, and only once per spelling.

    279.0 and True are equal to 279 and 1 in Python, yet HubSpot takes neither as a type id.
    """
    writer = make_writer(FakeClient())
    writer.add(_record("5", "6", association_type_id=279), "s", "create")  # its types are now known
    writer.add(record, "s", "create")
    [line] = (tmp_path / "dead.jsonl").read_text().splitlines()
    assert json.loads(line)["reason"].startswith(reason)
    assert (writer.stats.read, writer.stats.rejected) == (2, 1)


def test_records_of_known_types_with_integer_ids_are_normalised_alike(make_writer: WriterFactory) -> None:
    writer = make_writer(FakeClient())
    writer.add(_record("5", "6"), "s", "create")  # its types are now known
    writer.add(_record(42, 7), "s", "create")
    writer.add(_record("0042", "007"), "s", "create")
    writer.flush()
    assert writer.stats.duplicates == 1
    assert writer.client.sent == [("create", [AssociationInput("5", "6", "contact_to_company_unlabeled"),
                                              AssociationInput("42", "7", "contact_to_company_unlabeled")])]


# -- planning and settling -------------------------------------------------------------------------------------


def _pending(contact: int, action: str = "create", to_type: str = "companies") -> Pending:
    target = parse_object_type(to_type)
    key = AssociationKey("contacts", str(contact), target.name, "1", 279)
    resolved = Resolved.of(key, CONTACTS, target, AssociationInput(str(contact), "1", "x"))
    return Pending(action, resolved, {}, "s")  # type: ignore[arg-type]


def test_batches_are_per_pair_and_action_and_at_most_batch_size_inputs() -> None:
    entries = [_pending(i) for i in range(5)] + [_pending(9, "archive"), _pending(8, to_type="deals")]
    batches = plan_batches(entries, 2)
    assert [(b.pair, b.action, len(b.entries)) for b in batches] == [
        ("contacts->companies", "create", 2), ("contacts->companies", "create", 2),
        ("contacts->companies", "create", 1), ("contacts->companies", "archive", 1), ("contacts->deals", "create", 1),
    ]


@pytest.mark.parametrize("size", [0, 2001])
def test_a_batch_size_hubspot_would_refuse_is_refused_up_front(size: int) -> None:
    with pytest.raises(ValueError, match=r"batch_size must be 1\.\.2000"):
        plan_batches([], size)


def test_a_207_error_naming_no_input_is_still_a_dead_letter_and_counts_as_rejected(
    make_writer: WriterFactory, tmp_path: Path,
) -> None:
    """Nothing is dropped silently: HubSpot's reason is kept even when no input can be blamed."""
    refused = [InputError(None, "VALIDATION_ERROR", None, "something failed", "corr-1")]
    writer = make_writer(FakeClient(lambda _a, _i: refused))
    writer.add(_record(1, 2), "s", "create")
    writer.flush()
    [letter] = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert letter["record"] is None
    assert letter["stream"] is None
    assert (letter["category"], letter["message"], letter["correlationId"]) == (
        "VALIDATION_ERROR", "something failed", "corr-1")
    stats = writer.stats
    assert (stats.created, stats.rejected, stats.unattributed) == (1, 1, 1)


def test_an_input_named_by_two_errors_is_rejected_once(
    make_writer: WriterFactory, tmp_path: Path,
) -> None:
    def answer(_action: str, inputs: list[AssociationInput]) -> list[InputError]:
        return [InputError(inputs[0], "A", None, "first"), InputError(inputs[0], "B", None, "second")]

    writer = make_writer(FakeClient(answer))
    writer.add(_record(1, 2), "s", "create")
    writer.add(_record(3, 4), "s", "create")
    writer.flush()
    assert (writer.stats.created, writer.stats.rejected) == (1, 1)
    assert len((tmp_path / "dead.jsonl").read_text().splitlines()) == 1


def test_after_a_failed_flush_nothing_more_is_sent(make_writer: WriterFactory) -> None:
    """So no later drain can report progress (emit STATE) past records that were not written."""
    def answer(_action: str, _inputs: list[AssociationInput]) -> list[InputError]:
        raise ConnectionError("gone")

    client = FakeClient(answer)
    writer = make_writer(client)
    writer.add(_record(1, 2), "s", "create")
    with pytest.raises(ConnectionError):
        writer.flush()
    writer.add(_record(3, 4), "s", "create")
    with pytest.raises(WriterFailedError, match="an earlier batch failed"):
        writer.flush()
    assert len(client.sent) == 1


def test_the_summary_reconciles_read_with_written_duplicates_and_rejected(make_writer: WriterFactory) -> None:
    writer = make_writer(FakeClient())
    for record, action in [(_record(1, 2), "create"), (_record(1, 2), "create"), (_record(3, 4), "archive"),
                           (_record("x", 4), "create")]:
        writer.add(record, "s", action)  # type: ignore[arg-type]
    writer.flush()
    lines = writer.stats.summary_lines(writer.client.stats, dry_run=False, dead_letter_path="dead.jsonl")
    assert lines == [
        "Summary: 4 records read: created 1, archived 1, unchanged duplicates 1, rejected 1 (dead letters in "
        "dead.jsonl)",
        "Summary: 0 API calls, 0 429s, 0 retries",
    ]


# -- dead letters and settings ---------------------------------------------------------------------------------


def test_a_dead_letter_keeps_the_record_as_received_in_json(tmp_path: Path) -> None:
    """The SDK hands records over with JSON floats as Decimal and date-times parsed: they go back as JSON."""
    record = {"n": decimal.Decimal("1.5"), "i": decimal.Decimal(3), "when": datetime.datetime(2026, 1, 2),
              "text": "απλή"}
    dead = DeadLetterFile(tmp_path / "sub" / "dead.jsonl")
    dead.write([DeadLetter("s", record, "why", "archive")])
    dead.close()
    raw = (tmp_path / "sub" / "dead.jsonl").read_text(encoding="utf-8")
    assert "απλή" in raw
    assert json.loads(raw)["record"] == {"n": 1.5, "i": 3, "when": "2026-01-02T00:00:00", "text": "απλή"}


def test_the_buffer_holds_a_full_batch_for_every_worker() -> None:
    settings = TargetSettings.from_config({"batch_size_rows": 500, "max_workers": 4, "unrelated": 1})
    assert settings.buffer_limit == 2000


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ({"stream_actions": {"s": "delete"}}, "'delete' is not one of ['create', 'archive', 'mirror']"),
        ({"default_action": "upsert"}, "'upsert' is not one of ['create', 'archive']"),
        ({"batch_size_rows": 2001}, "2001 is greater than the maximum of 2000"),
    ],
)
def test_settings_hubspot_cannot_honour_are_refused_before_anything_is_read(
    setting: dict[str, Any], problem: str,
) -> None:
    """v3 batch create takes at most 2,000 inputs; an action is create or archive."""
    with pytest.raises(ConfigValidationError) as refused:
        TargetHubAssoc(config={"access_token": "t", **setting})
    assert any(error.startswith(problem) for error in refused.value.errors)
