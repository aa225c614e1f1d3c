"""Mirror mode over the sandbox, v4 and 2026-03: HubSpot's associations of each covered contact toward companies
become exactly the mirror stream's desired set, and nothing else changes.

Expected values come from the sandbox's store (what "HubSpot" holds) and its request counters.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError

from hubassoc.sandbox import Sandbox, Store
from target_hubassoc.mirror import MirrorRefusedError
from target_hubassoc.target import TargetHubAssoc
from tests.support.dead_letters import read_dead_letters
from tests.support.sandbox_api import TOKEN
from tests.support.singer import DELETED, record, schema

LABELLED = ("v4", "2026-03")
PREFIXES = {"v4": "/crm/v4/associations", "2026-03": "/crm/associations/2026-03"}
CONTACTS = list(range(1001, 1011))
COMPANIES = list(range(2001, 2161))  # 160: enough for one contact past a 100-association page
MISSING_COMPANY = 2999
PRIMARY, UNLABELED = 1, 279  # contact->company (hubspot-associations-api.md, "Object types")
BILLING = "Billing contact"
STREAM = "links"  # the mirror stream
A, B = CONTACTS[0], CONTACTS[1]
C1, C2, C3, C4 = COMPANIES[:4]

Link = tuple[int, int, int | None]  # (contact, company, type id; None: the ordinary type)


@pytest.fixture(params=LABELLED)
def version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def hubspot(sandbox: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """``hubspot(*links)``: a sandbox with the contacts, companies and Billing contact label, and these links."""

    def start(*links: Link) -> Sandbox:
        store = Store()
        store.add_objects("contacts", CONTACTS)
        store.add_objects("companies", COMPANIES)
        store.add_label("contacts", "companies", BILLING)
        for contact, company, type_id in links:
            store.associate("contacts", contact, "companies", company, type_id)
        return sandbox(store=store, rate_limit=10_000)

    return start


def link(contact: int, company: int | None, stream: str = STREAM, **fields: Any) -> dict[str, Any]:
    """A RECORD: ``contact`` desires ``company`` (None: a null to_id, which covers the contact and adds nothing)."""
    return record(stream, from_object_type="contacts", from_id=str(contact), to_object_type="companies",
                  to_id=None if company is None else str(company), **fields)


def state(value: int) -> dict[str, Any]:
    return {"type": "STATE", "value": {"position": value}}


def run(box: Sandbox, version: str, dead_letters: Path, messages: list[dict[str, Any]], **settings: Any,
        ) -> TargetHubAssoc:
    """The target in this process with STREAM as a mirror; its schema message first."""
    config = {"access_token": TOKEN, "api_url": box.url, "api_version": version, "requests_per_10s": 1000,
              "dead_letter_path": str(dead_letters), "stream_actions": {STREAM: "mirror"}, **settings}
    target = TargetHubAssoc(config=config)
    streams = dict.fromkeys(m["stream"] for m in messages if m["type"] == "RECORD")
    target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in [*map(schema, streams), *messages])))
    return target


def companies_of(box: Sandbox, contact: int) -> set[tuple[int, int]]:
    """(company, type id) of every association of the contact toward companies."""
    return set(box.store.targets("contacts", contact, "companies"))


def calls(box: Sandbox, version: str, tail: str) -> int:
    """Requests to the contacts->companies route ending in ``tail``."""
    return box.counters()["requests"].get(f"POST {PREFIXES[version]}/contacts/companies/{tail}", 0)


def writes(box: Sandbox) -> int:
    """Every write request the sandbox answered."""
    return sum(n for route, n in box.counters()["requests"].items()
               if route.endswith(("/batch/create", "/batch/archive", "/associate/default", "/labels/archive")))


def emitted_states(out: str) -> list[Any]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_missing_links_are_created_and_undesired_ones_archived(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None))
    target = run(box, version, dead_letters, [link(A, C2), link(A, C3)])
    assert companies_of(box, A) == {(C2, UNLABELED), (C3, UNLABELED)}
    assert (calls(box, version, "batch/create"), calls(box, version, "batch/archive")) == (1, 1)
    stats = target.mirror.stats
    assert (stats.covered, stats.kept, stats.created, stats.archived) == (1, 1, 1, 1)


def test_a_null_to_id_makes_the_desired_set_empty(hubspot, version, dead_letters):
    box = hubspot((A, C1, PRIMARY), (A, C2, None))
    run(box, version, dead_letters, [link(A, None)], mirror_max_archive_fraction=1.0)
    assert companies_of(box, A) == set()


def test_a_deleted_record_covers_its_object_without_desiring_its_to_object(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None))
    run(box, version, dead_letters, [link(A, C1), link(A, C2, _sdc_deleted_at=DELETED)])
    assert companies_of(box, A) == {(C1, UNLABELED)}


def test_an_unchanged_object_costs_one_read_and_no_write(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None))
    run(box, version, dead_letters, [link(A, C1), link(A, C2)])
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, UNLABELED)}
    assert (calls(box, version, "batch/read"), writes(box)) == (1, 0)


def test_a_typed_record_adds_its_label_and_the_primary_stays(hubspot, version, dead_letters):
    box = hubspot((A, C1, PRIMARY))
    billing = box.store.add_label("contacts", "companies", BILLING)[0]
    run(box, version, dead_letters, [link(A, C1), link(A, C1, association_label=BILLING)])
    assert companies_of(box, A) == {(C1, PRIMARY), (C1, UNLABELED), (C1, billing)}


def test_naming_the_primary_type_makes_that_company_primary(hubspot, version, dead_letters):
    box = hubspot((A, C1, PRIMARY))
    run(box, version, dead_letters, [link(A, C1), link(A, C2, association_type_id=PRIMARY)])
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, PRIMARY), (C2, UNLABELED)}


def test_objects_the_stream_does_not_name_are_untouched(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (B, C1, None), (B, C2, PRIMARY))
    run(box, version, dead_letters, [link(A, C3)], mirror_max_archive_fraction=1.0)
    assert companies_of(box, A) == {(C3, UNLABELED)}
    assert companies_of(box, B) == {(C1, UNLABELED), (C2, PRIMARY), (C2, UNLABELED)}


def test_object_types_and_ids_are_compared_canonically(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None))
    spelled = [record(STREAM, from_object_type="Contact", from_id=A, to_object_type="0-2", to_id=str(C1)),
               record(STREAM, from_object_type="CONTACTS", from_id=str(A), to_object_type="companies", to_id=C2)]
    run(box, version, dead_letters, spelled)
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, UNLABELED)}
    assert writes(box) == 0


def test_an_object_with_more_than_100_associations_is_read_past_its_first_page(hubspot, version, dead_letters):
    box = hubspot(*((A, company, None) for company in COMPANIES[:150]))
    desired = [link(A, company) for company in COMPANIES[10:160]]  # drop 10, keep 140, add 10
    target = run(box, version, dead_letters, desired)
    assert companies_of(box, A) == {(company, UNLABELED) for company in COMPANIES[10:160]}
    assert calls(box, version, "batch/read") == 2  # 100 associations a page, then the rest by its cursor
    assert (target.mirror.stats.kept, target.mirror.stats.created, target.mirror.stats.archived) == (140, 10, 10)


def test_a_rejected_record_leaves_its_object_untouched(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None), (B, C1, None))
    messages = [link(A, C1), link(A, "not-an-id"), link(B, C2)]  # type: ignore[arg-type]
    target = run(box, version, dead_letters, messages, max_rejected_records=1, mirror_max_archive_fraction=1.0)
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, UNLABELED)}
    assert companies_of(box, B) == {(C2, UNLABELED)}
    assert [d["reason"] for d in read_dead_letters(dead_letters)] == [
        'to_id "not-an-id" is not a HubSpot object id: ids are positive whole numbers, as digits, integers or '
        "whole numerics below 2^53; cast the column to bigint or text"]
    assert (target.mirror.stats.skipped, target.mirror.stats.rejected_records) == (1, 1)


def test_a_record_naming_no_object_is_a_dead_letter_and_covers_nothing(hubspot, version, dead_letters):
    box = hubspot((A, C1, None))
    nameless = record(STREAM, from_object_type="contacts", to_object_type="companies", to_id=str(C2))
    run(box, version, dead_letters, [nameless], max_rejected_records=1)
    assert companies_of(box, A) == {(C1, UNLABELED)}
    assert [d["reason"].split(":")[0] for d in read_dead_letters(dead_letters)] == ["missing from_id"]


def test_a_rejected_record_counts_toward_max_rejected_records(hubspot, version, dead_letters):
    box = hubspot((A, C1, None))
    with pytest.raises(Exception, match="1 records were rejected, more than max_rejected_records"):
        run(box, version, dead_letters, [link(A, C2, association_type_id=999_999)])
    assert companies_of(box, A) == {(C1, UNLABELED)}


def test_an_objects_records_may_be_spread_across_the_input_and_a_state(hubspot, version, dead_letters, capsys):
    box = hubspot((A, C1, None), (B, C1, None))
    run(box, version, dead_letters,
        [state(0), link(A, C2), link(B, C1), state(1), link(A, C3), link(B, C4), state(2)])
    assert companies_of(box, A) == {(C2, UNLABELED), (C3, UNLABELED)}
    assert companies_of(box, B) == {(C1, UNLABELED), (C4, UNLABELED)}
    assert emitted_states(capsys.readouterr().out) == [{"position": 0}, {"position": 2}]


def test_the_mirror_wins_over_another_streams_create_for_a_covered_object(hubspot, version, dead_letters):
    box = hubspot((A, C1, None))
    run(box, version, dead_letters, [link(A, C1), link(A, C2, stream="adds")])
    assert companies_of(box, A) == {(C1, UNLABELED)}


def test_the_safety_limit_writes_nothing_of_the_mirror_and_no_later_state(hubspot, version, dead_letters, capsys):
    box = hubspot((A, C1, None), (A, C2, None), (A, C3, None), (B, C1, None))
    with pytest.raises(MirrorRefusedError, match=r"would archive 2 of the 3 to-objects .*mirror_max_archive_fraction"):
        run(box, version, dead_letters, [state(0), link(B, C4, stream="adds"), link(A, C1), state(1)])
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, UNLABELED), (C3, UNLABELED)}
    assert companies_of(box, B) == {(C1, UNLABELED), (C4, UNLABELED)}  # the other stream's write stands
    assert emitted_states(capsys.readouterr().out) == [{"position": 0}]


def test_a_max_archive_fraction_of_one_turns_the_safety_limit_off(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None), (A, C3, None))
    run(box, version, dead_letters, [link(A, C1)], mirror_max_archive_fraction=1.0)
    assert companies_of(box, A) == {(C1, UNLABELED)}


def test_a_dry_run_reads_and_plans_but_writes_nothing(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None))
    target = run(box, version, dead_letters, [link(A, C2), link(A, C3)], dry_run=True)
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, UNLABELED)}
    assert (calls(box, version, "batch/read"), writes(box)) == (1, 0)
    assert (target.mirror.stats.created, target.mirror.stats.archived) == (1, 1)


def test_a_dry_run_fails_where_the_safety_limit_would(hubspot, version, dead_letters):
    box = hubspot((A, C1, None), (A, C2, None))
    with pytest.raises(MirrorRefusedError, match="mirror_max_archive_fraction"):
        run(box, version, dead_letters, [link(A, None)], dry_run=True)
    assert writes(box) == 0


def test_hubspots_refusals_of_the_mirrors_writes_are_dead_letters(hubspot, version, dead_letters):
    box = hubspot((A, C1, None))
    target = run(box, version, dead_letters, [link(A, C1), link(A, C2), link(A, MISSING_COMPANY)],
                 max_rejected_records=1)
    assert companies_of(box, A) == {(C1, UNLABELED), (C2, UNLABELED)}
    [letter] = read_dead_letters(dead_letters)
    assert (letter["stream"], letter["action"], letter["record"]["to_id"]) == (STREAM, "create", str(MISSING_COMPANY))
    assert target.mirror.stats.refused_writes == 1


def test_one_pair_mirrored_from_both_ends_is_refused_before_writing(hubspot, version, dead_letters):
    box = hubspot((A, C1, None))
    reverse = record("back", from_object_type="companies", from_id=str(C1), to_object_type="contacts",
                     to_id=str(B))
    with pytest.raises(MirrorRefusedError, match="one pair can be mirrored from one end only"):
        run(box, version, dead_letters, [link(A, C2), reverse], stream_actions={STREAM: "mirror", "back": "mirror"})
    assert companies_of(box, A) == {(C1, UNLABELED)}
    assert writes(box) == 0


def test_v3_cannot_mirror_and_says_which_setting_to_change(hubspot, dead_letters):
    box = hubspot((A, C1, None))
    with pytest.raises(ConfigValidationError) as raised:
        run(box, "v3", dead_letters, [link(A, C2)])
    assert "Set api_version to v4 or 2026-03" in str(raised.value.errors)
    assert box.counters()["requests_total"] == 0


def test_the_summary_gives_the_mirrors_counts(hubspot, version, dead_letters, caplog):
    box = hubspot((A, C1, None), (A, C2, None), (B, C1, None))
    with caplog.at_level("INFO"):
        run(box, version, dead_letters, [link(A, C2), link(A, C3), link(B, "x")], max_rejected_records=1)  # type: ignore[arg-type]
    assert [m for m in caplog.messages if m.startswith("Mirror:")] == [
        "Mirror: 3 records read (rejected 1), 2 covered objects (skipped for rejected records 1): kept 1 "
        "to-objects, created 1 association types, archived 1 to-objects, refused by HubSpot 0"]


def test_a_dry_run_logs_each_pairs_plan_with_samples(hubspot, version, dead_letters, caplog):
    box = hubspot((A, C1, None), (A, C2, None))
    with caplog.at_level("INFO"):
        run(box, version, dead_letters, [link(A, C2), link(A, C3)], dry_run=True)
    assert [m for m in caplog.messages if m.startswith("dry run: mirror")] == [
        f"dry run: mirror stream {STREAM} plan: contacts->companies: 1 covered objects, 2 to-objects associated "
        f"now, keep 1, create 1 association types, archive 1 to-objects (e.g. create {A}->{C3} type {UNLABELED}, "
        f"archive {A}->{C1})"]
