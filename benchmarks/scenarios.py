"""The four throughput measurements, each a function from a mode to table rows (plain dicts, JSON-able).

Every row carries ``checks``: facts that must hold whatever the machine (exit status, calls as expected,
records as expected, no failed request). Timings are reported, never asserted.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.bounds import Budget, lower_bound, window_floor
from benchmarks.crm import (
    ARCHIVE_STREAM,
    SCALE_PAIRS,
    TAP_PAIRS,
    ReadCost,
    read_cost,
    scale_crm,
    tap_crm,
    target_crm,
    write_calls,
    write_target_input,
)
from benchmarks.modes import Mode
from benchmarks.processes import ProcessRun, plugin_command, run_process, write_config
from hubassoc.limits import WRITE_BATCH_LIMIT
from hubassoc.sandbox import Sandbox, SandboxConfig, Store
from hubassoc.sandbox.config import DEFAULT_TOKEN

Row = dict[str, Any]
UNLIMITED = 1_000_000_000  # the sandbox's rate limit when the benchmark is not about the limit
PLUGIN_MAX_BUDGET = 1000  # requests_per_10s allows at most this: the CPU and scale runs use it
QUIET_PROGRESS = 3600  # seconds between the tap's progress lines: none during a benchmark


@contextmanager
def sandbox(store: Store, **knobs: Any) -> Iterator[Sandbox]:
    """A sandbox in this process on loopback (logging one request unless told), with the cycle collector off.

    The sandbox stands in for HubSpot, so its own speed must not be what is measured. Every full collection
    walks the whole CRM, and a load adds a million associations to it: with the collector on, the sandbox's own
    time per create grew from 40 ms to 300 ms over the target run, and the target waited on it. The CRM is
    frozen out of the collector and the collector is off while the sandbox runs (reference counting still
    frees what a request leaves behind).
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        with Sandbox(SandboxConfig(**{"request_log_size": 1, **knobs}), store) as box:
            yield box
    finally:
        gc.enable()
        gc.unfreeze()


def run_plugin(
    box: Sandbox, workdir: Path, plugin: str, name: str, settings: dict[str, Any], *, timeout_s: float,
    stdin: Path | None = None, variant: str | None = None,
) -> tuple[ProcessRun, dict[str, Any]]:
    """One plugin run against a fresh rate-limit window; returns the process figures and the sandbox counters."""
    box.reset_counters()
    box.reset_rate_limits()
    config = {"access_token": DEFAULT_TOKEN, "api_url": box.url, **settings}
    command = plugin_command(plugin, write_config(workdir, name, config), variant)
    run = run_process(command, stdin=stdin, timeout_s=timeout_s)
    if not run.ok:
        print(f"{name}: exit {run.returncode}{' (timed out)' if run.timed_out else ''}\n{run.stderr_tail}")
    return run, box.counters()


def tap_settings(pairs: tuple[tuple[str, str], ...], **settings: Any) -> dict[str, Any]:
    """These runs read each direction from its own side, as ``read_cost`` counts (the read plan's: read_plan.py)."""
    return {"associations": [{"from": a, "to": b} for a, b in pairs], "progress_interval": QUIET_PROGRESS,
            "read_each_pair_once": False, **settings}


def _failed(counters: dict[str, Any]) -> int:
    """Requests that did not succeed, other than 429s (dropped connections included)."""
    statuses: dict[int, int] = {int(k): v for k, v in counters["statuses"].items()}
    answered = sum(statuses.values())
    return sum(v for s, v in statuses.items() if s >= 300 and s != 429) + counters["requests_total"] - answered


def _state(run: ProcessRun) -> Any:
    """The last STATE value a target wrote (targets write bare values, one per line)."""
    try:
        return json.loads(run.last_line)
    except ValueError:
        return None


def _common(run: ProcessRun, counters: dict[str, Any]) -> Row:
    return {
        "wall_s": round(run.wall_s, 2), "calls": counters["requests_total"], "rate_limited": counters["rate_limited"],
        "failed": _failed(counters), "peak_concurrency": counters["peak_concurrency"],
        "cpu_s": round(run.cpu_s, 2), "peak_rss_mb": round(run.peak_rss_mb, 1), "exit_code": run.returncode,
        "load_1m": round(os.getloadavg()[0], 2),
    }


# -- 1. tap, latency-bound ------------------------------------------------------------------------------------


