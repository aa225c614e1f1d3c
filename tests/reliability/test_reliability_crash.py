"""Crashes: a target killed anywhere loses nothing; one told to stop emits no STATE ahead of its writes.

Meltano keeps the last STATE line a target printed and, on the next run, the tap resumes from the position that
STATE carries. Here the real ``target-hubassoc`` is killed with SIGKILL at a random point of a 50,000-record
load (STATE every 1,000 records, as a tap emits them), and rerun on the input after the position its last
complete STATE line acknowledges. HubSpot must end exactly as the whole input asks, and every record is
accounted for: the ones before that position by the killed run's STATE, the rest by the rerun's summary.

The tap's side (SIGKILL mid-run, resume re-reads at most one batch per pair) is tests/tap/test_tap_resume.py.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hubassoc.sandbox import Sandbox, Store
from tests.support.credentials import assert_no_secrets, private_app, start_sandbox
from tests.support.recorded_runs import Run, run_target, start_plugin, write_input
from tests.support.runners import TARGET
from tests.support.singer import DELETED, association, schema, state
from tests.support.waiting import wait_until

LOAD = 50_000
STATE_EVERY = 1_000
CONTACTS = [70_000_000_001 + i for i in range(500)]
COMPANIES = [80_000_000_001 + i for i in range(100)]
MISSING_COMPANY = 89_999_999_999  # HubSpot refuses it (207): a dead letter, in whichever run sends it
PAIR = ("contacts", "companies")
# Big batches and no latency: the load is about the plugin, not the wire.
FAST_LOAD = {"batch_size_rows": 2000, "max_workers": 4, "requests_per_10s": 1000, "max_rejected_records": LOAD}
RATE_LIMIT = 1000  # the account's limit, as the client is told (a client told more than the account has waits)


def crm() -> Store:
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.add_objects("companies", COMPANIES)
    return store


def load(seed: int) -> tuple[list[dict[str, Any]], set[tuple[int, int]], set[tuple[int, int]]]:
    """The input, the (contact, company) associations it leaves, and the records HubSpot must refuse.

    A quarter of the records archive, so the order across flushes matters; some name a company that does not
    exist. For one association the last record wins.
    """
    rng = random.Random(seed)
    lines: list[dict[str, Any]] = [schema()]
    last: dict[tuple[int, int], bool] = {}
    refused: set[tuple[int, int]] = set()
    for n in range(1, LOAD + 1):
        contact = rng.choice(CONTACTS)
        if n % 997 == 0:
            refused.add((contact, MISSING_COMPANY))
            lines.append(association(*_ends(contact, MISSING_COMPANY)))
        else:
            company = rng.choice(COMPANIES)
            archive = rng.random() < 0.25
            last[contact, company] = not archive
            lines.append(association(*_ends(contact, company), **({"_sdc_deleted_at": DELETED} if archive else {})))
        if n % STATE_EVERY == 0:
            lines.append(state(position=n))
    return lines, {edge for edge, present in last.items() if present}, refused


def _ends(contact: int, company: int) -> tuple[str, int, str, int]:
    return "contacts", contact, "companies", company


def resume_input(lines: list[dict[str, Any]], position: int) -> list[dict[str, Any]]:
    """What a tap resuming from STATE ``position`` sends: the SCHEMA, then every line after that STATE."""
    if position == 0:
        return lines
    after = next(i for i, m in enumerate(lines) if m["type"] == "STATE" and m["value"]["position"] == position)
    return [lines[0], *lines[after + 1:]]


def last_state_line(stdout: str) -> dict[str, Any] | None:
    """The last complete line a killed target printed: what Meltano would have kept."""
    complete = [line for line in stdout.split("\n")[:-1] if line.strip()]
    return json.loads(complete[-1]) if complete else None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_of_a_50000_record_load_loses_nothing(seed: int, tmp_path: Path) -> None:
    lines, expected, refused = load(seed)
    writes = random.Random(seed).randint(3, 20)  # the target makes about 30 write calls in all
    dead_letters = tmp_path / "rejected.jsonl"
    with start_sandbox(crm(), rate_limit=RATE_LIMIT) as box:
        settings = private_app(box, dead_letter_path=str(dead_letters), **FAST_LOAD)
        killed = start_plugin(TARGET, tmp_path, settings, name="killed",
                              stdin=write_input(tmp_path / "input.singer", lines))
        wait_until(lambda: box.counters()["requests_total"] >= writes, f"{writes} calls before the kill", 60)
        killed.kill(signal.SIGKILL)
        first = killed.wait()
        assert first.returncode == -signal.SIGKILL
        kept = last_state_line(first.stdout)
        position = 0 if kept is None else kept["position"]
        assert position < LOAD, "the kill must land mid-load for this test to mean anything"

        rerun = run_target(tmp_path, settings, resume_input(lines, position), name="rerun")
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert {(e.from_id, e.to_id) for e in box.store.edges(*PAIR)} == expected
        counts = rerun.summary().records
        assert counts["read"] == LOAD - position  # the killed run's STATE covers the rest
        assert counts["read"] == counts["created"] + counts["archived"] + counts["duplicates"] + counts["rejected"]
        letters = {(int(d["record"]["from_id"]), int(d["record"]["to_id"])) for d in rerun.dead_letters()}
        assert letters == refused  # the file is appended to: each refused record is in it, from either run
        assert target_lines_are_states(rerun.stdout)
        assert_no_secrets(box, first, rerun)


def target_lines_are_states(stdout: str) -> bool:
    """A target's stdout holds STATE values only, one a line, positions increasing."""
    positions = [json.loads(line)["position"] for line in stdout.splitlines()]
    return positions == sorted(positions) and positions[-1] == LOAD


