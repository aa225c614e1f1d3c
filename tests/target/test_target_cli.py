"""The real ``target-hubassoc`` process: exit status, STATE lines on stdout, the dead-letter file, the summary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from target_hubassoc.settings import TARGET_PROPERTIES
from tests.support.crm import UNLABELED
from tests.support.crm.small import MISSING_COMPANY
from tests.support.runners import run_target_cli, target_command, target_config
from tests.support.sandbox_api import TOKEN, SandboxFactory, assert_only
from tests.support.singer import contact_company, record, schema, state

DEALS_CREATE = "POST /crm/v3/associations/contacts/deals/batch/create"


def _partly_bad_input() -> list[dict[str, object]]:
    """15 records: 10 good, 2 duplicates of good ones, 3 naming a company HubSpot does not have."""
    good = [contact_company(101 + i, 201 + i % 10) for i in range(10)]
    duplicates = [contact_company(101, 201), contact_company(102, 202)]
    bad = [contact_company(120 + i, MISSING_COMPANY) for i in range(3)]
    return [schema(), *good[:5], *bad[:2], *duplicates, *good[5:], bad[2], state(done=True)]


@pytest.mark.parametrize(("allowed", "status"), [(3, 0), (2, 1)])
def test_a_207_writes_the_good_inputs_and_dead_letters_the_bad_with_hubspots_reason(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path, allowed: int, status: int,
) -> None:
    """HubSpot refuses unknown ids alone (207 naming them in ``context``); the rest of the batch is written."""
    box = crm()
    run = run_target_cli(target_config(box, dead_letters, max_rejected_records=allowed), _partly_bad_input(), tmp_path)
    assert run.returncode == status
    assert_only(box, {(101 + i, 201 + i % 10, UNLABELED) for i in range(10)})
    assert [(d["record"]["from_id"], d["record"]["to_id"]) for d in run.dead_letters] == [
        ("120", "299"), ("121", "299"), ("122", "299")]
    letter = run.dead_letters[0]
    assert letter["stream"] == "associations"
    assert letter["record"] == contact_company(120, MISSING_COMPANY)["record"]
    assert (letter["category"], letter["message"]) == ("VALIDATION_ERROR", "No company exists with id 299.")
    assert "No company exists with id 299." in letter["reason"]
    assert set(letter) == {"stream", "record", "reason", "action", "category", "message", "correlationId",
                           "rejected_at"}
    counts = run.summary()
    assert counts["read"] == 15
    assert (counts["created"], counts["duplicates"], counts["rejected"]) == (10, 2, 3)
    assert counts["read"] == counts["created"] + counts["archived"] + counts["duplicates"] + counts["rejected"]
    assert run.states == [{"done": True}]  # the final STATE comes out even when the run then fails


def test_invalid_records_are_dead_lettered_with_the_reason_and_the_rest_goes_on(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    invalid = [
        record(from_object_type="contacts", from_id="101", to_object_type="companies"),
        contact_company(101, 201) | {"record": {**contact_company(101, 201)["record"], "from_id": "1/../../oauth"}},
        record(from_object_type="widgets", from_id="101", to_object_type="companies", to_id="201"),
        contact_company(101, 201, association_type_id=99999),
        contact_company(101, 201, association_type="no_such_label"),
        contact_company(101, 201, association_type_id=279, association_type="billing_contact"),
    ]
    run = run_target_cli(target_config(box, dead_letters, max_rejected_records=10),
                         [schema(), *invalid, contact_company(102, 202)], tmp_path)
    assert run.returncode == 0
    assert_only(box, {(102, 202, UNLABELED)})
    reasons = [d["reason"] for d in run.dead_letters]
    assert reasons[0].startswith("missing to_id")
    assert reasons[1].startswith('from_id "1/../../oauth" is not a HubSpot object id')
    assert reasons[2].startswith('from_object_type: unknown object type "widgets"')
    assert reasons[3].startswith("type id 99999 is not a contacts->companies association type here")
    assert reasons[4].startswith('type "no_such_label" is not a contacts->companies association type here')
    assert "name different types" in reasons[5]
    assert [d["record"] for d in run.dead_letters] == [m["record"] for m in invalid]


def test_no_state_is_emitted_past_records_whose_batch_failed(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    """A STATE acknowledges every record before it: after a failed batch, none may come out."""
    box = crm()
    box.schedule_faults("5xx:503", count=1, route=DEALS_CREATE)
    settings = target_config(box, dead_letters, batch_size_rows=2, max_workers=1, max_attempts=1)
    deal = {"from_object_type": "contacts", "to_object_type": "deals"}
    run = run_target_cli(settings, [
        schema(),
        contact_company(101, 201), state(checkpoint=1), contact_company(102, 202),  # flush 1: written
        record(**deal, from_id="103", to_id="301"), state(checkpoint=2),
        record(**deal, from_id="104", to_id="302"),  # flush 2: 503, not retried
        # checkpoints do not wait for HubSpot: the failure is seen when the next batch needs the one worker
        state(checkpoint=3), contact_company(105, 205), contact_company(106, 206), state(checkpoint=4),
        contact_company(107, 207), contact_company(108, 208),  # never read: the run stopped at 106
    ], tmp_path)
    assert run.returncode == 1
    assert run.states == [{"checkpoint": 1}]
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})
    assert box.store.edges("contacts", "deals") == []
    assert "HubSpot 503" in run.log
    assert run.last_log_lines[0].endswith("Summary: 6 records read: created 2, archived 0, unchanged duplicates 0, "
                                          "rejected 0, unconfirmed 4 (the run stopped before HubSpot confirmed "
                                          "them; no STATE covers them: a rerun from the last STATE sends them "
                                          "again)")


def test_input_that_is_not_json_stops_the_run_naming_the_line_and_keeps_what_state_acknowledged(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    settings = target_config(box, dead_letters, batch_size_rows=1, max_workers=1)
    run = run_target_cli(settings, [
        schema(), contact_company(101, 201), state(n=1), contact_company(102, 202),  # flushed, then STATE n=1
        "{not json", contact_company(103, 203),
    ], tmp_path)
    assert run.returncode == 1
    assert run.states == [{"n": 1}]
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})
    assert "stopped at input line 5" in run.log
    assert "Summary: 2 records read" in run.last_log_lines[0]


def test_a_record_before_its_schema_stops_the_run_naming_the_line(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    run = run_target_cli(target_config(box, dead_letters), [schema("a"), contact_company(101, 201, "b")], tmp_path)
    assert run.returncode == 1
    assert "stopped at input line 2" in run.log
    assert "encountered before a corresponding schema" in run.log
    assert run.last_log_lines[1].endswith("Summary: 0 API calls, 0 429s, 0 retries")


def test_the_last_log_lines_summarise_a_clean_run(crm: SandboxFactory, tmp_path: Path) -> None:
    """Dead letters default to hubassoc-rejected.jsonl in the working directory; a clean run writes none."""
    box = crm()
    settings = {"access_token": TOKEN, "api_url": box.url}
    run = run_target_cli(settings, [schema(), contact_company(101, 201), contact_company(101, 201)], tmp_path)
    assert run.returncode == 0
    assert run.last_log_lines[0].endswith(
        "Summary: 2 records read: created 1, archived 0, unchanged duplicates 1, rejected 0")
    assert run.last_log_lines[1].endswith("Summary: 2 API calls, 0 429s, 0 retries")
    assert not (tmp_path / "hubassoc-rejected.jsonl").exists()


def test_about_documents_every_setting(tmp_path: Path) -> None:
    about = subprocess.run([*target_command(), "--about", "--format", "json"], capture_output=True, text=True,
                           check=True, cwd=tmp_path, env=None)
    properties = json.loads(about.stdout)["settings"]["properties"]
    for name in [p.name for p in TARGET_PROPERTIES] + ["access_token", "api_url", "max_workers", "requests_per_10s"]:
        assert properties[name].get("description"), name
