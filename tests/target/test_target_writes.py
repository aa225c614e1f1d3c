"""What HubSpot holds after a run: each record a desired change, applied as if one by one in input order.

Every test asserts the sandbox store exactly (both directions: HubSpot associations are two-way).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from target_helpers import (
    PRIMARY,
    UNLABELED,
    CrmFactory,
    assert_only,
    billing_type_id,
    config,
    contact_company,
    read_dead_letters,
    record,
    run_in_process,
    schema,
    state,
    write_calls,
)

CREATE_ROUTE = "POST /crm/v3/associations/contacts/companies/batch/create"
ARCHIVE_ROUTE = "POST /crm/v3/associations/contacts/companies/batch/archive"


def test_records_create_associations_of_the_ordinary_type_never_the_primary_one(
    crm: CrmFactory, dead_letters: Path,
) -> None:
    """Without a type, contact->company means 279 (unlabeled): creating 1 would move the primary company."""
    box = crm()
    run_in_process(config(box, dead_letters), [schema(), contact_company(101, 201), contact_company(102, 202)])
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})


def test_labels_are_found_by_type_id_and_by_v3_name(crm: CrmFactory, dead_letters: Path) -> None:
    """A custom label has an account-specific id, listed by the pair's types endpoint with its v3 name."""
    box = crm()
    billing = billing_type_id(box)
    run_in_process(config(box, dead_letters), [
        schema(),
        contact_company(101, 201, association_type_id=billing),
        contact_company(102, 202, association_type="billing_contact"),
        contact_company(103, 203, association_type_id=str(PRIMARY), association_type="contact_to_company"),
    ])
    # Asking for the primary type explicitly is honoured; HubSpot adds the unlabeled one with it.
    assert_only(box, {(101, 201, billing), (102, 202, billing), (103, 203, PRIMARY), (103, 203, UNLABELED)})


def test_object_types_and_ids_may_be_written_in_any_spelling_hubspot_accepts(
    crm: CrmFactory, dead_letters: Path,
) -> None:
    """``Contacts``, ``contact`` and ``0-1`` name one type; ids may be JSON integers or digit strings."""
    box = crm()
    run_in_process(config(box, dead_letters), [
        schema(),
        record(from_object_type="Contact", from_id=101, to_object_type="0-2", to_id="201"),
        record(from_object_type="companies", from_id="202", to_object_type="CONTACTS", to_id=102),
    ])
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})


