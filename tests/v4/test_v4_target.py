"""target-hubassoc with api_version v4 and 2026-03: what HubSpot holds after a run, and the calls that made it.

A record names its type by ``association_type_id``, ``association_label`` or ``association_type`` (resolved
against the labels endpoint) and is sent as ``types`` (category + type id). A record without a type creates
HubSpot's default association (batch/associate/default) and, archived, removes every type between its two
objects (batch/archive). Every test asserts the store exactly, both directions included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox
from tests.support.crm import PRIMARY, UNLABELED
from tests.support.crm.labelled import BILLING, COMPANIES, CONTACTS
from tests.support.dead_letters import read_dead_letters
from tests.support.runners import run_target_in_process
from tests.support.singer import as_messages
from tests.support.versions import LABELLED, PREFIXES, version_target_config

pytestmark = pytest.mark.parametrize("version", LABELLED)
Crm = Callable[..., Sandbox]
CONTACT, COMPANY, OTHER = CONTACTS[5], COMPANIES[5], COMPANIES[6]
MISSING = 99_999_999_999


def change(to_id: int = COMPANY, *, deleted: bool = False, **fields: Any) -> dict[str, Any]:
    """A contact->company record; ``deleted`` archives it (a non-null _sdc_deleted_at)."""
    record = {"from_object_type": "contacts", "from_id": str(CONTACT), "to_object_type": "companies",
              "to_id": str(to_id), **fields}
    return {**record, "_sdc_deleted_at": "2026-01-01T00:00:00Z"} if deleted else record


def between(box: Sandbox) -> set[tuple[int, int]]:
    """(company, type id) of every contact->company association of CONTACT; asserts nothing else exists."""
    found = set(box.store.targets("contacts", CONTACT, "companies"))
    assert len(box.store.records()) == 2 * len(found)
    return found


def calls(box: Sandbox, version: str) -> dict[str, int]:
    """Requests by route, with the version prefix shortened to ``~``."""
    return {k.replace(PREFIXES[version], "~"): n for k, n in box.counters()["requests"].items()}


def setup(crm: Crm, *types: int | None) -> tuple[Sandbox, int]:
    """A sandbox without associations but CONTACT->COMPANY of ``types`` (None: unlabeled); the billing id."""
    box = crm(associations=False)
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    for kind in types:
        box.store.associate("contacts", CONTACT, "companies", COMPANY, billing if kind == -1 else kind)
    box.reset_counters()
    return box, billing


def test_a_type_id_is_created_with_its_category_through_batch_create(
    crm: Crm, version: str, tmp_path: Path,
) -> None:
    box, billing = setup(crm)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"),
                          as_messages([change(association_type_id=billing)]))
    assert between(box) == {(COMPANY, billing)}
    assert calls(box, version) == {"GET ~/contacts/companies/labels": 1, "POST ~/contacts/companies/batch/create": 1}


def test_a_label_or_a_v3_name_alone_names_the_type(crm: Crm, version: str, tmp_path: Path) -> None:
    """Labels are matched case-insensitively; a custom label's v3 name is derived from it (billing_contact)."""
    box, billing = setup(crm)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"), as_messages([
        change(COMPANY, association_label="billing CONTACT"),
        change(OTHER, association_type="billing_contact"),
        change(COMPANIES[7], association_label="Primary"),
        change(COMPANIES[8], association_type="contact_to_company_unlabeled"),
    ]))
    # Primary asked for explicitly is honoured: HubSpot adds the unlabeled type with it.
    assert between(box) == {(COMPANY, billing), (OTHER, billing), (COMPANIES[7], PRIMARY),
                            (COMPANIES[7], UNLABELED), (COMPANIES[8], UNLABELED)}


def test_a_record_without_a_type_creates_the_default_association(crm: Crm, version: str, tmp_path: Path) -> None:
    box, _ = setup(crm)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"), as_messages([change()]))
    assert between(box) == {(COMPANY, UNLABELED)}
    assert calls(box, version) == {"GET ~/contacts/companies/labels": 1,
                                   "POST ~/contacts/companies/batch/associate/default": 1}


def test_archiving_a_type_removes_that_type_only(crm: Crm, version: str, tmp_path: Path) -> None:
    box, billing = setup(crm, None, -1)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"),
                          as_messages([change(deleted=True, association_type_id=billing)]))
    assert between(box) == {(COMPANY, UNLABELED)}
    assert calls(box, version) == {"GET ~/contacts/companies/labels": 1,
                                   "POST ~/contacts/companies/batch/labels/archive": 1}


def test_archiving_without_a_type_removes_every_type_between_the_two_objects(
    crm: Crm, version: str, tmp_path: Path,
) -> None:
    box, _ = setup(crm, PRIMARY, -1)
    settings = version_target_config(box, version, tmp_path / "dead.jsonl")
    run_target_in_process(settings, as_messages([change(deleted=True)]))
    assert between(box) == set()
    assert calls(box, version) == {"GET ~/contacts/companies/labels": 1, "POST ~/contacts/companies/batch/archive": 1}


