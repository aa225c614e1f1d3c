"""Backup and restore through v4 and 2026-03, and across versions: tap output into the target, store compared.

The source is the labelled CRM of tests.support.crm.labelled (non-primary companies, two custom labels, objects
past 100). Restores go to an account with the same objects and labels (label ids are account-specific, so the
same ones are made in the same order) and no associations.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig
from tests.support.crm.labelled import build_crm
from tests.support.dead_letters import read_dead_letters
from tests.support.runners import run_tap_in_process, run_target_in_process
from tests.support.singer import as_messages, records
from tests.support.versions import LABELLED, VERSIONS, version_tap_config, version_target_config


@pytest.fixture(scope="module")
def backups() -> dict[str, list[dict[str, Any]]]:
    """The tap's associations records from the source CRM, per api_version."""
    with Sandbox(SandboxConfig(rate_limit=10_000), build_crm()) as box:
        # v3 as v3 shows each direction: read from its own side.
        configs = {version: version_tap_config(box, version, read_each_pair_once=False) for version in VERSIONS}
        return {version: records(run_tap_in_process(config).messages) for version, config in configs.items()}


@pytest.fixture
def restore(sandbox: Callable[..., Sandbox], tmp_path: Path) -> Callable[..., Sandbox]:
    """``restore(rows, version)``: a fresh account with the CRM's objects and labels, the rows written into it."""

    def run(rows: list[dict[str, Any]], version: str) -> Sandbox:
        box = sandbox(store=build_crm(associations=False), rate_limit=10_000)
        dead = tmp_path / f"dead-{version}-{id(box)}.jsonl"
        run_target_in_process(version_target_config(box, version, dead), as_messages(rows, tap_keys=True))
        assert read_dead_letters(dead) == []
        return box

    return run


@pytest.mark.parametrize("version", LABELLED)
def test_a_round_trip_reproduces_the_store_exactly_labels_included(
    backups: dict[str, list[dict[str, Any]]], restore: Callable[..., Sandbox], version: str,
) -> None:
    restored = restore(backups[version], version)
    assert restored.store.records() == build_crm().records()


@pytest.mark.parametrize("version", LABELLED)
def test_v4_tap_output_through_a_v3_target_reproduces_the_store_too(
    backups: dict[str, list[dict[str, Any]]], restore: Callable[..., Sandbox], version: str,
) -> None:
    """Every record names its type by id, which v3 resolves: the labels' null v3 names do not matter."""
    restored = restore(backups[version], "v3")
    assert restored.store.records() == build_crm().records()


@pytest.mark.parametrize("version", LABELLED)
def test_v3_tap_output_through_a_labelled_target_gives_what_a_v3_target_gives(
    backups: dict[str, list[dict[str, Any]]], restore: Callable[..., Sandbox], version: str,
) -> None:
    """v3 output lacks the non-primary companies (toward companies) and the labels' labels: restoring it in
    any version writes the same, smaller, set. Its v3 names of custom labels agree with the v4 labels."""
    through_v3 = restore(backups["v3"], "v3").store.records()
    through_labelled = restore(backups["v3"], version).store.records()
    source = build_crm().records()
    assert through_labelled == through_v3
    assert [r for r in through_labelled if r not in source] == []
    assert len(through_labelled) < len(source)


UNTYPED_ARCHIVE_LEAVES = {  # README: "a record without a type", per api_version
    "v3": {(1, "Primary"), ("billing", "Billing contact")},  # only the ordinary type (279) goes
    "v4": set(),  # every type between the two objects
    "2026-03": set(),
}


@pytest.mark.parametrize("version", VERSIONS)
def test_an_untyped_archive_removes_the_ordinary_type_in_v3_and_every_type_in_v4(
    sandbox: Callable[..., Sandbox], tmp_path: Path, version: str,
) -> None:
    box = sandbox(store=build_crm(associations=False), rate_limit=10_000)
    store = box.store
    billing = store.add_label("contacts", "companies", "Billing contact")[0]
    contact, company = store.object_ids("contacts")[0], store.object_ids("companies")[0]
    for kind in (1, billing):  # the primary type brings the ordinary (279) with it
        store.associate("contacts", contact, "companies", company, kind)
    archive = {"from_object_type": "contacts", "from_id": str(contact), "to_object_type": "companies",
               "to_id": str(company), "_sdc_deleted_at": "2026-01-01T00:00:00Z"}
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"), as_messages([archive]))
    left = {(r["association_type_id"] if r["association_category"] == "HUBSPOT_DEFINED" else "billing",
             r["association_label"]) for r in store.records("contacts", "companies")}
    assert left == UNTYPED_ARCHIVE_LEAVES[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_an_untyped_create_makes_the_ordinary_type_in_every_version(
    sandbox: Callable[..., Sandbox], tmp_path: Path, version: str,
) -> None:
    box = sandbox(store=build_crm(associations=False), rate_limit=10_000)
    contact, company = box.store.object_ids("contacts")[0], box.store.object_ids("companies")[0]
    create = {"from_object_type": "contacts", "from_id": str(contact), "to_object_type": "companies",
              "to_id": str(company)}
    run_target_in_process(version_target_config(box, version, tmp_path / "dead.jsonl"), as_messages([create]))
    assert [(e.from_id, e.to_id, e.type_id) for e in box.store.edges("contacts", "companies")] == \
        [(contact, company, 279)]