# -- SIGTERM ------------------------------------------------------------------------------------------------------

CONTACTS_SMALL = [101, 102, 103, 104, 105, 106, 107, 108, 109, 110]
COMPANY, DEAL = 201, 301
HANG_SECONDS = 30  # far beyond the one-second slow reply: a target still running then is stuck


def small_crm() -> Store:
    store = Store()
    store.add_objects("contacts", CONTACTS_SMALL)
    store.add_objects("companies", [COMPANY])
    store.add_objects("deals", [DEAL])
    return store


@contextmanager
def listening(tmp_path: Path, settings: dict[str, Any]) -> Iterator[subprocess.Popen[str]]:
    """The target reading from a pipe the test keeps open, as from a tap still running; stderr to a file."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(settings))
    with (tmp_path / "stderr.txt").open("w") as stderr, subprocess.Popen(
        [str(TARGET), "--config", str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
        text=True, cwd=tmp_path,
    ) as target:
        watchdog = threading.Timer(HANG_SECONDS, target.kill)  # a hung target fails the test, not the suite
        watchdog.start()
        try:
            yield target
        finally:
            watchdog.cancel()


def send(target: subprocess.Popen[str], *messages: dict[str, Any]) -> None:
    assert target.stdin is not None
    target.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    target.stdin.flush()


def test_sigterm_during_a_flush_emits_no_state_before_its_records_are_written(tmp_path: Path) -> None:
    """The SDK's handler drains from inside the signal, mid-flush, and printed the STATE while that flush's
    batch was still on its way to HubSpot. Every STATE must follow the writes of the records before it.
    """
    with flush_under_way(tmp_path, slow_seconds=1.0) as (box, target):
        target.send_signal(signal.SIGTERM)
        assert target.stdout is not None
        printed = []
        for line in target.stdout:  # as each STATE appears, the records before it must be in HubSpot already
            printed.append(json.loads(line))
            assert set(CONTACTS_SMALL[:5]) <= companies_of(box), f"STATE {line.strip()} before its writes"
        assert target.wait(timeout=30) == 0
        stderr = (tmp_path / "stderr.txt").read_text()
        assert_left_no_secrets(box, tmp_path, printed)
        assert printed
        assert all(state == {"n": 5} for state in printed)  # the only STATE before the stop
        assert companies_of(box) == set(CONTACTS_SMALL)
        assert "Summary: 10 records read: created 10, archived 0, unchanged duplicates 0, rejected 0" in stderr
        assert "Traceback" not in stderr


def test_sigterm_during_a_flush_inside_a_record_neither_hangs_nor_emits_state_early(tmp_path: Path) -> None:
    """A record that reverses another buffered one on the same two objects flushes first, on the main thread.

    The SDK's handler, run on that same thread, drains through a worker thread that must wait for the writer
    the interrupted flush holds: it hangs (or, drained inline, prints the STATE before the flush lands).
    """
    with start_sandbox(small_crm(), slow_seconds=1.0) as box:
        box.schedule_faults("slow", 1, "POST /crm/v3/associations/contacts/companies/batch/create")
        settings = private_app(box, dead_letter_path=str(tmp_path / "rejected.jsonl"))
        creates = [association("contacts", c, "companies", COMPANY) for c in CONTACTS_SMALL[:5]]
        reverse = association("companies", COMPANY, "contacts", CONTACTS_SMALL[0], _sdc_deleted_at=DELETED)
        with listening(tmp_path, settings) as target:
            send(target, schema(), *creates, state(n=5), reverse)
            wait_until(lambda: box.counters()["faults_injected"].get("slow") == 1, "the flush to be under way")
            target.send_signal(signal.SIGTERM)
            assert target.stdout is not None
            printed = []
            for line in target.stdout:
                printed.append(json.loads(line))
                assert set(CONTACTS_SMALL[:5]) <= companies_of(box) | {CONTACTS_SMALL[0]}, "STATE before writes"
            assert target.wait(timeout=30) == 0
        assert printed
        assert all(state == {"n": 5} for state in printed)
        assert companies_of(box) == set(CONTACTS_SMALL[1:5])  # the reversal was applied last, as given
        assert "Summary: 6 records read: created 5, archived 1" in (tmp_path / "stderr.txt").read_text()
        assert_left_no_secrets(box, tmp_path, printed)


def test_a_second_sigterm_stops_at_once_without_a_state_for_the_unwritten_flush(tmp_path: Path) -> None:
    with flush_under_way(tmp_path, slow_seconds=5.0) as (box, target):
        target.send_signal(signal.SIGTERM)
        wait_until(lambda: "Received termination signal" in (tmp_path / "stderr.txt").read_text(), "the first stop")
        target.send_signal(signal.SIGTERM)
        assert target.wait(timeout=30) == 1
        assert target.stdout is not None
        assert target.stdout.read() == ""  # the flush was not confirmed: no STATE may claim it
        assert "again: stopping now" in (tmp_path / "stderr.txt").read_text()
        assert_left_no_secrets(box, tmp_path, [])


@contextmanager
def flush_under_way(tmp_path: Path, slow_seconds: float) -> Iterator[tuple[Sandbox, subprocess.Popen[str]]]:
    """A piped target whose first flush (records 1-10, a STATE after the 5th) HubSpot holds for ``slow_seconds``."""
    with start_sandbox(small_crm(), slow_seconds=slow_seconds) as box:
        box.schedule_faults("slow", 1, "POST /crm/v3/associations/contacts/companies/batch/create")
        settings = private_app(box, dead_letter_path=str(tmp_path / "rejected.jsonl"), batch_size_rows=10,
                               max_workers=1, timeout=10)
        records = [association("contacts", c, "companies", COMPANY) for c in CONTACTS_SMALL]
        with listening(tmp_path, settings) as target:
            send(target, schema(), *records[:5], state(n=5), *records[5:])  # the 10th flushes
            wait_until(lambda: box.counters()["faults_injected"].get("slow") == 1, "the flush to be under way")
            yield box, target


def assert_left_no_secrets(box: Sandbox, tmp_path: Path, printed: list[Any]) -> None:
    """The scan every reliability test runs, over what a piped target printed and logged."""
    stdout = "".join(json.dumps(state) + "\n" for state in printed)
    assert_no_secrets(box, Run(0, stdout, (tmp_path / "stderr.txt").read_text()))


def companies_of(box: Sandbox) -> set[int]:
    """The contacts HubSpot holds a company association for."""
    return {e.from_id for e in box.store.edges("contacts", "companies")}


def test_sigterm_while_waiting_for_input_writes_what_was_read_emits_its_state_and_summarises(
    tmp_path: Path,
) -> None:
    with start_sandbox(small_crm()) as box:
        settings = private_app(box, dead_letter_path=str(tmp_path / "rejected.jsonl"))
        with listening(tmp_path, settings) as target:
            send(target, schema(), *[association("contacts", c, "companies", COMPANY) for c in (101, 102)],
                 state(n=2), association("contacts", 103, "deals", DEAL))
            # the first contact->deal record makes the target fetch that pair's types: then it has read it all
            wait_until(lambda: "GET /crm/v3/associations/contacts/deals/types" in box.counters()["requests"],
                       "the last record to be read")
            target.send_signal(signal.SIGTERM)
            assert target.wait(timeout=30) == 0
            assert target.stdout is not None
            printed = [json.loads(line) for line in target.stdout.read().splitlines()]
        stderr = (tmp_path / "stderr.txt").read_text()
        assert_left_no_secrets(box, tmp_path, printed)
        assert printed == [{"n": 2}]
        assert companies_of(box) == {101, 102}
        assert {e.from_id for e in box.store.edges("contacts", "deals")} == {103}
        assert "Summary: 3 records read: created 3, archived 0, unchanged duplicates 0, rejected 0" in stderr
        assert "Traceback" not in stderr
