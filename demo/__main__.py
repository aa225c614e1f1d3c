"""`make demo`: replicate HubSpot associations into PostgreSQL, compute changes in SQL, load them back, replicate again.

Everything runs locally: a seeded sandbox HubSpot on 127.0.0.1, a PostgreSQL from a wheel on 127.0.0.1, the real
Meltano CLI and the real plugins (target-postgres, tap-postgres, and this repo's tap and target).
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from types import FrameType

from demo.pipeline import PROJECT_ROOT, SANDBOX_TOKEN, MeltanoProject
from demo.reverse_etl import (
    STREAM_ACTIONS,
    ReverseEtlTraffic,
    WarehouseCounts,
    compute_changes,
    count,
    load_changes,
)
from demo.warehouse import Database, Warehouse
from hubassoc.sandbox import Sandbox, SandboxConfig, Store, preset, seed_store

WORKDIR = PROJECT_ROOT / "output" / "demo"


def main() -> int:
    """Run the round trip and print both ends; the sandbox and PostgreSQL stop even on failure or SIGTERM."""
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    started = time.monotonic()
    store = Store()
    seed_store(store, preset("demo"))
    server = Warehouse(WORKDIR / "warehouse")
    server.stop_leftover()  # a killed demo's server must not outlive the files removed below
    shutil.rmtree(WORKDIR, ignore_errors=True)  # each demo starts from the same CRM, so from no state
    with Sandbox(SandboxConfig(tokens=frozenset({SANDBOX_TOKEN})), store) as sandbox, server:
        db = server.create_database("warehouse")
        project = MeltanoProject(sandbox.url, WORKDIR / "meltano").with_settings(db.env())
        say(f"sandbox HubSpot (demo CRM) on {sandbox.url}; PostgreSQL on {db.url}; files under {WORKDIR}")
        say("installing the Meltano plugins (first run only takes long)")
        project.install()
        sandbox_before = len(store.records())
        before = replicate_and_compute(project, db)
        show_warehouse("warehouse before", before, db)
        sandbox.reset_counters()
        say(f"reverse ETL: meltano run tap-postgres target-hubassoc (stream_actions {json.dumps(STREAM_ACTIONS)})")
        load_changes(project)
        traffic = ReverseEtlTraffic.from_counters(sandbox.counters())
        say("replication again: meltano run tap-hubassoc target-postgres")
        project.run("tap-hubassoc", "target-postgres")
        after = count(db)
        show_warehouse("warehouse after", after, db)
        show_sandbox(project, traffic, before=sandbox_before, after=len(store.records()))
    say(f"done in {time.monotonic() - started:.1f} s; sandbox and PostgreSQL stopped")
    return 0 if after.as_wanted else 1


def replicate_and_compute(project: MeltanoProject, db: Database) -> WarehouseCounts:
    """Replicate HubSpot into the warehouse and let SQL decide the changes."""
    say("warehouse replication: meltano run tap-hubassoc target-postgres")
    project.run("tap-hubassoc", "target-postgres")
    say("SQL: desired_links, then links_to_add and links_to_remove against hubspot.associations")
    compute_changes(db)
    return count(db)


def show_warehouse(title: str, counts: WarehouseCounts, db: Database) -> None:
    """The replicated table and the rule's verdict on it."""
    say(title)
    rows = [
        ("hubspot.associations current rows (_sdc_deleted_at IS NULL)", counts.current),
        ("hubspot.associations soft-deleted rows (_sdc_deleted_at set)", counts.soft_deleted),
        ("desired_links (companies -> deals of their primary contacts)", counts.desired),
        ("links_to_add (desired, not in HubSpot yet)", db.scalar("SELECT count(*) FROM links_to_add")),
        ("links_to_remove (unlabeled companies -> deals not desired)",
         db.scalar("SELECT count(*) FROM links_to_remove")),
        ("desired links still missing in the replicated table", counts.missing),
        ("links to remove still present in the replicated table", counts.unwanted),
    ]
    for label, value in rows:
        print(f"  {label:<66} {value}")


def show_sandbox(project: MeltanoProject, traffic: ReverseEtlTraffic, *, before: int, after: int) -> None:
    """What the reverse-ETL run did to the sandbox."""
    dead = project.output / "hubassoc-rejected.jsonl"
    rejected = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()] if dead.exists() else []
    say("sandbox HubSpot (reverse ETL)")
    rows = [
        ("create inputs sent", traffic.creates),
        ("archive inputs sent", traffic.archives),
        ("API calls", traffic.api_calls),
        ("429s", traffic.rate_limited),
        ("records rejected (in hubassoc-rejected.jsonl)", len(rejected)),
        ("associations in the sandbox before -> after (both directions)", f"{before} -> {after}"),
    ]
    for label, value in rows:
        print(f"  {label:<66} {value}")
    for letter in rejected:
        print(f"  rejected: {letter['reason']}")


def stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """A terminated demo unwinds like an interrupted one, so its servers stop."""
    raise SystemExit(128 + signum)


def say(text: str) -> None:
    """A progress line the user can follow."""
    print(f"[demo] {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
