"""ACTIVATE_VERSION (a full-table read's end, passed through a backup file) is taken quietly: records say it all."""

from __future__ import annotations

from pathlib import Path

from tests.support.crm import UNLABELED
from tests.support.runners import log_messages, run_target_cli, target_config
from tests.support.sandbox_api import SandboxFactory, assert_only
from tests.support.singer import activate_version, contact_company, state, tap_schema

NOTE = ("stream associations: ACTIVATE_VERSION taken; target-hubassoc writes only what records say, so nothing else "
        "is removed (removals come from archive records or a non-null _sdc_deleted_at)")


def test_activate_version_is_noted_once_at_info_and_removes_nothing(
    crm: SandboxFactory, dead_letters: Path, tmp_path: Path,
) -> None:
    box = crm()
    box.store.associate("contacts", 102, "companies", 202)  # not in the input: stays
    run = run_target_cli(target_config(box, dead_letters), [
        tap_schema(), activate_version(version=1), contact_company(101, 201, association_type_id=UNLABELED),
        activate_version(version=1),
        state(n=1), activate_version(version=2),
    ], tmp_path)
    assert run.returncode == 0, run.log
    assert_only(box, {(101, 201, UNLABELED), (102, 202, UNLABELED)})
    assert run.states == [{"n": 1}]
    assert [line for line in run.log.splitlines() if "ACTIVATE_VERSION" in line] == [
        line for line in run.log.splitlines() if line.endswith(f"| INFO     | target-hubassoc                | {NOTE}")]
    assert log_messages(run.log).count(NOTE) == 1
    assert "WARNING" not in run.log
