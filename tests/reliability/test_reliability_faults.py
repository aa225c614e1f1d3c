"""Faults the sandbox injects over real HTTP: both plugins end exact, retry each fault once, and say so.

For each fault the real ``tap-hubassoc`` reads a CRM and the real ``target-hubassoc`` writes a load. Whatever
was injected, the tap's output is every association exactly once, HubSpot ends exactly as the input asks,
every STATE the target printed is one it was given, in order, ending with the last; each injected fault costs
exactly one retry (so retries are bounded by the faults, not by luck), and the run's closing summary counts
the calls, 429s and retries by reason as the sandbox counted them. No credential appears anywhere.

HubSpot facts (hubspot-associations-api.md): 429 (TEN_SECONDLY_ROLLING), 423 ("wait at least 2 s") and 500,
502, 503, 504, 521, 523, 524 are transient and retried; a reply that never arrives whole is retried too,
since every endpoint used is idempotent.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Store
from tests.support.credentials import private_app, secret_places, start_sandbox
from tests.support.crm.reliability import (
    TARGET_PAIR,
    contact_deal_edges,
    tap_crm,
    tap_expected,
    tap_settings,
    target_crm,
    target_settings,
)
from tests.support.recorded_runs import Run, Summary, run_tap, run_target, target_states
from tests.support.sandbox_api import settled_counters
from tests.support.singer import key_of

TAP_READ = "POST /crm/v3/associations/contacts/deals/batch/read"
TAP_LIST = "GET /crm/v3/objects/contacts"
TARGET_CREATE = f"POST /crm/v3/associations/{TARGET_PAIR[0]}/{TARGET_PAIR[1]}/batch/create"
TARGET_ARCHIVE = f"POST /crm/v3/associations/{TARGET_PAIR[0]}/{TARGET_PAIR[1]}/batch/archive"
# Short windows so a run spans several of them; the client's budget is the sandbox's limit, as configured
# for a real account (requests_per_10s scaled to the window: 300 per 10 s is 15 per 0.5 s).
WINDOW = {"window_seconds": 0.5}
CLIENT_WINDOW = {"window_seconds": 0.5, "requests_per_10s": 300}
# Random faults are drawn in request order from this seed, so their number is the same every run; this one
# puts several among the first 20 requests (a run makes 30 to 60).
SEED = {"fault_seed": 7}


@dataclass(frozen=True)
class Fault:
    """One row of the fault table: sandbox knobs, faults scheduled on a route, client settings to match."""

    name: str
    knobs: dict[str, Any] = field(default_factory=dict)
    tap_schedule: tuple[tuple[str, int, str | None], ...] = ()
    target_schedule: tuple[tuple[str, int, str | None], ...] = ()
    client: dict[str, Any] = field(default_factory=dict)


FAULTS = [
    Fault("429 on 30 % of requests, over several 0.5 s windows",
          {"fault_429": 0.3, "rate_limit": 15, **WINDOW, **SEED}, client=CLIENT_WINDOW),
    Fault("5xx (500/502/503/504/521/523/524) on 10 % of requests", {"fault_5xx": 0.1, **SEED}),
    Fault("connection dropped before any reply, 10 % of requests", {"fault_drop": 0.1, **SEED}),
    Fault("connection cut mid-response (the server did the work)",
          tap_schedule=(("cut", 2, TAP_READ), ("cut", 1, TAP_LIST)),
          target_schedule=(("cut", 2, TARGET_CREATE), ("cut", 1, TARGET_ARCHIVE))),
    Fault("reply slower than the client timeout", {"slow_seconds": 2.5},
          tap_schedule=(("slow", 1, TAP_READ),), target_schedule=(("slow", 1, TARGET_CREATE),),
          client={"timeout": 2}),
    Fault("malformed JSON reply (200, truncated body)",
          tap_schedule=(("malformed", 2, TAP_READ), ("malformed", 1, TAP_LIST)),
          target_schedule=(("malformed", 3, TARGET_CREATE),)),
    Fault("423 locked", tap_schedule=(("423", 1, TAP_READ),), target_schedule=(("423", 1, TARGET_CREATE),)),
    Fault("524 origin timeout", tap_schedule=(("5xx:524", 3, None),), target_schedule=(("5xx:524", 3, None),)),
]


def retry_reasons(injected: dict[str, int]) -> dict[str, int]:
    """How the client's summary names the retry each injected fault causes."""
    names = {"429": "429", "423": "423", "drop": "connection failed", "cut": "connection failed",
             "slow": "timed out", "malformed": "malformed reply"}
    reasons: Counter[str] = Counter()
    for kind, count in injected.items():
        reasons[names.get(kind, kind.removeprefix("5xx:"))] += count
    return dict(reasons)