def tap_latency(mode: Mode, workdir: Path) -> list[Row]:
    """The tap over the 50k/10k CRM at 150 +- 50 ms and 100 requests / 10 s, for each max_workers."""
    store = tap_crm(mode.tap_contacts, mode.tap_companies)
    cost = read_cost(store, TAP_PAIRS)
    budget = Budget(mode.tap_budget)
    latency = mode.latency_ms / 1000
    rows = []
    runs = [(TAP_PAIRS, w) for w in mode.tap_workers] + [(TAP_PAIRS[::-1], w) for w in mode.tap_reversed_workers]
    with sandbox(store, rate_limit=budget.requests, latency_ms=mode.latency_ms, jitter_ms=mode.jitter_ms) as box:
        for pairs, workers in runs:
            bound = lower_bound(cost.calls, cost.chain, workers, latency, budget)
            settings = tap_settings(pairs, requests_per_10s=budget.requests, max_workers=workers)
            run, counters = run_plugin(box, workdir, "tap-hubassoc", f"tap-{pairs[0][0]}-w{workers}", settings,
                                       timeout_s=3 * bound.seconds + 120)
            rows.append({"read_first": pairs[0][0], **_tap_row(run, counters, cost, bound.as_dict(), budget, workers)})
    return rows


def _tap_row(
    run: ProcessRun, counters: dict[str, Any], cost: ReadCost, bound: dict[str, Any], budget: Budget, workers: int,
) -> Row:
    row = _common(run, counters)
    associations = run.records - cost.association_types
    wall = max(run.wall_s, 1e-9)
    row = {
        "max_workers": workers, **row, "expected_calls": cost.calls,
        "requests_per_s": round(row["calls"] / wall, 2),
        "budget_ratio": round(row["calls"] / wall / budget.rate, 3),
        "lower_bound_s": round(bound["seconds"], 2), "binding": bound["binding"],
        "bound_ratio": round(bound["seconds"] / wall, 3),
        "window_floor_s": window_floor(cost.calls, budget),
        "floor_ratio": round(max(bound["seconds"], window_floor(cost.calls, budget)) / wall, 3),
        "associations": associations,
        "calls_per_1000_associations": round(1000 * row["calls"] / max(1, associations), 2),
        "records_per_s": round(associations / wall),
        "relisting_calls": cost.relisting_calls,
        "relisting_ratio": round(cost.relisting_calls / max(1, row["calls"]), 3),
        "per_object_pattern_calls": cost.per_object_pattern_calls,
        "per_object_pattern_ratio": round(cost.per_object_pattern_calls / max(1, row["calls"]), 2),
    }
    row["checks"] = {
        "exit_0": run.ok, "calls_as_expected": row["calls"] == cost.calls,
        "associations_as_expected": associations == cost.associations, "no_failed_request": row["failed"] == 0,
        "within_max_workers": row["peak_concurrency"] <= workers,
    }
    return row


# -- 2. target, latency-bound ---------------------------------------------------------------------------------


def target_latency(mode: Mode, workdir: Path) -> list[Row]:
    """The target loading creates then archives at 150 +- 50 ms and 150 requests / 10 s."""
    store = target_crm(mode.target_contacts, mode.target_companies)
    given = workdir / "target-input.jsonl"
    last_state = write_target_input(given, mode.target_contacts, mode.target_companies, mode.target_creates,
                                    mode.target_archives)
    budget = Budget(mode.target_budget)
    workers = mode.target_workers
    expected = 1 + write_calls(mode.target_creates, mode.target_archives, WRITE_BATCH_LIMIT * workers)
    bound = lower_bound(expected, 1, workers, mode.latency_ms / 1000, budget)
    settings = {"requests_per_10s": budget.requests, "max_workers": workers,
                "stream_actions": {ARCHIVE_STREAM: "archive"}, "dead_letter_path": str(workdir / "dead.jsonl")}
    with sandbox(store, rate_limit=budget.requests, latency_ms=mode.latency_ms, jitter_ms=mode.jitter_ms) as box:
        run, counters = run_plugin(box, workdir, "target-hubassoc", "target", settings, stdin=given,
                                   timeout_s=3 * bound.seconds + 120)
        held = len(box.store.edges("contacts", "companies"))
    associations = mode.target_creates + mode.target_archives
    row = {**_common(run, counters), "max_workers": workers, "associations": associations,
           "expected_calls": expected, "lower_bound_s": round(bound.seconds, 2), "binding": bound.binding,
           "bound_ratio": round(bound.seconds / max(run.wall_s, 1e-9), 3),
           "window_floor_s": window_floor(expected, budget),
           "floor_ratio": round(max(bound.seconds, window_floor(expected, budget)) / max(run.wall_s, 1e-9), 3)}
    allowance = budget.requests * WRITE_BATCH_LIMIT
    row["associations_per_s"] = round(associations / max(run.wall_s, 1e-9))
    row["paced_rate_ratio"] = (
        round((associations - allowance) / max(run.wall_s, 1e-9) / (budget.rate * WRITE_BATCH_LIMIT), 3)
        if associations > allowance else None)  # only meaningful once the first window's allowance is spent
    row["checks"] = {
        "exit_0": run.ok, "calls_as_expected": row["calls"] == expected, "no_failed_request": row["failed"] == 0,
        "hubspot_holds_creates_minus_archives": held == mode.target_creates - mode.target_archives,
        "final_state_emitted": _state(run) == last_state, "no_dead_letters": not (workdir / "dead.jsonl").exists(),
        "within_max_workers": row["peak_concurrency"] <= workers,
    }
    return [row]


