"""The read plan's measurements: the tap reading each pair once, from one side, and the peer comparison.

``plan``: the tap over the contacts / companies CRM, both directions and contacts -> companies alone, in v3 and
v4. Each pair is read from the companies side (v3: the only complete one; v4: the fewer objects), so a run
costs the companies listing and reads, a few types and count calls, and no contacts listing at all. The
checks: calls at most 1.1 x (companies listing pages + reads) + 8, and every association of each configured
direction emitted; the wall time is reported against max(rolling-window floor, listing chain + one read).

``peer``: MeltanoLabs tap-hubspot 0.10.1 (v4 batch read; installed from PyPI into a virtualenv of its own on
first use) and this tap with ``api_version: v4``, both directions of contacts <-> companies, one after the
other against the same sandbox CRM at 150 +- 50 ms and 100 requests / 10 s; the ratio of their wall times.
"""

from __future__ import annotations

import math
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bounds import Budget, window_floor
from benchmarks.crm import Pair, tap_crm
from benchmarks.modes import Mode
from benchmarks.processes import run_process, write_config
from benchmarks.scenarios import Row, _common, run_plugin, sandbox, tap_settings
from hubassoc.limits import LIST_PAGE_LIMIT, READ_BATCH_LIMIT
from hubassoc.sandbox import Store
from hubassoc.sandbox.config import DEFAULT_TOKEN
from hubassoc.sandbox.reads import BATCH_READ_PAGE

BOTH_WAYS: tuple[Pair, ...] = (("contacts", "companies"), ("companies", "contacts"))
TOWARD_COMPANIES: tuple[Pair, ...] = (("contacts", "companies"),)
PLAN_WORKERS = 8
CALLS_FACTOR, CALLS_SLACK = 1.1, 8  # the allowance over the companies side's own requests
WALL_FACTOR = 0.85  # the wall time is to come within 1/0.85 of the bound
PEER_PACKAGE = "meltano-tap-hubspot==0.10.1"
PEER_VENV = Path.home() / ".cache" / "hubassoc-benchmarks" / "peer-tap-hubspot-0.10.1"
PEER_WRAPPER = Path(__file__).resolve().parent / "peer_tap.py"
PEER_SIZES = {"quick": ((500, 100),), "full": ((5_000, 1_000), (20_000, 4_000))}


@dataclass(frozen=True)
class CompaniesSideCost:
    """What reading contacts <-> companies from the companies side costs, from the store and HubSpot's paging."""

    listing_pages: int
    reads: int  # batch reads, with v3's per-object pages or v4's continuation reads past 100 per object
    edges: int  # associations (one per type) of the pair, each emitted once per configured direction

    @property
    def allowance(self) -> float:
        """The issue's limit on a run's calls."""
        return CALLS_FACTOR * (self.listing_pages + self.reads) + CALLS_SLACK

    @property
    def chain(self) -> int:
        """Requests that must follow one another: the companies listing, then one read."""
        return self.listing_pages + 1


def companies_side_cost(store: Store, api_version: str) -> CompaniesSideCost:
    """The companies side's listing and reads, as v3 (per-object pages of 500) or v4 (rounds of 100) page them."""
    companies = store.object_ids("companies")
    reads = 0
    for start in range(0, len(companies), READ_BATCH_LIMIT):
        batch = companies[start:start + READ_BATCH_LIMIT]
        targets = [len({to for to, _ in store.targets("companies", c, "contacts")}) for c in batch]
        entries = [len(store.targets("companies", c, "contacts")) for c in batch]
        if api_version == "v3":  # v3 returns 100 entries, then the per-object endpoint 500 a page
            reads += 1 + sum(math.ceil((n - BATCH_READ_PAGE) / 500) for n in entries if n > BATCH_READ_PAGE)
        else:  # v4 continues every object past 100 targets in the same next read
            reads += max([1, *(math.ceil(n / BATCH_READ_PAGE) for n in targets)])
    return CompaniesSideCost(max(1, math.ceil(len(companies) / LIST_PAGE_LIMIT)), reads,
                             len(store.edges("companies", "contacts")))


def read_plan(mode: Mode, workdir: Path) -> list[Row]:
    """Both directions and contacts -> companies alone, v3 and v4, over the tap scenario's CRM."""
    store = tap_crm(mode.tap_contacts, mode.tap_companies)
    budget = Budget(mode.tap_budget)
    rows = []
    log_every_request = 100_000  # the listing's own latencies: what its chain took with the jitter drawn
    with sandbox(store, rate_limit=budget.requests, latency_ms=mode.latency_ms, jitter_ms=mode.jitter_ms,
                 request_log_size=log_every_request) as box:
        for api_version in ("v3", "v4"):
            cost = companies_side_cost(store, api_version)
            for pairs in (BOTH_WAYS, TOWARD_COMPANIES):
                bound = max(window_floor(round(cost.allowance), budget), cost.chain * mode.latency_ms / 1000)
                settings = {**tap_settings(pairs, requests_per_10s=budget.requests, max_workers=PLAN_WORKERS),
                            "read_each_pair_once": True, "api_version": api_version}
                name = f"plan-{api_version}-{len(pairs)}"
                run, counters = run_plugin(box, workdir, "tap-hubassoc", name, settings, timeout_s=3 * bound + 120)
                types = sum(len(store.types(a, b)) for a, b in pairs)
                rows.append(_plan_row(run, counters, cost, pairs, api_version, bound, types))
    return rows


