"""``python -m benchmarks.timeline [--quick | --full] [--workers N] [--companies-first]``: where a tap run's time goes.

One run of the tap benchmark (the same CRM and sandbox settings as ``benchmarks.run``'s tap rows), with the
sandbox's request log kept whole. The table there says how long a run took; this says why: the requests of each
kind in every 10 s window (a full window holds the budget), and for each listing, a chain of pages one round
trip apart, how the time from one page to the next splits into the latency the sandbox gave, the sandbox's own
time, and the client's time from a reply to its next request, pacing waits included.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.crm import TAP_PAIRS, read_cost, tap_crm
from benchmarks.modes import MODES, Mode
from benchmarks.scenarios import run_plugin, sandbox, tap_settings
from hubassoc.sandbox import routes

WINDOW_S = 10.0
_KINDS = {  # sandbox route name -> how the timeline names its requests
    routes.LIST_OBJECTS: "list {from}",
    routes.BATCH_READ: "read {from}->{to}",
    routes.OBJECT_ASSOCIATIONS: "pages {from}->{to}",
    routes.LIST_TYPES: "types {from}->{to}",
    routes.SEARCH_OBJECTS: "count {from}",
}


@dataclass(frozen=True)
class Timeline:
    """One tap run, request by request, as the sandbox logged it."""

    wall_s: float
    calls: int
    expected_calls: int
    rate_limited: int
    log: list[dict[str, Any]]

    @property
    def start(self) -> float:
        return min(entry["started"] for entry in self.log)

    def windows(self) -> dict[str, list[int]]:
        """Requests of each kind sent in each 10 s window from the first request on."""
        counts: dict[str, Counter[int]] = {}
        for entry in self.log:
            counts.setdefault(kind(entry["route"]), Counter())[int((entry["started"] - self.start) // WINDOW_S)] += 1
        last = max((w for c in counts.values() for w in c), default=0)
        return {name: [c[w] for w in range(last + 1)] for name, c in sorted(counts.items())}

    def chains(self) -> dict[str, dict[str, float]]:
        """Per listing: its pages, when the last was answered, and how a page's round trip splits, in ms."""
        found = {}
        for name in sorted({kind(e["route"]) for e in self.log if kind(e["route"]).startswith("list ")}):
            pages = sorted((e for e in self.log if kind(e["route"]) == name), key=lambda e: e["started"])
            client = [later["started"] - page["time"] for page, later in itertools.pairwise(pages)]
            found[name] = {
                "pages": len(pages), "last_answered_s": round(pages[-1]["time"] - self.start, 1),
                "latency_ms": _ms(statistics.mean(e["latency_s"] for e in pages)),
                "sandbox_ms": _ms(statistics.mean(_sandbox_s(e) for e in pages)),
                "client_mean_ms": _ms(statistics.mean(client)) if client else 0.0,
                "client_median_ms": _ms(statistics.median(client)) if client else 0.0,
            }
        return found

    def sandbox_time(self) -> dict[str, float]:
        """The sandbox's own time on a request beyond the latency it gave, mean and largest, in ms."""
        spent = [_sandbox_s(e) for e in self.log]
        return {"mean_ms": _ms(statistics.mean(spent)), "max_ms": _ms(max(spent))}


def kind(route: str) -> str:
    """``list contacts``, ``read contacts->companies``, ``pages companies->contacts`` (per-object), ``types ...``.

    ``route`` is a key of the sandbox's request log; the sandbox's own route table says which route it is.
    """
    method, _, path = route.partition(" ")
    found = routes.match(method, path)
    if found is None or found.name not in _KINDS:
        return route
    return _KINDS[found.name].format(**found.params)


def _sandbox_s(entry: dict[str, Any]) -> float:
    return entry["time"] - entry["started"] - entry["latency_s"]


def _ms(seconds: float) -> float:
    return round(1000 * seconds, 1)


def record(mode: Mode, workers: int, *, companies_first: bool, workdir: Path) -> Timeline:
    """One tap run of ``mode``'s tap benchmark, logged whole."""
    store = tap_crm(mode.tap_contacts, mode.tap_companies)
    cost = read_cost(store, TAP_PAIRS)
    pairs = TAP_PAIRS[::-1] if companies_first else TAP_PAIRS
    settings = tap_settings(pairs, requests_per_10s=mode.tap_budget, max_workers=workers)
    with sandbox(store, rate_limit=mode.tap_budget, latency_ms=mode.latency_ms, jitter_ms=mode.jitter_ms,
                 request_log_size=2 * cost.calls) as box:
        run, counters = run_plugin(box, workdir, "tap-hubassoc", "timeline", settings, timeout_s=1800)
    if not run.ok:
        msg = f"the tap exited {run.returncode}: {run.stderr_tail}"
        raise SystemExit(msg)
    return Timeline(round(run.wall_s, 1), counters["requests_total"], cost.calls, counters["rate_limited"],
                    counters["request_log"])


def report(timeline: Timeline, title: str) -> str:
    """The timeline as Markdown."""
    windows = timeline.windows()
    width = len(next(iter(windows.values()), []))
    heads = [f"{int(w * WINDOW_S)}-{int((w + 1) * WINDOW_S)} s" for w in range(width)]
    totals = [sum(column) for column in zip(*windows.values(), strict=True)]
    lines = [
        f"{title}: {timeline.wall_s} s, {timeline.calls} calls ({timeline.expected_calls} expected), "
        f"{timeline.rate_limited} refused for the rate limit", "",
        "| requests | " + " | ".join(heads) + " |", "|---|" + "---:|" * width,
        *(f"| {name} | " + " | ".join(map(str, counts)) + " |" for name, counts in windows.items()),
        "| **all** | " + " | ".join(f"**{t}**" for t in totals) + " |", "",
        "| listing | pages | last answered at | latency given | sandbox's own time | client, reply to next page |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, chain in timeline.chains().items():
        lines.append(f"| {name} | {chain['pages']} | {chain['last_answered_s']} s | {chain['latency_ms']} ms | "
                     f"{chain['sandbox_ms']} ms | {chain['client_mean_ms']} ms mean, "
                     f"{chain['client_median_ms']} ms median |")
    own = timeline.sandbox_time()
    lines += ["", f"The sandbox's own time on a request, beyond its latency: {own['mean_ms']} ms mean, "
                  f"{own['max_ms']} ms at most."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print one run's timeline."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.timeline", description=__doc__.split("\n\n")[1])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="mode", action="store_const", const="quick", help="small sizes (default)")
    size.add_argument("--full", dest="mode", action="store_const", const="full", help="the issue's sizes")
    parser.add_argument("--workers", type=int, default=8, help="the tap's max_workers (default 8)")
    parser.add_argument("--companies-first", action="store_true", help="list the pairs the other way round")
    args = parser.parse_args(argv)
    mode = MODES[args.mode or "quick"]
    with tempfile.TemporaryDirectory(prefix="hubassoc-timeline-") as scratch:
        timeline = record(mode, args.workers, companies_first=args.companies_first, workdir=Path(scratch))
    first = "companies" if args.companies_first else "contacts"
    print(report(timeline, f"Tap `{mode.name}`, {first} first, max_workers {args.workers}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