# -- 3. CPU cost ----------------------------------------------------------------------------------------------


def cpu_cost(mode: Mode, workdir: Path) -> list[Row]:
    """CPU seconds per 100,000 records of each plugin, with the SDK's record checks off (as shipped) and on.

    Each row is the median of ``mode.cpu_runs`` runs, with every run's CPU seconds beside it: on a shared
    machine six runs of the same target code took 4.85 to 6.97 CPU s (benchmarks/README.md).
    """
    return _cpu_tap(mode, workdir) + _cpu_target(mode, workdir)


def _cpu_tap(mode: Mode, workdir: Path) -> list[Row]:
    store = tap_crm(mode.cpu_tap_contacts, mode.cpu_tap_companies)
    cost = read_cost(store, TAP_PAIRS)
    rows = []
    with sandbox(store, rate_limit=UNLIMITED) as box:
        for variant in (None, "tap-conforming"):
            settings = tap_settings(TAP_PAIRS, requests_per_10s=PLUGIN_MAX_BUDGET)
            runs = []
            for _ in range(mode.cpu_runs):
                run, counters = run_plugin(box, workdir, "tap-hubassoc", f"cpu-{variant or 'tap'}", settings,
                                           timeout_s=600, variant=variant)
                runs.append((run, counters, {"records_as_expected": run.records == cost.records,
                                             "calls_as_expected": counters["requests_total"] == cost.calls}))
            rows.append(_cpu_row("tap", variant is not None, cost.records, runs))
    return rows


def _cpu_target(mode: Mode, workdir: Path) -> list[Row]:
    companies = 20
    contacts = -(-mode.cpu_target_creates // companies)
    given = workdir / "cpu-target-input.jsonl"
    last_state = write_target_input(given, contacts, companies, mode.cpu_target_creates, 0)
    rows = []
    for variant in (None, "target-validating"):
        runs = []
        for _ in range(mode.cpu_runs):
            with sandbox(target_crm(contacts, companies), rate_limit=UNLIMITED) as box:
                settings = {"requests_per_10s": PLUGIN_MAX_BUDGET, "dead_letter_path": str(workdir / "cpu-dead.jsonl")}
                run, counters = run_plugin(box, workdir, "target-hubassoc", f"cpu-{variant or 'target'}", settings,
                                           timeout_s=600, stdin=given, variant=variant)
                held = len(box.store.edges("contacts", "companies"))
            runs.append((run, counters, {"hubspot_holds_every_create": held == mode.cpu_target_creates,
                                         "final_state_emitted": _state(run) == last_state}))
        rows.append(_cpu_row("target", variant is not None, mode.cpu_target_creates, runs))
    return rows


def _cpu_row(
    plugin: str, validation: bool, records: int, runs: list[tuple[ProcessRun, dict[str, Any], dict[str, bool]]],
) -> Row:
    """The run of median CPU time, every run's CPU seconds, and each check held in every run."""
    by_cpu = sorted(runs, key=lambda one: one[0].cpu_s)
    run, counters, _ = by_cpu[len(by_cpu) // 2]
    checks = {"exit_0": all(r.ok for r, _, _ in runs),
              "no_failed_request": all(_failed(c) == 0 for _, c, _ in runs)}
    for name in runs[0][2]:
        checks[name] = all(one[2][name] for one in runs)
    return {
        "plugin": plugin, "record_validation": validation, "records": records, **_common(run, counters),
        "cpu_s_each_run": [round(r.cpu_s, 2) for r, _, _ in runs],
        "cpu_s_per_100k": round(run.cpu_s / max(1, records) * 100_000, 2),
        "records_per_cpu_s": round(records / max(run.cpu_s, 1e-9)),
        "checks": checks,
    }


# -- 4. scale -------------------------------------------------------------------------------------------------


def scale(mode: Mode, workdir: Path) -> list[Row]:
    """Peak RSS of the tap as the number of from-objects grows (no latency, no limit)."""
    rows = []
    for size in mode.scale_sizes:
        store = scale_crm(size)
        cost = read_cost(store, SCALE_PAIRS)
        with sandbox(store, rate_limit=UNLIMITED) as box:
            settings = tap_settings(SCALE_PAIRS, requests_per_10s=PLUGIN_MAX_BUDGET)
            run, counters = run_plugin(box, workdir, "tap-hubassoc", f"scale-{size}", settings,
                                       timeout_s=2 * cost.calls / (PLUGIN_MAX_BUDGET / 10) + 120)
        del store
        rows.append({
            "from_objects": size, "records": run.records, **_common(run, counters),
            "checks": {"exit_0": run.ok, "records_as_expected": run.records == cost.records,
                       "calls_as_expected": counters["requests_total"] == cost.calls,
                       "no_failed_request": _failed(counters) == 0},
        })
    return rows


SCENARIOS = {"tap": tap_latency, "target": target_latency, "cpu": cpu_cost, "scale": scale}
