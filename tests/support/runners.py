"""Running tap-hubassoc and target-hubassoc against a sandbox: their settings, the real CLIs (output captured, or
fed line by line), or the SDK in this process; and reading what a run printed and logged.

The reliability tests' runs, with every output kept in files, are in tests.support.recorded_runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hubassoc.errors import RetriesExhaustedError
from hubassoc.sandbox import Sandbox
from tap_hubassoc.tap import TapHubAssoc
from target_hubassoc.target import TargetHubAssoc
from tests.support.dead_letters import read_dead_letters
from tests.support.sandbox_api import TOKEN
from tests.support.singer import parse_messages, records, singer_text
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TAP = BIN / "tap-hubassoc"
TARGET = BIN / "target-hubassoc"


def tap_config(url: str, **settings: Any) -> dict[str, Any]:
    """A tap config for a sandbox; fast pacing unless a test says otherwise."""
    return {"access_token": TOKEN, "api_url": url, "requests_per_10s": 1000, **settings}


def target_config(box: Sandbox, dead_letters: Path, **settings: Any) -> dict[str, Any]:
    """A target config pointing at ``box``, dead letters to ``dead_letters``."""
    return {"access_token": TOKEN, "api_url": box.url, "dead_letter_path": str(dead_letters), **settings}


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path


# -- the tap ------------------------------------------------------------------------------------------------------


@dataclass
class TapRun:
    """One tap run's Singer messages and stderr."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str = ""

    def records(self, stream: str = "associations") -> list[dict[str, Any]]:
        return records(self.messages, stream)

    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]


def run_tap_cli(tmp_path: Path, config: dict[str, Any], *args: str, state: dict[str, Any] | None = None) -> TapRun:
    """Run the real ``tap-hubassoc`` executable and parse what it printed."""
    command = [str(TAP), "--config", str(write_json(tmp_path / "config.json", config)), *args]
    if state is not None:
        command += ["--state", str(write_json(tmp_path / "state.json", state))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return TapRun(done.returncode, parse_messages(done.stdout.splitlines()), done.stderr)


def run_tap_in_process(config: dict[str, Any], state: dict[str, Any] | None = None) -> TapRun:
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


def while_contacts_are_held(url: str, condition: Callable[[], bool], **settings: Any) -> tuple[dict[str, Any], bool]:
    """Take the contacts partition's first record and stop there: whether ``condition`` comes true meanwhile.

    The SDK cannot reach a later partition while the first is held, so what happens then happens ahead.
    """
    tap = TapHubAssoc(config=tap_config(url, **settings))
    try:
        records = iter(tap.streams["associations"].get_records({"from_object_type": "contacts"}))
        first = next(records)
        happened = eventually(condition)
        records.close()  # type: ignore[attr-defined]
    finally:
        tap.close()
    return first, happened



# -- interrupting the tap -----------------------------------------------------------------------------------------

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


# -- the target ---------------------------------------------------------------------------------------------------


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


def run_target_cli(
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


def run_target_in_process(settings: dict[str, Any], messages: Iterable[dict[str, Any] | str]) -> TargetHubAssoc:
    """Run the target in this process (STATE lines go to stdout, for capsys); returns it for its counters."""
    target = TargetHubAssoc(config=settings)
    target.listen(io.StringIO(singer_text(messages)))
    return target


def log_messages(log: str) -> list[str]:
    """The messages of a log's lines, without time, level and logger name."""
    return [line.split(" | ")[-1] for line in log.splitlines()]


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