def test_the_last_record_for_an_association_wins(crm: Crm, version: str, tmp_path: Path) -> None:
    """Create then archive the same (edge, type) in one batch: only the archive is sent."""
    box, billing = setup(crm, None)
    target = run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"), as_messages([
        change(association_type_id=billing), change(deleted=True, association_type_id=billing),
        change(OTHER, deleted=True), change(OTHER),
    ]))
    assert between(box) == {(COMPANY, UNLABELED), (OTHER, UNLABELED)}
    # One duplicate: the typed create and archive share a key; an untyped archive and create are two changes.
    assert (target.writer.stats.duplicates, target.writer.stats.created, target.writer.stats.archived) == (1, 1, 2)
    assert calls(box, version)["POST ~/contacts/companies/batch/labels/archive"] == 1
    assert "POST ~/contacts/companies/batch/create" not in calls(box, version)


def test_an_untyped_archive_and_create_of_one_pair_apply_in_input_order(
    crm: Crm, version: str, tmp_path: Path,
) -> None:
    """Remove everything, then create the default: the label and the primary are gone, the default is there."""
    box, _ = setup(crm, PRIMARY, -1)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"),
                          as_messages([change(deleted=True), change()]))
    assert between(box) == {(COMPANY, UNLABELED)}


def test_an_untyped_create_then_archive_leaves_nothing(crm: Crm, version: str, tmp_path: Path) -> None:
    box, _ = setup(crm, -1)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"),
                          as_messages([change(), change(deleted=True)]))
    assert between(box) == set()


def test_inputs_hubspot_refuses_in_a_207_become_dead_letters_and_the_rest_is_written(
    crm: Crm, version: str, tmp_path: Path,
) -> None:
    box, billing = setup(crm)
    dead = tmp_path / "dead.jsonl"
    target = run_target_in_process(version_target_config(box, version, dead, max_rejected_records=5), as_messages([
        change(association_type_id=billing), change(MISSING, association_type_id=billing), change(MISSING),
    ]))
    assert between(box) == {(COMPANY, billing)}
    letters = read_dead_letters(dead)
    assert [(d["record"]["to_id"], d["category"], d["message"]) for d in letters] == [
        (str(MISSING), "VALIDATION_ERROR", f"No company exists with id {MISSING}."),
    ] * 2
    assert (target.writer.stats.created, target.writer.stats.rejected) == (1, 2)


def test_a_label_that_names_another_type_than_the_id_is_rejected(crm: Crm, version: str, tmp_path: Path) -> None:
    box, billing = setup(crm)
    dead = tmp_path / "dead.jsonl"
    run_target_in_process(version_target_config(box, version, dead, max_rejected_records=5), as_messages([
        change(association_type_id=billing, association_label="Primary"),
        change(OTHER, association_type_id=billing, association_type="some_name_v4_cannot_see"),
    ]))
    assert between(box) == {(OTHER, billing)}  # a name v4 cannot resolve does not overrule the id
    [letter] = read_dead_letters(dead)
    assert letter["reason"] == (f'association_type_id {billing} and association_label "Primary" (id {PRIMARY}) '
                                "name different types: give one, or make them agree")


def test_an_unknown_label_is_rejected_with_the_pairs_types(crm: Crm, version: str, tmp_path: Path) -> None:
    box, billing = setup(crm)
    dead = tmp_path / "dead.jsonl"
    run_target_in_process(version_target_config(box, version, dead, max_rejected_records=5),
                          as_messages([change(association_label="Decision maker")]))
    assert between(box) == set()
    [letter] = read_dead_letters(dead)
    assert letter["reason"] == (
        'association_label "Decision maker" is not a contacts->companies association type here; it has: '
        f"{PRIMARY} (Primary), {UNLABELED} (contact_to_company_unlabeled), {billing} ({BILLING})")


def test_a_state_message_is_passed_on_after_its_records_are_written(
    crm: Crm, version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    box, _ = setup(crm)
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"),
                          [*as_messages([change()]), {"type": "STATE", "value": {"bookmark": 1}}])
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [{"bookmark": 1}]
    assert between(box) == {(COMPANY, UNLABELED)}


def test_no_state_is_passed_on_when_a_write_fails(
    crm: Crm, version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A batch that fails for good (503 on every attempt) stops the run before its STATE."""
    box, _ = setup(crm)
    box.schedule_faults("5xx:503", 50, route=f"POST {PREFIXES[version]}/contacts/companies/batch/associate/default")
    settings = version_target_config(box, version, tmp_path / "dead.jsonl", max_attempts=2, max_retry_wait=1)
    with pytest.raises(Exception, match="gave up after 2 attempts"):
        run_target_in_process(settings, [*as_messages([change()]), {"type": "STATE", "value": {"bookmark": 1}}])
    assert capsys.readouterr().out == ""
    assert between(box) == set()
