"""What HubSpot holds after a run: each record a desired change, applied as if one by one in input order.

Every test asserts the sandbox store exactly (both directions: HubSpot associations are two-way).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox
from target_hubassoc.target import TargetHubAssoc
from tests.support.crm import PRIMARY, UNLABELED
from tests.support.crm.small import billing_type_id
from tests.support.dead_letters import read_dead_letters
from tests.support.runners import run_target_in_process, target_config
from tests.support.sandbox_api import SandboxFactory, assert_only, contact_company_edges, write_calls
from tests.support.singer import contact_company, record, schema, singer_text, state

CREATE_ROUTE = "POST /crm/v3/associations/contacts/companies/batch/create"
ARCHIVE_ROUTE = "POST /crm/v3/associations/contacts/companies/batch/archive"


def test_records_create_associations_of_the_ordinary_type_never_the_primary_one(
    crm: SandboxFactory, dead_letters: Path,
) -> None:
    """Without a type, contact->company means 279 (unlabeled): creating 1 would move the primary company."""
    box = crm()
    messages = [schema(), contact_company(101, 201), contact_company(102, 202)]
    run_target_in_process(target_config(box, dead_letters), messages)
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})


def test_labels_are_found_by_type_id_and_by_v3_name(crm: SandboxFactory, dead_letters: Path) -> None:
    """A custom label has an account-specific id, listed by the pair's types endpoint with its v3 name."""
    box = crm()
    billing = billing_type_id(box)
    run_target_in_process(target_config(box, dead_letters), [
        schema(),
        contact_company(101, 201, association_type_id=billing),
        contact_company(102, 202, association_type="billing_contact"),
        contact_company(103, 203, association_type_id=str(PRIMARY), association_type="contact_to_company"),
    ])
    # Asking for the primary type explicitly is honoured; HubSpot adds the unlabeled one with it.
    assert_only(box, {(101, 201, billing), (102, 202, billing), (103, 203, PRIMARY), (103, 203, UNLABELED)})


def test_object_types_and_ids_may_be_written_in_any_spelling_hubspot_accepts(
    crm: SandboxFactory, dead_letters: Path,
) -> None:
    """``Contacts``, ``contact`` and ``0-1`` name one type; ids may be JSON integers or digit strings."""
    box = crm()
    run_target_in_process(target_config(box, dead_letters), [
        schema(),
        record(from_object_type="Contact", from_id=101, to_object_type="0-2", to_id="201"),
        record(from_object_type="companies", from_id="202", to_object_type="CONTACTS", to_id=102),
    ])
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})


