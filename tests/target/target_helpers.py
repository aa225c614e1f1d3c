"""Building Singer input, running target-hubassoc (CLI or in process) and reading back what HubSpot holds.

A module of its own (not conftest) so test modules can import it by a name no other test package uses.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA
from hubassoc.sandbox import Sandbox, Store
from target_hubassoc.target import TargetHubAssoc

REPO = Path(__file__).resolve().parents[2]
TOKEN = "sandbox-token"

# A small CRM with ids as HubSpot has them (digits; these stay small so failures read easily).
CONTACTS = list(range(101, 131))
COMPANIES = list(range(201, 211))
DEALS = list(range(301, 311))
MISSING_COMPANY = 299  # no such company: HubSpot refuses it in a 207
BILLING = "Billing contact"  # a custom label on contacts->companies (v3 name billing_contact)

CrmFactory = Callable[..., Sandbox]

# HubSpot-defined contact->company types (hubspot-associations-api.md, "Object types").
PRIMARY, UNLABELED = 1, 279


def new_store() -> Store:
    """The small CRM: contacts, companies, deals and the Billing contact label; no associations."""
    store = Store()
    store.add_objects("contacts", CONTACTS)
    store.add_objects("companies", COMPANIES)
    store.add_objects("deals", DEALS)
    store.add_label("contacts", "companies", BILLING)
    return store


def billing_type_id(box: Sandbox) -> int:
    """The account-specific id HubSpot gave the Billing contact label."""
    return box.store.add_label("contacts", "companies", BILLING)[0]


def config(box: Sandbox, dead_letters: Path, **settings: Any) -> dict[str, Any]:
    """A target config pointing at ``box``, dead letters to ``dead_letters``."""
    return {"access_token": TOKEN, "api_url": box.url, "dead_letter_path": str(dead_letters), **settings}


# -- Singer messages -------------------------------------------------------------------------------------------


def schema(stream: str = "associations", key_properties: Iterable[str] = ()) -> dict[str, Any]:
    """A SCHEMA message with the association record schema (the tap's, so its output is valid input)."""
    return {"type": "SCHEMA", "stream": stream, "schema": ASSOCIATION_SCHEMA, "key_properties": list(key_properties)}


def tap_schema(stream: str = "associations") -> dict[str, Any]:
    """The SCHEMA message tap-hubassoc sends for its associations stream."""
    return schema(stream, ASSOCIATION_KEY)


def record(stream: str = "associations", **fields: Any) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": fields}


def contact_company(
    contact: int, company: int, stream: str = "associations", **extra: Any,
) -> dict[str, Any]:
    """A RECORD asking for the association between one contact and one company."""
    return record(stream, from_object_type="contacts", from_id=str(contact), to_object_type="companies",
                  to_id=str(company), **extra)


def activate_version(stream: str = "associations", version: int = 1) -> dict[str, Any]:
    """An ACTIVATE_VERSION message, as taps send at the end of a full-table read."""
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def log_messages(log: str) -> list[str]:
    """The messages of a log's lines, without time, level and logger name."""
    return [line.split(" | ")[-1] for line in log.splitlines()]


def state(**value: Any) -> dict[str, Any]:
    """A STATE message."""
    return {"type": "STATE", "value": value}


def singer_text(messages: Iterable[dict[str, Any] | str]) -> str:
    """Messages as the target reads them, one JSON document a line (strings are sent as they are)."""
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


# -- running the target ----------------------------------------------------------------------------------------


@dataclass
class CliRun:
    """What one ``target-hubassoc`` process did: exit status, STATE lines, log and dead letters."""

    returncode: int
    states: list[dict[str, Any]]
    log: str
    dead_letters: list[dict[str, Any]]

    @property
    def last_log_lines(self) -> list[str]:
        """The last two log lines (the summary)."""
        return self.log.strip().splitlines()[-2:]

    def summary(self) -> dict[str, int]:
        """The summary's counts, by name."""
        return summary_counts(self.log)


def target_command() -> list[str]:
    """The installed console script when there is one, else the same entry point through ``python -m``."""
    script = shutil.which("target-hubassoc", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "target_hubassoc"]


def run_cli(
    settings: dict[str, Any], messages: Iterable[dict[str, Any] | str], workdir: Path, **env: str,
) -> CliRun:
    """Run the real CLI as a subprocess: config file in, Singer lines on stdin, in ``workdir``, ``env`` added."""
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(settings))
    env = {**_environment(), **env}
    done = subprocess.run(
        [*target_command(), "--config", str(config_path)], input=singer_text(messages), capture_output=True,
        text=True, cwd=workdir, env=env, timeout=120, check=False,
    )
    states = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    dead_path = Path(settings.get("dead_letter_path") or workdir / "hubassoc-rejected.jsonl")
    return CliRun(done.returncode, states, done.stderr, read_dead_letters(dead_path))