def test_a_stream_configured_to_archive_removes_its_associations(crm: CrmFactory, dead_letters: Path) -> None:
    """Archiving an association that does not exist is not an error (HubSpot answers 204 either way)."""
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    box.store.associate("contacts", 102, "companies", 202)
    run_in_process(config(box, dead_letters, stream_actions={"removals": "archive"}), [
        schema("removals"), contact_company(101, 201, "removals"), contact_company(103, 203, "removals"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


def test_default_action_applies_to_streams_not_named(crm: CrmFactory, dead_letters: Path) -> None:
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    run_in_process(config(box, dead_letters, default_action="archive", stream_actions={"adds": "create"}), [
        schema("anything"), schema("adds"), contact_company(101, 201, "anything"), contact_company(102, 202, "adds"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


@pytest.mark.parametrize("add_record_metadata", [False, True])
def test_a_non_null_sdc_deleted_at_archives_whatever_the_stream_says(
    crm: CrmFactory, dead_letters: Path, add_record_metadata: bool,
) -> None:
    """Soft-deleted warehouse rows remove their association, with or without the SDK's record metadata."""
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    run_in_process(config(box, dead_letters, add_record_metadata=add_record_metadata), [
        schema(),
        contact_company(101, 201, _sdc_deleted_at="2026-01-02T03:04:05+00:00"),
        contact_company(102, 202, _sdc_deleted_at=None),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


def test_an_unparseable_sdc_deleted_at_is_still_non_null_and_archives(crm: CrmFactory, dead_letters: Path) -> None:
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    run_in_process(config(box, dead_letters), [schema(), contact_company(101, 201, _sdc_deleted_at="yesterday")])
    assert_only(box, set())


@pytest.mark.parametrize(
    ("actions", "present"),
    [(["create", "archive"], False), (["archive", "create"], True), (["create", "archive", "create"], True)],
)
def test_the_last_record_for_an_association_wins_within_one_batch(
    crm: CrmFactory, dead_letters: Path, actions: list[str], present: bool,
) -> None:
    """Only the last record for a key is sent, and it is sent once."""
    box = crm()
    deleted = {"create": None, "archive": "2026-01-01T00:00:00Z"}
    messages = [schema(), *(contact_company(101, 201, _sdc_deleted_at=deleted[a]) for a in actions)]
    target = run_in_process(config(box, dead_letters), messages)
    assert_only(box, {(101, 201, UNLABELED)} if present else set())
    assert sum(write_calls(box).values()) == 1
    assert target.writer.stats.duplicates == len(actions) - 1


def test_the_last_record_wins_across_streams(crm: CrmFactory, dead_letters: Path) -> None:
    """One buffer serves every stream, so a removal stream and an addition stream interleave correctly."""
    box = crm()
    settings = config(box, dead_letters, stream_actions={"adds": "create", "removals": "archive"})
    run_in_process(settings, [
        schema("adds"), schema("removals"),
        contact_company(101, 201, "adds"), contact_company(101, 201, "removals"),
        contact_company(102, 202, "removals"), contact_company(102, 202, "adds"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})


def test_the_last_record_wins_across_batches(crm: CrmFactory, dead_letters: Path) -> None:
    """With one record per batch, flushes run in input order: create, archive, create leaves it created."""
    box = crm()
    settings = config(box, dead_letters, batch_size_rows=1, max_workers=1, stream_actions={"removals": "archive"})
    run_in_process(settings, [
        schema("adds"), schema("removals"),
        contact_company(101, 201, "adds"), contact_company(101, 201, "removals"), contact_company(101, 201, "adds"),
        contact_company(102, 202, "adds"), contact_company(102, 202, "removals"),
    ])
    assert_only(box, {(101, 201, UNLABELED)})
    assert write_calls(box) == {CREATE_ROUTE: 3, ARCHIVE_ROUTE: 2}


def test_an_archive_written_from_the_other_side_still_follows_the_create(
    crm: CrmFactory, dead_letters: Path,
) -> None:
    """company->contact 280 is contact->company 279 seen from the company: the later record must win."""
    box = crm()
    settings = config(box, dead_letters, stream_actions={"removals": "archive"})
    run_in_process(settings, [
        schema("adds"), schema("removals"),
        contact_company(101, 201, "adds"),
        record("removals", from_object_type="companies", from_id="201", to_object_type="contacts", to_id="101"),
        record("removals", from_object_type="companies", from_id="202", to_object_type="contacts", to_id="102"),
        contact_company(102, 202, "adds"),
    ])
    assert_only(box, {(102, 202, UNLABELED)})
    # Each reversal waits for the flush before it: create, then both archives, then the last create.
    assert write_calls(box) == {CREATE_ROUTE: 2, "POST /crm/v3/associations/companies/contacts/batch/archive": 1}


def test_the_later_of_two_primary_companies_for_one_contact_wins(crm: CrmFactory, dead_letters: Path) -> None:
    """A primary association moves the contact's primary company; the old one stays, unlabeled (HubSpot).

    HubSpot does not document the order in which it applies a batch's inputs, so the second primary goes in a
    call of its own, after the first.
    """
    box = crm()
    run_in_process(config(box, dead_letters), [
        schema(),
        contact_company(101, 201, association_type_id=PRIMARY),
        contact_company(101, 202, association_type="contact_to_company"),
    ])
    assert_only(box, {(101, 201, UNLABELED), (101, 202, UNLABELED), (101, 202, PRIMARY)})
    assert write_calls(box) == {CREATE_ROUTE: 2}


def test_a_dry_run_resolves_and_logs_but_calls_no_write_endpoint(
    crm: CrmFactory, dead_letters: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    box = crm()
    with caplog.at_level("INFO"):
        target = run_in_process(config(box, dead_letters, dry_run=True), [
            schema(), contact_company(101, 201), contact_company(102, 202, _sdc_deleted_at="2026-01-01T00:00:00Z"),
            contact_company(103, 999_999),
        ])
    assert_only(box, set())
    assert write_calls(box) == {}
    assert box.counters()["requests"] == {"GET /crm/v3/associations/contacts/companies/types": 1}
    assert "dry run: would create 2 contacts->companies associations in 1 call(s)" in caplog.text
    assert "dry run: would archive 1 contacts->companies associations in 1 call(s)" in caplog.text
    assert (target.writer.stats.created, target.writer.stats.archived) == (2, 1)


def test_pair_types_are_read_once_per_pair_per_run(crm: CrmFactory, dead_letters: Path) -> None:
    box = crm()
    settings = config(box, dead_letters, batch_size_rows=1, max_workers=1)
    run_in_process(settings, [
        schema(), *(contact_company(c, 201) for c in (101, 102, 103)),
        record(from_object_type="deals", from_id="301", to_object_type="contacts", to_id="101"),
    ])
    requests = box.counters()["requests"]
    assert requests["GET /crm/v3/associations/contacts/companies/types"] == 1
    assert requests["GET /crm/v3/associations/deals/contacts/types"] == 1


def test_a_state_message_is_passed_on_after_its_records_are_written(
    crm: CrmFactory, dead_letters: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    box = crm()
    run_in_process(config(box, dead_letters), [schema(), contact_company(101, 201), state(bookmark=1)])
    assert capsys.readouterr().out == '{"bookmark": 1}\n'
    assert_only(box, {(101, 201, UNLABELED)})
    assert read_dead_letters(dead_letters) == []