def _plan_row(
    run: Any, counters: dict[str, Any], cost: CompaniesSideCost, pairs: tuple[Pair, ...], api_version: str,
    bound: float, type_records: int,
) -> Row:
    row = _common(run, counters)
    associations = cost.edges * len(pairs)
    listing = [e["latency_s"] for e in counters["request_log"] if e["route"] == "GET /crm/v3/objects/companies"]
    chain_drawn = sum(listing) + mean_latency(counters["request_log"])
    listed = {k.rsplit("/", 1)[1] for k in counters["requests"]
              if k.startswith("GET /crm/v3/objects/") and k.count("/") == 4}  # listings, not per-object pages
    row = {
        "api_version": api_version, "directions": " + ".join(f"{a}->{b}" for a, b in pairs), **row,
        "companies_pages": cost.listing_pages, "reads": cost.reads, "calls_allowed": round(cost.allowance, 1),
        "bound_s": round(bound, 2), "wall_over_bound": round(run.wall_s / max(bound, 1e-9), 3),
        "chain_drawn_s": round(chain_drawn, 2),
        "wall_over_drawn_bound": round(run.wall_s / max(bound, chain_drawn, 1e-9), 3),
        "within_wall_bound": run.wall_s <= bound / WALL_FACTOR, "associations": associations,
    }
    row["checks"] = {
        "exit_0": run.ok, "calls_within_allowance": row["calls"] <= cost.allowance,
        "only_companies_listed": listed == {"companies"},
        "associations_as_expected": run.records - type_records == associations,
        "no_failed_request": row["failed"] == 0,
    }
    return row


def mean_latency(log: list[dict[str, Any]]) -> float:
    """The latency the sandbox drew per request, on average over the run."""
    return sum(e["latency_s"] for e in log) / max(1, len(log))


# -- the peer ---------------------------------------------------------------------------------------------------


def peer_python() -> Path:
    """The peer's interpreter, in a virtualenv of its own made (and the peer installed from PyPI) on first use."""
    python = PEER_VENV / "bin" / "python"
    if not (PEER_VENV / "bin" / "tap-hubspot").exists():
        venv.create(PEER_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_PACKAGE], check=True)
    return python


def peer_comparison(mode: Mode, workdir: Path) -> list[Row]:
    """The peer and this tap (v4, both directions) on the same CRMs, one after the other; the wall-time ratio."""
    python = peer_python()
    budget = Budget(mode.tap_budget)
    rows = []
    for contacts, companies in PEER_SIZES[mode.name]:
        store = tap_crm(contacts, companies)
        edges = len(store.edges("contacts", "companies"))
        types = sum(len(store.types(a, b)) for a, b in BOTH_WAYS)
        with sandbox(store, rate_limit=budget.requests, latency_ms=mode.latency_ms, jitter_ms=mode.jitter_ms) as box:
            peer, peer_counters = _run_peer(box, workdir, python, f"peer-{contacts}")
            ours, our_counters = run_plugin(
                box, workdir, "tap-hubassoc", f"ours-{contacts}",
                {**tap_settings(BOTH_WAYS, requests_per_10s=budget.requests), "api_version": "v4",
                 "read_each_pair_once": True},
                timeout_s=1800)
        rows.append({
            "contacts": contacts, "companies": companies,
            "peer_wall_s": round(peer.wall_s, 2), "peer_calls": peer_counters["requests_total"],
            "peer_records": peer.records, "ours_wall_s": round(ours.wall_s, 2),
            "ours_calls": our_counters["requests_total"], "ours_associations": ours.records - types,
            "associations_both_ways": 2 * edges,
            "wall_ratio": round(peer.wall_s / max(ours.wall_s, 1e-9), 1),
            "calls_ratio": round(peer_counters["requests_total"] / max(1, our_counters["requests_total"]), 1),
            "checks": {"peer_exit_0": peer.ok, "ours_exit_0": ours.ok,
                       "ours_every_association": ours.records - types == 2 * edges},
        })
    return rows


def _run_peer(box: Any, workdir: Path, python: Path, name: str) -> tuple[Any, dict[str, Any]]:
    box.reset_counters()
    box.reset_rate_limits()
    config = write_config(workdir, name, {"access_token": DEFAULT_TOKEN,
                                          "associations": {"contact": ["company"], "company": ["contact"]}})
    run = run_process([str(python), str(PEER_WRAPPER), box.url, "--config", str(config)], timeout_s=1800)
    if not run.ok:
        print(f"{name}: exit {run.returncode}\n{run.stderr_tail}", file=sys.stderr)
    return run, box.counters()
