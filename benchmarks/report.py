"""Markdown tables for the terminal and the README, the throughput goals checked, and the machine described."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

Row = dict[str, Any]
REPO = Path(__file__).resolve().parents[1]

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "mirror": [
        ("covered_objects", "covered objects"), ("desired_associations", "desired"), ("creates", "creates"),
        ("archives", "archives"), ("calls", "calls"), ("expected_calls", "expected calls"), ("wall_s", "wall s"),
        ("lower_bound_s", "bound s"), ("binding", "bound by"), ("bound_ratio", "bound/wall"),
        ("rate_limited", "429s"), ("failed", "failed"), ("peak_rss_mb", "peak RSS MB"), ("cpu_s", "CPU s"),
    ],
    "plan": [
        ("api_version", "api"), ("directions", "directions"), ("calls", "calls"), ("calls_allowed", "calls allowed"),
        ("companies_pages", "companies pages"), ("reads", "reads"), ("wall_s", "wall s"), ("bound_s", "bound s"),
        ("wall_over_bound", "wall/bound"), ("chain_drawn_s", "listing chain as drawn s"),
        ("wall_over_drawn_bound", "wall/bound as drawn"), ("associations", "associations"), ("rate_limited", "429s"),
        ("failed", "failed"), ("peak_rss_mb", "peak RSS MB"), ("cpu_s", "CPU s"), ("load_1m", "load"),
    ],
    "peer": [
        ("contacts", "contacts"), ("companies", "companies"), ("peer_wall_s", "peer wall s"),
        ("peer_calls", "peer calls"), ("peer_records", "peer records"), ("ours_wall_s", "ours wall s"),
        ("ours_calls", "ours calls"), ("ours_associations", "ours records"),
        ("associations_both_ways", "associations both ways"), ("wall_ratio", "peer wall ÷ ours"),
        ("calls_ratio", "peer calls ÷ ours"),
    ],
    "tap": [
        ("read_first", "read first"), ("max_workers", "max_workers"), ("wall_s", "wall s"),
        ("lower_bound_s", "bound s"),
        ("binding", "bound by"), ("bound_ratio", "bound/wall"), ("window_floor_s", "window floor s"),
        ("floor_ratio", "max(bound, floor)/wall"), ("calls", "calls"), ("budget_ratio", "req/s ÷ budget"),
        ("rate_limited", "429s"), ("failed", "failed"),
        ("calls_per_1000_associations", "calls/1k assoc"), ("records_per_s", "records/s"),
        ("peak_concurrency", "peak in flight"), ("peak_rss_mb", "peak RSS MB"), ("cpu_s", "CPU s"),
        ("relisting_ratio", "relisting calls ÷ ours"), ("per_object_pattern_ratio", "per-object calls ÷ ours"),
        ("load_1m", "load"),
    ],
    "target": [
        ("max_workers", "max_workers"), ("associations", "associations"), ("wall_s", "wall s"),
        ("lower_bound_s", "bound s"), ("binding", "bound by"), ("bound_ratio", "bound/wall"),
        ("window_floor_s", "window floor s"), ("floor_ratio", "max(bound, floor)/wall"),
        ("associations_per_s", "assoc/s"), ("paced_rate_ratio", "paced assoc/s ÷ 30k"), ("calls", "calls"),
        ("rate_limited", "429s"), ("failed", "failed"), ("peak_concurrency", "peak in flight"),
        ("peak_rss_mb", "peak RSS MB"), ("cpu_s", "CPU s"), ("load_1m", "load"),
    ],
    "cpu": [
        ("plugin", "plugin"), ("record_validation", "record checks"), ("records", "records"),
        ("cpu_s", "CPU s (median)"), ("cpu_s_each_run", "CPU s, each run"),
        ("cpu_s_per_100k", "CPU s / 100k records"), ("records_per_cpu_s", "records / CPU s"),
        ("wall_s", "wall s"), ("calls", "calls"), ("peak_rss_mb", "peak RSS MB"), ("load_1m", "load"),
    ],
    "scale": [
        ("from_objects", "from-objects"), ("records", "records"), ("calls", "calls"), ("wall_s", "wall s"),
        ("peak_rss_mb", "peak RSS MB"), ("cpu_s", "CPU s"), ("load_1m", "load"),
    ],
}
TITLES = {
    "tap": "1. Tap, latency-bound", "target": "2. Target, latency-bound",
    "cpu": "3. CPU cost (no latency, no limit)", "scale": "4. Scale: tap memory",
    "mirror": "5. Target mirror, latency-bound",
    "plan": "6. Tap read plan: each pair once, from the companies side",
    "peer": "7. MeltanoLabs tap-hubspot 0.10.1 and this tap, v4, both directions",
}


def machine() -> dict[str, Any]:
    """Where and when the figures were taken."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()], "commit": _commit(),
    }


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True,
                              text=True, timeout=10, check=False)
    except OSError:
        return None
    return done.stdout.strip() or None