@dataclass
class Outcome:
    """What one plugin run under one fault left: the run, the sandbox's counters and store, secret leaks."""

    run: Run
    counters: dict[str, Any]
    store: Store
    leaks: list[str]


def under_fault(fault: Fault, plugin: str, workdir: Path) -> Outcome:
    """Run one plugin against a fresh sandbox with the fault; everything is collected before the sandbox stops."""
    store, load = (tap_crm(), None) if plugin == "tap" else target_crm()
    with start_sandbox(store, **fault.knobs) as box:
        for kind, count, route in fault.tap_schedule if plugin == "tap" else fault.target_schedule:
            box.schedule_faults(kind, count, route)
        if load is None:
            run = run_tap(workdir, private_app(box, **tap_settings(max_workers=4, **fault.client)))
        else:
            settings = private_app(box, dead_letter_path=str(workdir / "rejected.jsonl"),
                                   **target_settings(**fault.client))
            run = run_target(workdir, settings, load.lines)
        calls = run.summary().calls if run.returncode == 0 else 0
        counters = settled_counters(box, calls)
        return Outcome(run, counters, store, secret_places(box, run))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Outcome]:
    """Every (fault, plugin) run, three at a time: most of a run is waiting (backoff, a 423's 2 s, a timeout)."""
    cases = [(fault.name, plugin) for fault in FAULTS for plugin in ("tap", "target")]
    by_name = {fault.name: fault for fault in FAULTS}
    with ThreadPoolExecutor(3) as pool:
        futures = {case: pool.submit(under_fault, by_name[case[0]], case[1], tmp_path_factory.mktemp("fault"))
                   for case in cases}
        return {case: future.result() for case, future in futures.items()}


def assert_faults_were_counted(outcome: Outcome) -> Summary:
    """Exactly one retry per injected fault, and the summary agrees with what reached the sandbox."""
    run, counters = outcome.run, outcome.counters
    assert run.returncode == 0, run.stderr[-3000:]
    summary = run.summary()
    injected = counters["faults_injected"]
    assert sum(injected.values()) > 0, "no fault was injected: this run proves nothing"
    assert summary.retries == sum(injected.values())
    assert summary.retry_reasons == retry_reasons(injected)
    assert summary.calls == counters["requests_total"]
    assert summary.rate_limited == counters["rate_limited"] == injected.get("429", 0)
    return summary


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_tap_output_is_exact_under_fault(fault: Fault, outcomes: dict[tuple[str, str], Outcome]) -> None:
    outcome = outcomes[fault.name, "tap"]
    assert_faults_were_counted(outcome)
    assert Counter(key_of(r) for r in outcome.run.tap_records()) == tap_expected(outcome.store)
    final = outcome.run.tap_states()[-1]["bookmarks"]["associations"]["partitions"]
    assert all(set(p) == {"context"} for p in final)  # a completed run leaves no position to resume from
    assert outcome.leaks == []


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_target_end_state_is_exact_under_fault(fault: Fault, outcomes: dict[tuple[str, str], Outcome]) -> None:
    outcome = outcomes[fault.name, "target"]
    _, load = target_crm()
    summary = assert_faults_were_counted(outcome)
    assert contact_deal_edges(outcome.store) == load.after
    counts = summary.records
    assert (counts["read"], counts["archived"], counts["rejected"], counts["unconfirmed"]) == (
        load.records, load.archives, 0, 0)
    # a repeat is an unchanged duplicate when its first record waits in the same flush, else created again
    assert counts["created"] + counts["duplicates"] == load.creates + load.repeats
    assert_states_are_the_inputs_in_order(outcome.run, load.lines)
    assert outcome.leaks == []


def assert_states_are_the_inputs_in_order(run: Run, lines: list[dict[str, Any]]) -> None:
    """Each STATE printed is one the input carried, none twice or backwards, the last one last."""
    given = [m["value"] for m in lines if m["type"] == "STATE"]
    printed = target_states(run)
    assert printed, "no STATE was printed"
    positions = [given.index(s) for s in printed]
    assert positions == sorted(set(positions))
    assert printed[-1] == given[-1]
