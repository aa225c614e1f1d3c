"""tap-hubassoc with api_version v4 and 2026-03 reads every association with its labels, from one seeded CRM.

One sandbox holds a CRM with non-primary companies, two custom labels and objects past 100 associations; the
tap runs once per version (v3, v4, 2026-03) and every test reads those runs. Expected rows come from the store
and HubSpot's documented behaviour: v4 shows every association with category and label; v3 shows toward
companies only the primary company, and no labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from tests.support.crm import v3_records
from tests.support.crm.labelled import PAIRS, TOWARD_COMPANIES, build_crm, v4_expected
from tests.support.runners import run_tap_in_process
from tests.support.singer import key_of, records, row
from tests.support.versions import LABELLED, PREFIXES, VERSIONS, version_tap_config


@dataclass
class Runs:
    """The CRM, and per version the tap's messages and the requests the sandbox counted."""

    store: Store
    messages: dict[str, list[dict[str, Any]]]
    requests: dict[str, dict[str, int]]

    def emitted(self, version: str, from_type: str, to_type: str) -> list[dict[str, Any]]:
        return [r for r in records(self.messages[version])
                if (r["from_object_type"], r["to_object_type"]) == (from_type, to_type)]


@pytest.fixture(scope="module")
def runs() -> Runs:
    store = build_crm()
    messages, requests = {}, {}
    # The runs follow one another within a second: search's own limit would make one retry a search. That limit
    # is tested in tests/sandbox and tests/client; here the counts are the run's own.
    with Sandbox(SandboxConfig(rate_limit=10_000, search_per_second=None), store) as box:
        for version in VERSIONS:
            box.reset_counters()
            # Each direction from its own side: v3 is compared with v4 as each shows a direction.
            messages[version] = run_tap_in_process(version_tap_config(box, version, read_each_pair_once=False)).messages
            requests[version] = box.counters()["requests"]
    return Runs(store, messages, requests)


@pytest.mark.parametrize("version", LABELLED)
@pytest.mark.parametrize(("from_type", "to_type"), PAIRS)
def test_every_pair_yields_every_association_with_category_and_label(
    runs: Runs, version: str, from_type: str, to_type: str,
) -> None:
    """One record per (key_of, type); association_type only where HubSpot defines the type (a fact v4 implies)."""
    got = [row(r) for r in runs.emitted(version, from_type, to_type)]
    assert len(got) == len(set(got)), "an key_of was emitted twice"
    assert set(got) == {row(r) for r in v4_expected(runs.store, from_type, to_type)}


@pytest.mark.parametrize("version", LABELLED)
@pytest.mark.parametrize(("from_type", "to_type"), TOWARD_COMPANIES)
def test_toward_companies_the_edges_are_a_strict_superset_of_v3s(
    runs: Runs, version: str, from_type: str, to_type: str,
) -> None:
    v3 = {key_of(r) for r in runs.emitted("v3", from_type, to_type)}
    labelled = {key_of(r) for r in runs.emitted(version, from_type, to_type)}
    assert v3 == {key_of(r) for r in v3_records(runs.store, from_type, to_type)}  # v3 is what v3 shows
    assert v3 < labelled


@pytest.mark.parametrize("version", LABELLED)
@pytest.mark.parametrize(("from_type", "to_type"), [p for p in PAIRS if p not in TOWARD_COMPANIES])
def test_elsewhere_the_edges_equal_v3s(runs: Runs, version: str, from_type: str, to_type: str) -> None:
    v3 = {key_of(r) for r in runs.emitted("v3", from_type, to_type)}
    assert v3 == {key_of(r) for r in runs.emitted(version, from_type, to_type)}
    assert v3


def test_v4_and_2026_03_emit_the_same_records(runs: Runs) -> None:
    """Only the path prefix differs between the two APIs."""
    assert records(runs.messages["v4"]) == records(runs.messages["2026-03"])


def test_ids_are_strings_of_digits(runs: Runs) -> None:
    """toObjectId arrives as a JSON number; records carry ids as strings, as HubSpot's ids travel elsewhere."""
    rows = records(runs.messages["2026-03"])
    assert all(isinstance(r["to_id"], str) and r["to_id"].isdigit() for r in rows)
    assert all(isinstance(r["from_id"], str) and r["from_id"].isdigit() for r in rows)


@pytest.mark.parametrize("version", LABELLED)
def test_association_types_come_from_the_labels_endpoint(runs: Runs, version: str) -> None:
    got = {row(r) for r in records(runs.messages[version], "association_types")}
    want = {
        row({"from_object_type": a, "to_object_type": b, "association_type_id": t.type_id,
             "association_type": t.name if t.category == "HUBSPOT_DEFINED" else None,
             "association_category": t.category, "association_label": t.label})
        for a, b in PAIRS for t in runs.store.types(a, b)
    }
    assert got == want


@pytest.mark.parametrize("version", LABELLED)
def test_requests_are_the_listing_one_labels_call_per_pair_and_batch_reads_with_continuations(
    runs: Runs, version: str,
) -> None:
    """No v3 associations endpoint is called; a pair needs one batch read per round of objects past 100. Each
    from type is listed, and counted by one search since there are several."""
    store, prefix = runs.store, PREFIXES[version]
    want: dict[str, int] = {}
    for kind in dict.fromkeys(a for a, _ in PAIRS):
        want[f"GET /crm/v3/objects/{kind}"] = max(1, math.ceil(len(store.object_ids(kind)) / 100))
        want[f"POST /crm/v3/objects/{kind}/search"] = 1
    for a, b in PAIRS:
        want[f"GET {prefix}/{a}/{b}/labels"] = 1
        objects = [len({t for t, _ in store.targets(a, i, b)}) for i in store.object_ids(a)]
        want[f"POST {prefix}/{a}/{b}/batch/read"] = max(1, *(math.ceil(n / 100) for n in objects))
    assert runs.requests[version] == want
    assert want[f"POST {prefix}/contacts/companies/batch/read"] == 2
