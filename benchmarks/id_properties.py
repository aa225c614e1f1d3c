"""Ends by email: 200,000 creates keyed by email over 50,000 distinct contacts, 150 ms, 150 requests / 10 s.

``python -m benchmarks.id_properties [--quick]``: one target run against the sandbox; prints one JSON row with
the calls (resolution reads and writes), the wall time against its lower bound and the CPU per record.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bounds import Budget, lower_bound, window_floor
from benchmarks.crm import target_crm, target_ids
from benchmarks.scenarios import QUIET_PROGRESS, Row, _common, _state, run_plugin, sandbox
from hubassoc.limits import OBJECTS_READ_LIMIT, WRITE_BATCH_LIMIT
from hubassoc.records import ASSOCIATION_SCHEMA

STREAM = "links_by_email"
READS = "POST /crm/v3/objects/contacts/batch/read"
STATE_EVERY = 10_000  # records between STATE messages, as an SDK tap sends them


def email(n: int) -> str:
    """Contact ``n``'s email as HubSpot holds it."""
    return f"contact-{n}@example.com"


def write_input(path: Path, contacts: int, companies: int, creates: int) -> dict[str, Any]:
    """``creates`` contact->company records by email, contacts cycling so each email recurs; the last STATE."""
    _, company_ids = target_ids(contacts, companies)
    state: dict[str, Any] = {}
    with path.open("w") as out:
        out.write(json.dumps({"type": "SCHEMA", "stream": STREAM, "schema": ASSOCIATION_SCHEMA,
                              "key_properties": []}) + "\n")
        for n in range(creates):
            contact, company = n % contacts, company_ids[n // contacts]
            value = email(contact).upper() if n % 3 == 0 else email(contact)  # a third in capitals, as exports
            out.write(json.dumps({"type": "RECORD", "stream": STREAM, "record": {
                "from_object_type": "contacts", "from_id": value, "to_object_type": "companies",
                "to_id": str(company)}}) + "\n")
            if (n + 1) % STATE_EVERY == 0:
                state = {"records": n + 1}
                out.write(json.dumps({"type": "STATE", "value": state}) + "\n")
    return state


def id_properties_load(workdir: Path, *, contacts: int, creates: int, budget_requests: int, latency_ms: float,
                       jitter_ms: float, workers: int = 8) -> Row:
    """One run; checks hold whatever the machine, timings are reported."""
    companies = math.ceil(creates / contacts)
    store = target_crm(contacts, companies)
    contact_ids, _ = target_ids(contacts, companies)
    store.set_properties("contacts", {c: {"email": email(n)} for n, c in enumerate(contact_ids)})
    given = workdir / "id-properties-input.jsonl"
    last_state = write_input(given, contacts, companies, creates)
    budget = Budget(budget_requests)
    drains = math.ceil(creates / (WRITE_BATCH_LIMIT * workers))
    reads_allowed = math.ceil(contacts / OBJECTS_READ_LIMIT) + drains
    expected_writes = math.ceil(creates / WRITE_BATCH_LIMIT)
    calls_floor = 1 + math.ceil(contacts / OBJECTS_READ_LIMIT) + expected_writes  # types, reads, writes
    bound = lower_bound(calls_floor, 1, workers, latency_ms / 1000, budget)
    settings = {"requests_per_10s": budget.requests, "max_workers": workers, "id_properties": {"contacts": "email"},
                "dead_letter_path": str(workdir / "dead.jsonl"), "progress_interval": QUIET_PROGRESS}
    with sandbox(store, rate_limit=budget.requests, latency_ms=latency_ms, jitter_ms=jitter_ms) as box:
        run, counters = run_plugin(box, workdir, "target-hubassoc", "id-properties", settings, stdin=given,
                                   timeout_s=3 * bound.seconds + 180)
        held = len(box.store.edges("contacts", "companies"))
    reads = counters["requests"].get(READS, 0)
    writes = sum(n for route, n in counters["requests"].items() if route.endswith("/batch/create"))
    row = {**_common(run, counters), "creates": creates, "distinct_emails": contacts, "resolution_calls": reads,
           "resolution_calls_allowed": reads_allowed, "write_calls": writes, "calls_floor": calls_floor,
           "lower_bound_s": round(bound.seconds, 2), "binding": bound.binding,
           "window_floor_s": window_floor(calls_floor, budget),
           # the rolling window's floor (request k + budget a window after request k) is the tighter bound here
           "wall_over_bound": round(run.wall_s / max(bound.seconds, window_floor(calls_floor, budget), 1e-9), 3),
           "cpu_us_per_record": round(run.cpu_s / creates * 1e6, 1)}
    row["checks"] = {
        "exit_0": run.ok, "no_failed_request": row["failed"] == 0, "hubspot_holds_every_create": held == creates,
        "resolution_calls_within_allowance": reads <= reads_allowed,
        "each_email_read_once": counters["inputs"].get(READS, 0) == contacts,
        "final_state_emitted": _state(run) == last_state, "no_dead_letters": not (workdir / "dead.jsonl").exists(),
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 creates over 5,000 contacts at 10 ms")
    args = parser.parse_args()
    sizes = (dict(contacts=5_000, creates=20_000, latency_ms=10.0, jitter_ms=3.0) if args.quick
             else dict(contacts=50_000, creates=200_000, latency_ms=150.0, jitter_ms=50.0))
    with tempfile.TemporaryDirectory(prefix="hubassoc-id-properties-") as directory:
        print(json.dumps(id_properties_load(Path(directory), budget_requests=150, **sizes)))


if __name__ == "__main__":
    main()
