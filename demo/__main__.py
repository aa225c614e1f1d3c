"""`make demo`: replicate HubSpot associations to files, then apply a sample of changes back, on a sandbox.

Everything runs locally: a seeded sandbox HubSpot on 127.0.0.1, the real Meltano CLI, the real plugins.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from demo.make_changes import CHANGES_PATH
from demo.pipeline import PROJECT_ROOT, SANDBOX_TOKEN, MeltanoProject
from hubassoc.sandbox import Sandbox, SandboxConfig, Store, preset, seed_store


def main() -> int:
    """Run both directions and print what reached the sandbox; the sandbox stops even on failure."""
    store = Store()
    seed_store(store, preset("demo"))
    started = time.monotonic()
    with Sandbox(SandboxConfig(tokens=frozenset({SANDBOX_TOKEN})), store) as sandbox:
        workdir = PROJECT_ROOT / "output" / "demo"
        shutil.rmtree(workdir, ignore_errors=True)  # each demo starts from the same CRM, so from no state
        project = MeltanoProject(sandbox.url, workdir)
        say(f"sandbox HubSpot with the demo CRM on {sandbox.url}; state and files under {workdir}")
        say("installing the Meltano plugins (first run only takes long)")
        project.install()
        before = len(store.records())
        say("warehouse replication: meltano run tap-hubassoc target-csv")
        project.run("tap-hubassoc", "target-csv")
        read = count_csv_rows(project.output / "warehouse" / "associations.csv")
        say(f"reverse ETL: meltano run tap-association-changes target-hubassoc ({CHANGES_PATH.name})")
        project.run("tap-association-changes", "target-hubassoc", full_refresh=True)
        print_summary(project, sandbox.counters(), read=read, before=before, after=len(store.records()),
                      seconds=time.monotonic() - started)
    return 0


def count_csv_rows(path: Path) -> int:
    """Rows under the header of a CSV the loader wrote."""
    with path.open(encoding="utf-8") as lines:
        return max(0, sum(1 for _ in lines) - 1)


def print_summary(project: MeltanoProject, counters: dict, *, read: int, before: int, after: int,
                  seconds: float) -> None:
    """What the sandbox saw, which is what HubSpot would have seen."""
    inputs = counters["inputs"]
    created = sum(n for route, n in inputs.items() if route.endswith("/batch/create"))
    archived = sum(n for route, n in inputs.items() if route.endswith("/batch/archive"))
    dead = project.output / "hubassoc-rejected.jsonl"
    rejected = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()] if dead.exists() else []
    say("summary")
    rows = [
        ("associations read (rows in warehouse/associations.csv)", read),
        ("create inputs sent (one refused by HubSpot)", created),
        ("archive inputs sent", archived),
        ("records rejected (in hubassoc-rejected.jsonl)", len(rejected)),
        ("associations in the sandbox before -> after (both directions)", f"{before} -> {after}"),
        ("API calls", counters["requests_total"]),
        ("429s", counters["rate_limited"]),
        ("seconds", f"{seconds:.1f}"),
    ]
    for label, value in rows:
        print(f"  {label:<66} {value}")
    for letter in rejected:
        print(f"  rejected: {letter['reason']}")
    print(f"  files: {project.output}")


def say(text: str) -> None:
    """A progress line the user can follow."""
    print(f"[demo] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
