"""stream_actions over the real CLI: keys match a stream's name or its table part, and a key that misapplies fails.

tap-postgres names its streams ``<schema>-<table>`` (``public-links_to_remove``): users write the table.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.crm import UNLABELED
from tests.support.runners import run_target_cli, target_config
from tests.support.sandbox_api import SandboxFactory, assert_only
from tests.support.singer import contact_company, schema, state

REMOVE = "public-links_to_remove"
ADD = "public-links_to_add"


def test_a_key_naming_the_table_applies_to_the_schema_qualified_stream(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    box.store.associate("contacts", 102, "companies", 202)
    run = run_target_cli(target_config(box, dead_letters, stream_actions={"links_to_remove": "archive"}), [
        schema(REMOVE), schema(ADD), contact_company(101, 201, REMOVE), contact_company(103, 203, ADD),
    ], tmp_path)
    assert run.returncode == 0, run.log
    assert_only(box, {(102, 202, UNLABELED), (103, 203, UNLABELED)})


def test_each_streams_action_is_logged_once_at_its_schema(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    run = run_target_cli(target_config(box, dead_letters, stream_actions={"links_to_remove": "archive"}), [
        schema(REMOVE), contact_company(101, 201, REMOVE), schema(REMOVE), schema(ADD),
    ], tmp_path)
    lines = [line.split(" | ")[-1] for line in run.log.splitlines() if " | stream public-" in line]
    assert lines == ["stream public-links_to_remove: archive (stream_actions key links_to_remove)",
                     "stream public-links_to_add: create (default_action)"]


def test_a_key_matching_a_second_stream_stops_the_run_before_that_streams_records(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    box.store.associate("contacts", 101, "companies", 201)
    box.store.associate("contacts", 102, "companies", 202)
    run = run_target_cli(target_config(box, dead_letters, stream_actions={"links": "archive"}), [
        schema("public-links"), contact_company(101, 201, "public-links"), state(n=1),
        schema("staging-links"), contact_company(102, 202, "staging-links"),
    ], tmp_path)
    assert run.returncode == 1
    assert_only(box, {(102, 202, UNLABELED)})
    assert run.states == [{"n": 1}]
    assert ("target-hubassoc stopped at input line 4: stream_actions key links matches two streams, public-links "
            "and staging-links: use each stream's full name as its key (e.g. staging-links)") in run.log


def test_a_key_that_matched_no_stream_fails_the_run_after_everything_is_written(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    run = run_target_cli(target_config(box, dead_letters, stream_actions={"links_to_remove": "archive"}), [
        schema(ADD), contact_company(101, 201, ADD), state(n=1),
    ], tmp_path)
    assert run.returncode == 1
    assert_only(box, {(101, 201, UNLABELED)})
    assert run.states == [{"n": 1}]
    assert ("target-hubassoc stopped at the end of input: stream_actions key links_to_remove matched no stream "
            "(streams seen: public-links_to_add)") in run.log


def test_a_key_that_matched_no_stream_fails_a_dry_run_too(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    settings = target_config(box, dead_letters, dry_run=True, stream_actions={"links_to_remove": "archive"})
    run = run_target_cli(settings, [
        schema(ADD), contact_company(101, 201, ADD), state(n=1),
    ], tmp_path)
    assert run.returncode == 1
    assert_only(box, set())
    assert run.states == [{"n": 1}]
    assert "stream_actions key links_to_remove matched no stream (streams seen: public-links_to_add)" in run.log
    assert "dry run: would create 1 contacts->companies associations" in run.log


def test_an_unknown_action_is_a_config_error_naming_the_setting_before_any_input_is_read(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    run = run_target_cli(target_config(box, dead_letters, stream_actions={"links_to_remove": "delete"}), [
        schema(REMOVE), contact_company(101, 201, REMOVE),
    ], tmp_path)
    assert run.returncode == 1
    assert ("'delete' is not one of ['create', 'archive', 'mirror'] in config['stream_actions']['links_to_remove']"
            in run.log)
    assert box.counters()["requests_total"] == 0


def test_an_unmatched_key_and_too_many_rejected_records_are_both_reported(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    bad = contact_company(101, 201, ADD) | {"record": {**contact_company(101, 201)["record"], "to_id": "x"}}
    run = run_target_cli(target_config(box, dead_letters, stream_actions={"links_to_remove": "archive"}), [
        schema(ADD), bad, contact_company(102, 202, ADD),
    ], tmp_path)
    assert run.returncode == 1
    assert_only(box, {(102, 202, UNLABELED)})
    [stop] = [line for line in run.log.splitlines() if "target-hubassoc stopped" in line]
    assert "stream_actions key links_to_remove matched no stream" in stop
    assert "Also: 1 records were rejected, more than max_rejected_records (0)" in stop
