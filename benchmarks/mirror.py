"""The mirror benchmark: target-hubassoc mirrors 50,000 contacts' companies (200,000 desired
associations, 10 % of them changes) at 150 +- 50 ms and 150 requests / 10 s, as a real process.

HubSpot holds four companies per contact; for every fifth contact the warehouse wants its first company replaced
by another, so the run must read every covered contact (1,000 a call), create 1 and archive 1 association per
changed contact, and touch nothing else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bounds import Budget, lower_bound, window_floor
from benchmarks.crm import target_ids
from benchmarks.modes import Mode
from benchmarks.scenarios import _common, _state, run_plugin, sandbox
from hubassoc.limits import READ_BATCH_LIMIT, WRITE_BATCH_LIMIT
from hubassoc.records import ASSOCIATION_SCHEMA
from hubassoc.sandbox import Store

MIRROR_STREAM = "desired_links"
COMPANIES_PER_CONTACT = 4
CHANGED_EVERY = 5  # one contact in five gets one company replaced: 2 changes of 20 associations, 10 %
UNLABELED = 279  # contact->company (hubspot-associations-api.md, "Object types")


@dataclass(frozen=True)
class MirrorSize:
    """Covered contacts and the sandbox's latency, per mode."""

    contacts: int
    latency_ms: float
    jitter_ms: float


SIZES = {"full": MirrorSize(50_000, 150.0, 50.0), "quick": MirrorSize(2_000, 10.0, 3.0)}


@dataclass(frozen=True)
class MirrorCase:
    """What HubSpot holds, what the warehouse wants, and the calls that must get from one to the other."""

    store: Store
    desired: set[tuple[int, int]]
    contacts: int
    changed: int

    @property
    def expected_calls(self) -> int:
        """The labels call, one read per 1,000 contacts (four companies each: no paging), creates, archives."""
        reads = math.ceil(self.contacts / READ_BATCH_LIMIT)
        return 1 + reads + 2 * math.ceil(self.changed / WRITE_BATCH_LIMIT)


def mirror_case(contacts: int, path: Path) -> MirrorCase:
    """The CRM (four companies a contact) and the desired set written to ``path`` as Singer input."""
    contact_ids, company_ids = target_ids(contacts, COMPANIES_PER_CONTACT + 1)
    store = Store()
    store.add_objects("contacts", contact_ids)
    store.add_objects("companies", company_ids)
    current = [(c, company_ids[k]) for c in contact_ids for k in range(COMPANIES_PER_CONTACT)]
    store.add_associations("contacts", "companies", current)
    desired: set[tuple[int, int]] = set()
    changed = 0
    with path.open("w") as out:
        out.write(_line({"type": "SCHEMA", "stream": MIRROR_STREAM, "schema": ASSOCIATION_SCHEMA,
                         "key_properties": []}))
        for n, contact in enumerate(contact_ids):
            wanted = company_ids[:COMPANIES_PER_CONTACT]
            if n % CHANGED_EVERY == 0:
                wanted = [*wanted[1:], company_ids[COMPANIES_PER_CONTACT]]
                changed += 1
            for company in wanted:
                desired.add((contact, company))
                out.write(_line({"type": "RECORD", "stream": MIRROR_STREAM, "record": {
                    "from_object_type": "contacts", "from_id": str(contact), "to_object_type": "companies",
                    "to_id": str(company), "association_type_id": UNLABELED}}))
        out.write(_line({"type": "STATE", "value": {"mirrored": contacts}}))
    return MirrorCase(store, desired, contacts, changed)


def mirror_latency(mode: Mode, workdir: Path) -> list[dict[str, Any]]:
    """One mirror run as a process; calls, wall time against its lower bound, peak RSS."""
    size = SIZES[mode.name]
    given = workdir / "mirror-input.jsonl"
    case = mirror_case(size.contacts, given)
    budget = Budget(mode.target_budget)
    workers = mode.target_workers
    expected = case.expected_calls
    bound = lower_bound(expected, 3, workers, size.latency_ms / 1000, budget)  # labels, then a read, then a write
    settings = {"requests_per_10s": budget.requests, "max_workers": workers, "api_version": "v4",
                "stream_actions": {MIRROR_STREAM: "mirror"}, "dead_letter_path": str(workdir / "dead.jsonl")}
    with sandbox(case.store, rate_limit=budget.requests, latency_ms=size.latency_ms, jitter_ms=size.jitter_ms) as box:
        run, counters = run_plugin(box, workdir, "target-hubassoc", "mirror", settings, stdin=given,
                                   timeout_s=3 * bound.seconds + 300)
        held = {(e.from_id, e.to_id) for e in box.store.edges("contacts", "companies")}
    desired = len(case.desired)
    row = {**_common(run, counters), "max_workers": workers, "covered_objects": case.contacts,
           "desired_associations": desired, "creates": case.changed, "archives": case.changed,
           "expected_calls": expected, "lower_bound_s": round(bound.seconds, 2), "binding": bound.binding,
           "bound_ratio": round(bound.seconds / max(run.wall_s, 1e-9), 3),
           "window_floor_s": window_floor(expected, budget)}
    row["checks"] = {
        "exit_0": run.ok, "calls_as_expected": row["calls"] == expected, "no_failed_request": row["failed"] == 0,
        "hubspot_holds_the_desired_set": held == case.desired, "final_state_emitted": _state(run) is not None,
        "no_dead_letters": not (workdir / "dead.jsonl").exists(),
        "within_max_workers": row["peak_concurrency"] <= workers,
    }
    return [row]


def _line(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":")) + "\n"