def test_a_stream_configured_to_archive_removes_its_associations(crm: SandboxFactory, dead_letters: Path) -> None:
    """Archiving an association that does not exist is not an error (HubSpot answers 204 either way)."""
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    box.store.associate("contacts", 102, "companies", 202)
    run_target_in_process(target_config(box, dead_letters, stream_actions={"removals": "archive"}), [
        schema("removals"), contact_company(101, 201, "removals"), contact_company(103, 203, "removals"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


def test_default_action_applies_to_streams_not_named(crm: SandboxFactory, dead_letters: Path) -> None:
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    settings = target_config(box, dead_letters, default_action="archive", stream_actions={"adds": "create"})
    run_target_in_process(settings, [
        schema("anything"), schema("adds"), contact_company(101, 201, "anything"), contact_company(102, 202, "adds"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


@pytest.mark.parametrize("add_record_metadata", [False, True])
def test_a_non_null_sdc_deleted_at_archives_whatever_the_stream_says(
    crm: SandboxFactory, dead_letters: Path, add_record_metadata: bool,
) -> None:
    """Soft-deleted warehouse rows remove their association, with or without the SDK's record metadata."""
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    run_target_in_process(target_config(box, dead_letters, add_record_metadata=add_record_metadata), [
        schema(),
        contact_company(101, 201, _sdc_deleted_at="2026-01-02T03:04:05+00:00"),
        contact_company(102, 202, _sdc_deleted_at=None),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


def test_an_unparseable_sdc_deleted_at_is_still_non_null_and_archives(crm: SandboxFactory, dead_letters: Path) -> None:
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    messages = [schema(), contact_company(101, 201, _sdc_deleted_at="yesterday")]
    run_target_in_process(target_config(box, dead_letters), messages)
    assert_only(box, set())


@pytest.mark.parametrize(
    ("actions", "present"),
    [(["create", "archive"], False), (["archive", "create"], True), (["create", "archive", "create"], True)],
)
def test_the_last_record_for_an_association_wins_within_one_batch(
    crm: SandboxFactory, dead_letters: Path, actions: list[str], present: bool,
) -> None:
    """Only the last record for a key is sent, and it is sent once."""
    box = crm()
    deleted = {"create": None, "archive": "2026-01-01T00:00:00Z"}
    messages = [schema(), *(contact_company(101, 201, _sdc_deleted_at=deleted[a]) for a in actions)]
    target = run_target_in_process(target_config(box, dead_letters), messages)
    assert_only(box, {(101, 201, UNLABELED)} if present else set())
    assert sum(write_calls(box).values()) == 1
    assert target.writer.stats.duplicates == len(actions) - 1


def test_the_last_record_wins_across_streams(crm: SandboxFactory, dead_letters: Path) -> None:
    """One buffer serves every stream, so a removal stream and an addition stream interleave correctly."""
    box = crm()
    settings = target_config(box, dead_letters, stream_actions={"adds": "create", "removals": "archive"})
    run_target_in_process(settings, [
        schema("adds"), schema("removals"),
        contact_company(101, 201, "adds"), contact_company(101, 201, "removals"),
        contact_company(102, 202, "removals"), contact_company(102, 202, "adds"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


def test_the_last_record_wins_across_batches(crm: SandboxFactory, dead_letters: Path) -> None:
    """With one record per batch, flushes run in input order: create, archive, create leaves it created."""
    box = crm()
    settings = target_config(
        box, dead_letters, batch_size_rows=1, max_workers=1, stream_actions={"removals": "archive"},
    )
    run_target_in_process(settings, [
        schema("adds"), schema("removals"),
        contact_company(101, 201, "adds"), contact_company(101, 201, "removals"), contact_company(101, 201, "adds"),
        contact_company(102, 202, "adds"), contact_company(102, 202, "removals"),
    ])
    assert_only(box, {(101, 201, UNLABELED)})
    assert write_calls(box) == {CREATE_ROUTE: 3, ARCHIVE_ROUTE: 2}


def test_an_archive_written_from_the_other_side_still_follows_the_create(
    crm: SandboxFactory, dead_letters: Path,
) -> None:
    """company->contact 280 is contact->company 279 seen from the company: the later record must win."""
    box = crm()
    settings = target_config(box, dead_letters, stream_actions={"removals": "archive"})
    run_target_in_process(settings, [
        schema("adds"), schema("removals"),
        contact_company(101, 201, "adds"),
        record("removals", from_object_type="companies", from_id="201", to_object_type="contacts", to_id="101"),
        record("removals", from_object_type="companies", from_id="202", to_object_type="contacts", to_id="102"),
        contact_company(102, 202, "adds"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})
    # Each reversal waits for the flush before it: create, then both archives, then the last create.
    assert write_calls(box) == {CREATE_ROUTE: 2, "POST /crm/v3/associations/companies/contacts/batch/archive": 1}


def test_the_later_of_two_primary_companies_for_one_contact_wins(crm: SandboxFactory, dead_letters: Path) -> None:
    """A primary association moves the contact's primary company; the old one stays, unlabeled (HubSpot).

    HubSpot does not document the order in which it applies a batch's inputs, so the second primary goes in a
    call of its own, after the first.
    """
    box = crm()
    run_target_in_process(target_config(box, dead_letters), [
        schema(),
        contact_company(101, 201, association_type_id=PRIMARY),
        contact_company(101, 202, association_type="contact_to_company"),
    ])
    assert_only(box, {(101, 201, UNLABELED), (101, 202, UNLABELED), (101, 202, PRIMARY)})
    assert write_calls(box) == {CREATE_ROUTE: 2}


def test_a_dry_run_resolves_and_logs_but_calls_no_write_endpoint(
    crm: SandboxFactory, dead_letters: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    box = crm()
    with caplog.at_level("INFO"):
        target = run_target_in_process(target_config(box, dead_letters, dry_run=True), [
            schema(), contact_company(101, 201), contact_company(102, 202, _sdc_deleted_at="2026-01-01T00:00:00Z"),
            contact_company(103, 999_999),
        ])
    assert_only(box, set())
    assert write_calls(box) == {}
    assert box.counters()["requests"] == {"GET /crm/v3/associations/contacts/companies/types": 1}
    assert "dry run: would create 2 contacts->companies associations in 1 call(s)" in caplog.text
    assert "dry run: would archive 1 contacts->companies associations in 1 call(s)" in caplog.text
    assert (target.writer.stats.created, target.writer.stats.archived) == (2, 1)


def test_pair_types_are_read_once_per_pair_per_run(crm: SandboxFactory, dead_letters: Path) -> None:
    box = crm()
    settings = target_config(box, dead_letters, batch_size_rows=1, max_workers=1)
    run_target_in_process(settings, [
        schema(), *(contact_company(c, 201) for c in (101, 102, 103)),
        record(from_object_type="deals", from_id="301", to_object_type="contacts", to_id="101"),
    ])
    requests = box.counters()["requests"]
    assert requests["GET /crm/v3/associations/contacts/companies/types"] == 1
    assert requests["GET /crm/v3/associations/deals/contacts/types"] == 1


class _StoreAtEachState:
    """Stands in for stdout: at each STATE line the target writes, notes which records HubSpot holds then."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.seen: list[tuple[int, set[int]]] = []  # (the STATE's position, contacts associated by then)

    def write(self, text: str) -> int:
        for line in text.splitlines():
            held = {contact for contact, _, _ in contact_company_edges(self.box)}
            self.seen.append((json.loads(line)["position"], held))
        return len(text)

    def flush(self) -> None:
        pass


def test_each_state_comes_out_only_once_hubspot_holds_every_record_before_it(
    crm: SandboxFactory, dead_letters: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checkpoints do not wait for HubSpot's reply; the STATE they carry waits for it instead.

    One worker, so each batch is settled when the next one is sent, and every checkpoint's STATE comes out.
    """
    box = crm(latency_ms=20)
    contacts = list(range(101, 121))
    messages: list[dict[str, Any]] = [schema()]
    for position, contact in enumerate(contacts, start=1):
        messages += [contact_company(contact, 201), state(position=position)]
    stdout = _StoreAtEachState(box)
    monkeypatch.setattr("sys.stdout", stdout)
    run_target_in_process(target_config(box, dead_letters, batch_size_rows=2, max_workers=1), messages)
    positions = [position for position, _ in stdout.seen]
    assert positions == sorted(positions)
    assert positions[-1] == len(contacts)
    assert len(positions) >= len(contacts) // 2  # a STATE per checkpoint (every 2 records), not only the last
    for position, held in stdout.seen:
        assert set(contacts[:position]) <= held, f"STATE {position} came out before its records were written"


def test_a_state_message_is_passed_on_after_its_records_are_written(
    crm: SandboxFactory, dead_letters: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    box = crm()
    run_target_in_process(target_config(box, dead_letters), [schema(), contact_company(101, 201), state(bookmark=1)])
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [{"bookmark": 1}]
    assert_only(box, {(101, 201, UNLABELED)})
    assert read_dead_letters(dead_letters) == []


def test_stream_maps_still_apply_to_every_record(crm: SandboxFactory, dead_letters: Path) -> None:
    """Records skip the SDK's per-record path only when it would not change them: a configured map still runs."""
    box = crm()
    maps = {"associations": {"__filter__": "from_id != '101'", "to_id": "'203' if from_id == '102' else to_id"}}
    run_target_in_process(target_config(box, dead_letters, stream_maps=maps), [
        schema(), contact_company(101, 201), contact_company(102, 202), contact_company(103, 203),
    ])
    assert_only(box, {(102, 203, UNLABELED), (103, 203, UNLABELED)})


def test_flattening_still_applies_to_every_record(crm: SandboxFactory, dead_letters: Path) -> None:
    """With flattening on, records take the SDK's record path: a rejected one shows its fields flattened."""
    box = crm()
    nested = record(from_object_type="contacts", from_id="101", to_object_type="companies", to={"id": "201"})
    settings = target_config(box, dead_letters, flattening_enabled=True, flattening_max_depth=1, max_rejected_records=1)
    run_target_in_process(settings, [schema(), nested])
    [letter] = read_dead_letters(dead_letters)
    assert letter["reason"].startswith("missing to_id")
    assert letter["record"]["to__id"] == "201"


def test_records_held_longer_than_the_max_record_age_are_sent_without_waiting_for_a_full_buffer(
    crm: SandboxFactory, dead_letters: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """As the SDK drains sinks after 5 minutes: a slow stream must not keep records (and their STATE) back."""

    class AgingTarget(TargetHubAssoc):
        max_record_age_s = 0.0  # every record is already too old

    box = crm()
    target = AgingTarget(config=target_config(box, dead_letters))
    target.listen(io.StringIO(singer_text([
        schema(), contact_company(101, 201), state(position=1), contact_company(102, 202), state(position=2),
        contact_company(103, 203),
    ])))
    assert write_calls(box) == {CREATE_ROUTE: 3}  # one per record, though a batch holds 2,000
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [{"position": 1}, {"position": 2}]
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED), (103, 203, UNLABELED)})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        # the target reads JSON numbers with a fraction as Decimal, as the SDK does
        ({"association_type_id": 279.0}, "association_type_id 279.0 is not an integer type id"),
        ({"association_type_id": 279, "from_id": "10x"}, 'from_id "10x" is not a HubSpot object id'),
    ],
)
def test_a_bad_record_after_good_ones_of_the_same_types_is_dead_lettered_and_they_are_written(
    crm: SandboxFactory, dead_letters: Path, fields: dict[str, Any], reason: str,
) -> None:
    """The writer resolves a spelling of the types once; 279.0 equals 279 in Python, yet HubSpot takes no float."""
    box = crm()
    bad = record(**{**contact_company(103, 203)["record"], **fields})
    run_target_in_process(target_config(box, dead_letters, max_rejected_records=1), [
        schema(), contact_company(101, 201, association_type_id=279), bad,
        contact_company(102, 202, association_type_id=279),
    ])
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})
    [letter] = read_dead_letters(dead_letters)
    assert letter["reason"].startswith(reason)
    assert letter["record"] == bad["record"]
