"""Running tap-hubassoc against the sandbox, and the CRM shape the issue asks for, built by hand.

Expected values come from the sandbox's store (what "HubSpot" holds) filtered by HubSpot's documented v3
behaviour, never from the tap's own code.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from v3_view import v3_records

from hubassoc.errors import RetriesExhaustedError
from hubassoc.sandbox import Store
from tap_hubassoc.tap import TapHubAssoc

TAP = Path(sys.executable).with_name("tap-hubassoc")
TOKEN = "sandbox-token"
PER_OBJECT_PAGE = 500  # the client follows >100 objects through the per-object endpoint, 500 a page
CONTACTS_DEALS_BOTH_WAYS = [{"from": "contacts", "to": "deals"}, {"from": "deals", "to": "contacts"}]
LIST_DEALS = "GET /crm/v3/objects/deals"
V3_BATCH_READ_ENTRIES = 100  # v3 batch read returns an object's first 100 associations


def base_config(url: str, **settings: Any) -> dict[str, Any]:
    """A tap config for a sandbox; fast pacing unless a test says otherwise."""
    return {"access_token": TOKEN, "api_url": url, "requests_per_10s": 1000, **settings}


@dataclass
class TapRun:
    """One tap run's Singer messages and stderr."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str = ""

    def records(self, stream: str = "associations") -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