class LiveCli:
    """A ``target-hubassoc`` process fed line by line: its log is read as it comes, to wait for a line."""

    def __init__(self, settings: dict[str, Any], workdir: Path) -> None:
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(settings))
        self.process = subprocess.Popen(
            [*target_command(), "--config", str(config_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=workdir, env=_environment(),
        )
        self._log: queue.Queue[str] = queue.Queue()
        self.log_lines: list[str] = []
        self.states: list[Any] = []  # the STATE lines, read by ``finish``
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._log.put(line.rstrip("\n"))

    def send(self, messages: Iterable[dict[str, Any] | str]) -> None:
        """Write messages to the target's stdin now, keeping it open."""
        assert self.process.stdin is not None
        self.process.stdin.write(singer_text(messages))
        self.process.stdin.flush()

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first log message (after time, level and logger) matching ``pattern`` in full, once it is logged."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._log.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                seen = "\n".join(self.log_lines[-20:])
                msg = f"no log line matched {pattern!r} within {timeout} s; the last ones:\n{seen}"
                raise AssertionError(msg) from None
            self.log_lines.append(line)
            found = re.fullmatch(pattern, line.split(" | ")[-1])
            if found:
                return found

    def finish(self) -> int:
        """Close stdin, wait for the exit status; the log lines not read yet are added to ``log_lines``."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.stdout is not None
        self.states = [json.loads(line) for line in self.process.stdout.read().splitlines() if line.strip()]
        returncode = self.process.wait(timeout=120)
        self._reader.join(timeout=60)  # stderr ends with the process
        while not self._log.empty():
            self.log_lines.append(self._log.get_nowait())
        return returncode

    def __enter__(self) -> LiveCli:
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the process if a failed test left it running, and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()  # this test's own process, by its handle
            self.process.wait(timeout=60)
        self._reader.join(timeout=60)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def run_in_process(settings: dict[str, Any], messages: Iterable[dict[str, Any] | str]) -> TargetHubAssoc:
    """Run the target in this process (STATE lines go to stdout, for capsys); returns it for its counters."""
    target = TargetHubAssoc(config=settings)
    target.listen(io.StringIO(singer_text(messages)))
    return target


def read_dead_letters(path: Path) -> list[dict[str, Any]]:
    """The dead-letter file's lines, decoded; empty when no file was written."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


_SUMMARY = re.compile(
    r"Summary: (?P<read>\d+) records read: (?:would )?create[d]? (?P<created>\d+), (?:would )?archive[d]? "
    r"(?P<archived>\d+), unchanged duplicates (?P<duplicates>\d+), rejected (?P<rejected>\d+)"
)
_CALLS = re.compile(r"Summary: (?P<calls>\d+) API calls, (?P<rate_limited>\d+) 429s, (?P<retries>\d+) retries")


def summary_counts(log: str) -> dict[str, int]:
    """The numbers of the last summary in a log."""
    records = list(_SUMMARY.finditer(log))[-1]
    calls = list(_CALLS.finditer(log))[-1]
    return {k: int(v) for k, v in {**records.groupdict(), **calls.groupdict()}.items()}


# -- reading back HubSpot's state ------------------------------------------------------------------------------


def contact_company_edges(box: Sandbox) -> set[tuple[int, int, int]]:
    """Every contact->company association as (contact, company, type id)."""
    return {(e.from_id, e.to_id, e.type_id) for e in box.store.edges("contacts", "companies")}


def assert_only(box: Sandbox, expected: set[tuple[int, int, int]]) -> None:
    """HubSpot holds exactly these contact->company associations (and their inverses), nothing else anywhere."""
    assert contact_company_edges(box) == expected
    assert len(box.store.records()) == 2 * len(expected)


def write_calls(box: Sandbox) -> dict[str, int]:
    """Requests counted by the sandbox on the batch create and archive routes."""
    requests = box.counters()["requests"]
    return {route: n for route, n in requests.items() if route.endswith(("/batch/create", "/batch/archive"))}
