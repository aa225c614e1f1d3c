"""The real CLIs run as Meltano runs them, everything they leave kept in files: for the reliability tests.

Every fault, crash and bad-input test runs ``tap-hubassoc`` or ``target-hubassoc`` as a subprocess and hands
whatever the run left behind (stdout with its STATE, stderr, dead letters) to
:func:`tests.support.credentials.assert_no_secrets`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.runners import TAP, TARGET

_RECORDS_LINE = re.compile(
    r"Summary: (?P<read>\d+) records read: created (?P<created>\d+), archived (?P<archived>\d+), unchanged "
    r"duplicates (?P<duplicates>\d+), rejected (?P<rejected>\d+)(?:, of which \d+ named no input)?"
    r"(?: \(dead letters in [^)]*\))?(?:, unconfirmed (?P<unconfirmed>\d+))?"
)
_CALLS_LINE = re.compile(
    r"Summary: (?P<calls>\d+) API calls, (?P<rate_limited>\d+) 429s, (?P<retries>\d+) retries(?: \((?P<why>[^)]*)\))?$",
    re.MULTILINE,
)


@dataclass
class Summary:
    """The numbers of a run's closing summary lines (records: the target only)."""

    calls: int
    rate_limited: int
    retries: int
    retry_reasons: dict[str, int]
    records: dict[str, int] = field(default_factory=dict)


@dataclass
class Run:
    """What one plugin process did: its exit status, stdout, stderr and the dead-letter file's text."""

    returncode: int
    stdout: str
    stderr: str
    dead_letter_text: str = ""

    def lines(self) -> list[dict[str, Any]]:
        """Complete stdout lines as JSON (a line cut by a kill never reached an orchestrator)."""
        return [json.loads(line) for line in self.stdout.split("\n")[:-1] if line.strip()]

    def tap_states(self) -> list[Any]:
        """The tap's STATE values, in order."""
        return [m["value"] for m in self.lines() if m.get("type") == "STATE"]

    def tap_records(self, stream: str = "associations") -> list[dict[str, Any]]:
        """The tap's records of one stream, in order."""
        return [m["record"] for m in self.lines() if m.get("type") == "RECORD" and m.get("stream") == stream]

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead-letter file's lines, decoded."""
        return [json.loads(line) for line in self.dead_letter_text.splitlines()]

    def summary(self) -> Summary:
        """The last summary the run logged; fails the test when there is none."""
        calls = list(_CALLS_LINE.finditer(self.stderr))
        assert calls, f"no summary line in stderr:\n{self.stderr[-3000:]}"
        last = calls[-1]
        why = last["why"] or ""
        reasons = {k: int(v) for k, _, v in (part.rpartition(": ") for part in why.split(", ") if part)}
        records = [{k: int(v or 0) for k, v in m.groupdict().items()} for m in _RECORDS_LINE.finditer(self.stderr)]
        return Summary(int(last["calls"]), int(last["rate_limited"]), int(last["retries"]), reasons,
                       records[-1] if records else {})


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TAP_HUBASSOC_", "TARGET_HUBASSOC_"))}


def _finished(returncode: int, workdir: Path, name: str, dead_letters: Path | None) -> Run:
    out = (workdir / f"{name}.stdout").read_text(encoding="utf-8", errors="backslashreplace")
    err = (workdir / f"{name}.stderr").read_text(encoding="utf-8", errors="backslashreplace")
    dead = "" if dead_letters is None or not dead_letters.exists() else dead_letters.read_text(encoding="utf-8")
    return Run(returncode, out, err, dead)


@dataclass
class Started:
    """A plugin process under way; stdout and stderr go to files, so it never blocks on a full pipe."""

    process: subprocess.Popen[bytes]
    workdir: Path
    name: str
    dead_letters: Path | None

    def wait(self, timeout: float = 120) -> Run:
        """Wait for the process to end and collect what it left."""
        returncode = self.process.wait(timeout=timeout)
        return _finished(returncode, self.workdir, self.name, self.dead_letters)

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to the process (by its own pid, nothing else)."""
        self.process.send_signal(signum)


def start_plugin(
    executable: Path, workdir: Path, config: dict[str, Any], *, name: str, stdin: Path | None = None,
    state: Any = None,
) -> Started:
    """Start a plugin with a config file (and a state file, and a file on stdin) in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / f"{name}.config.json"
    config_path.write_text(json.dumps(config))
    command = [str(executable), "--config", str(config_path)]
    if state is not None:
        state_path = workdir / f"{name}.state.json"
        state_path.write_text(json.dumps(state))
        command += ["--state", str(state_path)]
    dead = config.get("dead_letter_path")
    with (workdir / f"{name}.stdout").open("wb") as out, (workdir / f"{name}.stderr").open("wb") as err:
        source = stdin.open("rb") if stdin is not None else subprocess.DEVNULL
        try:
            process = subprocess.Popen(command, stdin=source, stdout=out, stderr=err, cwd=workdir,
                                       env=_environment())
        finally:
            if stdin is not None:
                source.close()  # type: ignore[union-attr]
    return Started(process, workdir, name, Path(dead) if dead else None)


def run_tap(workdir: Path, config: dict[str, Any], *, name: str = "tap", state: Any = None) -> Run:
    """Run ``tap-hubassoc`` to the end."""
    return start_plugin(TAP, workdir, config, name=name, state=state).wait()


def write_input(path: Path, lines: Iterable[dict[str, Any] | str | bytes]) -> Path:
    """Singer input as the target reads it: one JSON document a line (str and bytes are written as they are)."""
    with path.open("wb") as out:
        for line in lines:
            if isinstance(line, bytes):
                out.write(line + b"\n")
            else:
                text = line if isinstance(line, str) else json.dumps(line)
                out.write(text.encode("utf-8", "surrogatepass") + b"\n")
    return path


def run_target(
    workdir: Path, config: dict[str, Any], lines: Iterable[dict[str, Any] | str | bytes], *, name: str = "target",
) -> Run:
    """Run ``target-hubassoc`` on ``lines`` to the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = write_input(workdir / f"{name}.input.singer", lines)
    return start_plugin(TARGET, workdir, config, name=name, stdin=source).wait()


def target_states(run: Run) -> list[Any]:
    """The STATE values a target printed (one JSON value a line)."""
    return run.lines()


def assert_clean_failure(run: Run) -> None:
    """A run that stopped did so with a message, not a traceback, and still summarised."""
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