def run_cli(tmp_path: Path, config: dict[str, Any], *args: str, state: dict[str, Any] | None = None) -> TapRun:
    """Run the real ``tap-hubassoc`` executable and parse what it printed."""
    command = [str(TAP), "--config", str(write_json(tmp_path / "config.json", config)), *args]
    if state is not None:
        command += ["--state", str(write_json(tmp_path / "state.json", state))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return TapRun(done.returncode, parse_messages(done.stdout.splitlines()), done.stderr)


def parse_messages(lines: Iterable[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.strip().startswith("{")]


def sync_in_process(config: dict[str, Any], state: dict[str, Any] | None = None) -> TapRun:
    """A full sync through the SDK in this process (faster than the CLI where the CLI is not the point)."""
    out = io.StringIO()
    tap = TapHubAssoc(config=config, state=state or {})
    try:
        with contextlib.redirect_stdout(out):
            tap.sync_all()
    finally:
        tap.close()
    return TapRun(0, parse_messages(out.getvalue().splitlines()))


def records_until_it_gives_up(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The association records a sync emits before it stops on a request that failed all ``max_attempts``."""
    out = io.StringIO()
    tap = TapHubAssoc(config=config)
    try:
        gave_up = f"gave up after {config['max_attempts']} attempts"
        with pytest.raises(RetriesExhaustedError, match=gave_up), contextlib.redirect_stdout(out):
            tap.sync_all()
    finally:
        tap.close()
    return TapRun(1, parse_messages(out.getvalue().splitlines())).records()


def contacts_and_deals(contacts: list[int], deals: list[int]) -> Store:
    """Contacts and deals only, each contact with one deal (round robin): two from types, one pair each way."""
    store = Store()
    store.add_objects("contacts", contacts)
    store.add_objects("deals", deals)
    store.add_associations("contacts", "deals", ((c, deals[i % len(deals)]) for i, c in enumerate(contacts)))
    return store


def eventually(condition: Callable[[], bool], polls: int = 200, pause: float = 0.05) -> bool:
    """Whether ``condition`` holds within ``polls`` looks (for what a background thread does)."""
    for _ in range(polls):
        if condition():
            return True
        time.sleep(pause)
    return condition()


def while_contacts_are_held(url: str, condition: Callable[[], bool], **settings: Any) -> tuple[dict[str, Any], bool]:
    """Take the contacts partition's first record and stop there: whether ``condition`` comes true meanwhile.

    The SDK cannot reach a later partition while the first is held, so what happens then happens ahead.
    """
    tap = TapHubAssoc(config=base_config(url, **settings))
    try:
        records = iter(tap.streams["associations"].get_records({"from_object_type": "contacts"}))
        first = next(records)
        happened = eventually(condition)
        records.close()  # type: ignore[attr-defined]
    finally:
        tap.close()
    return first, happened


def row(record: dict[str, Any]) -> tuple[Any, ...]:
    """A record as a hashable row of every field, so comparisons cover all of them."""
    return tuple(sorted(record.items()))


def extra_pages(store: Store, from_type: str, to_type: str) -> int:
    """Per-object requests a full read needs: objects past 100 entries continue 500 at a time."""
    per_object: dict[str, int] = {}
    for record in v3_records(store, from_type, to_type):
        per_object[record["from_id"]] = per_object.get(record["from_id"], 0) + 1
    return sum(math.ceil((n - V3_BATCH_READ_ENTRIES) / PER_OBJECT_PAGE)
               for n in per_object.values() if n > V3_BATCH_READ_ENTRIES)


# -- the CRM of the issue: objects with 0, 1, 100, 101 and 250 associations, a custom label, primary companies --

CONTACTS = [10_000_000_001 + 7 * i for i in range(230)]  # 3 listing pages; ids beyond 32 bits, with gaps
DEALS = [20_000_000_001 + 3 * i for i in range(300)]
COMPANIES = [30_000_000_001 + i for i in range(20)]
TICKETS = [40_000_000_001 + i for i in range(10)]
DEALS_PER_CONTACT = {0: 0, 1: 1, 2: 100, 3: 101, 4: 250}  # contact index -> deals; the rest get i % 3
CONTACTS_OF_BIG_COMPANY = 130  # companies[0]: more than 100 contacts, seen from the company side


def build_crm() -> Store:
    """The CRM the tap must read exactly (contact 0 has no associations at all)."""
    store = Store()
    for kind, ids in (("contacts", CONTACTS), ("deals", DEALS), ("companies", COMPANIES), ("tickets", TICKETS)):
        store.add_objects(kind, ids)
    billing, _ = store.add_label("contacts", "companies", "Billing contact")
    primary = store.primary_type("contacts", "companies")
    assert primary is not None
    for i, contact in enumerate(CONTACTS[1:], start=1):
        for deal in DEALS[:DEALS_PER_CONTACT.get(i, i % 3)]:
            store.associate("contacts", contact, "deals", deal)
        if i % 4:
            store.associate("contacts", contact, "companies", COMPANIES[i % 20], primary.type_id)
            if i % 6 == 0:
                store.associate("contacts", contact, "companies", COMPANIES[i % 20], billing)  # visible in v3
        if i % 5 == 0:
            other = COMPANIES[(i + 1) % 20]  # not the primary: v3 hides it, label or not
            store.associate("contacts", contact, "companies", other)
            store.associate("contacts", contact, "companies", other, billing)
        if i % 7 == 1:
            store.associate("contacts", contact, "tickets", TICKETS[i % 10])
    for contact in CONTACTS[-CONTACTS_OF_BIG_COMPANY:]:
        store.associate("companies", COMPANIES[0], "contacts", contact)
    return store


# -- interrupting a run ----------------------------------------------------------------------------------------

def partition(state: dict[str, Any], from_type: str) -> dict[str, Any]:
    parts = state["bookmarks"]["associations"]["partitions"]
    return next(p for p in parts if p["context"]["from_object_type"] == from_type)


def kill_after_batches(tmp_path: Path, settings: dict[str, Any], from_type: str, batches: int) -> TapRun:
    """Start the tap, SIGKILL it once it has printed ``batches`` batch STATEs of ``from_type``."""
    command = [str(TAP), "--config", str(write_json(tmp_path / "config.json", settings))]
    lines: list[str] = []
    with (tmp_path / "stderr.txt").open("w") as stderr, subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True,
    ) as tap:
        assert tap.stdout is not None
        seen = 0
        for line in tap.stdout:
            lines.append(line)
            message = json.loads(line)
            if message["type"] == "STATE" and "after" in partition_or_empty(message["value"], from_type):
                seen += 1
                if seen == batches:
                    os.kill(tap.pid, signal.SIGKILL)
                    break
        lines += tap.stdout.read().splitlines(keepends=True)  # whatever it printed before dying
        returncode = tap.wait()
    complete = [x for x in lines if x.endswith("\n")]  # a line cut by the kill was never a message
    return TapRun(returncode, parse_messages(complete))


def partition_or_empty(state: dict[str, Any], from_type: str) -> dict[str, Any]:
    try:
        return partition(state, from_type)
    except (KeyError, StopIteration):
        return {}