def table(name: str, rows: list[Row]) -> str:
    """One scenario as a Markdown table."""
    columns = COLUMNS[name]
    lines = ["| " + " | ".join(title for _, title in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(key)) for key, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    return str(value)


def goals(results: dict[str, list[Row]]) -> list[tuple[str, bool | None]]:
    """Each throughput goal and whether these results meet it (None: not measured in this run)."""
    found: list[tuple[str, bool | None]] = []
    for name in ("tap", "target"):
        rows = results.get(name)
        found.append((f"{name}: wall time within 1/0.9 of the lower bound as the issue words it (bound/wall >= 0.9)",
                      None if not rows else all(r["bound_ratio"] >= 0.9 for r in rows)))
        found.append((f"{name}: wall time within 1/0.9 of the bound under HubSpot's rolling window "
                      "(max(bound, floor)/wall >= 0.9)",
                      None if not rows else all(r["floor_ratio"] >= 0.9 for r in rows)))
        found.append((f"{name}: no failed request, 429s under 1 % of requests",
                      None if not rows else all(r["failed"] == 0 and r["rate_limited"] < 0.01 * r["calls"]
                                                for r in rows)))
    cpu = [r for r in results.get("cpu", []) if not r["record_validation"]]
    for plugin in ("tap", "target"):
        mine = [r for r in cpu if r["plugin"] == plugin]
        found.append((f"cpu: {plugin} >= 30,000 records per CPU second",
                      None if not mine else all(r["records_per_cpu_s"] >= 30_000 for r in mine)))
    sizes = results.get("scale", [])
    found.append(("scale: tap peak RSS flat (largest within 10 % of smallest)",
                  None if len(sizes) < 2 else sizes[-1]["peak_rss_mb"] <= 1.1 * sizes[0]["peak_rss_mb"]))
    return found


def failed_checks(results: dict[str, list[Row]]) -> list[str]:
    """Every non-timing fact that did not hold, named by scenario, row and check."""
    return [f"{name}[{i}].{check}" for name, rows in results.items() for i, row in enumerate(rows)
            for check, ok in row.get("checks", {}).items() if not ok]


def markdown(mode: str, info: dict[str, Any], results: dict[str, list[Row]], command: str) -> str:
    """The whole report: machine, one table per scenario, goals, and failed checks if any."""
    parts = [
        f"Benchmark `{mode}` on {info['date']}: {info['cores']} cores, Python {info['python']}, "
        f"{info['platform']}, load at start {info['load_at_start']}, commit {info['commit']}.",
        f"Reproduce with `{command}`.",
    ]
    for name, rows in results.items():
        parts += [f"### {TITLES[name]}", table(name, rows)]
    parts.append("### Goals")
    marks = {True: "met", False: "NOT met", None: "not measured"}
    parts.append("\n".join(f"- {goal}: **{marks[ok]}**" for goal, ok in goals(results)))
    failed = failed_checks(results)
    if failed:
        parts.append("### Failed checks\n" + "\n".join(f"- {name}" for name in failed))
    return "\n\n".join(parts) + "\n"
