"""The reliability suite's tools: the real CLIs against a sandbox, what they left behind, and one scan for secrets.

Every fault, crash and bad-input test runs ``tap-hubassoc`` or ``target-hubassoc`` as a subprocess, as Meltano
does, and hands whatever the run left behind (stdout with its STATE, stderr, dead letters, the sandbox's
request log with every URL) to :func:`assert_no_secrets`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubassoc.records import ASSOCIATION_KEY, ASSOCIATION_SCHEMA
from hubassoc.sandbox import Sandbox, SandboxConfig, Store

BIN = Path(sys.executable).parent
TAP = BIN / "tap-hubassoc"
TARGET = BIN / "target-hubassoc"

# Every credential a run is given carries MARKER, so a leak of any part of one is found as well.
MARKER = "Zq7s3cr3tMark"
TOKEN = f"pat-na1-{MARKER}-private-app"
CLIENT_ID = "reliability-app"
CLIENT_SECRET = f"cs-{MARKER}-client-secret"
REFRESH_TOKEN = f"rt-{MARKER}-refresh-token"
SECRETS = (TOKEN, CLIENT_SECRET, REFRESH_TOKEN, MARKER)
# The access and rotated refresh tokens the sandbox issues (hubassoc.sandbox.auth) are secrets too.
ISSUED_SECRET = re.compile(r"sandbox-(?:access|refresh)-[0-9a-f]{32}")

# Retries fast enough for CI; attempts enough that a 30 % fault rate never exhausts them (0.3**12 < 1e-6).
FAST_RETRIES: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05, "max_retry_wait": 30, "max_attempts": 12}


def auth_knobs(**knobs: Any) -> dict[str, Any]:
    """Sandbox knobs accepting this suite's private-app token and its OAuth app."""
    return {"tokens": frozenset({TOKEN}), "oauth_clients": {CLIENT_ID: CLIENT_SECRET},
            "refresh_tokens": frozenset({REFRESH_TOKEN}), **knobs}


def start_sandbox(store: Store, **knobs: Any) -> Sandbox:
    """A started sandbox on ``store`` that knows this suite's credentials (stop it, or use it in ``with``)."""
    box = Sandbox(SandboxConfig(**auth_knobs(**knobs)), store)
    box.start()
    return box


def private_app(box: Sandbox, **settings: Any) -> dict[str, Any]:
    """Plugin settings with the private-app token, fast retries, and ``settings``."""
    return {"access_token": TOKEN, "api_url": box.url, **FAST_RETRIES, **settings}


def oauth_app(box: Sandbox, **settings: Any) -> dict[str, Any]:
    """Plugin settings with the OAuth trio instead of a token."""
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
            "api_url": box.url, **FAST_RETRIES, **settings}


# -- what a run left behind ---------------------------------------------------------------------------------------

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


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll until ``condition`` holds; fail naming ``what`` when it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def settled_counters(box: Sandbox, calls: int) -> dict[str, Any]:
    """The sandbox's counters once it has answered ``calls`` requests.

    A request the client gave up on (a slow reply) is counted when the sandbox finishes it, which can be after
    the client's run ended.
    """
    wait_for(lambda: box.counters()["requests_total"] >= calls, f"the sandbox to count {calls} requests")
    return box.counters()


# -- secrets ------------------------------------------------------------------------------------------------------


def leaks(places: dict[str, str]) -> list[str]:
    """The names of the places whose text holds a credential (any of SECRETS, or a token the sandbox issued)."""
    return [where for where, text in places.items()
            if any(secret in text for secret in SECRETS) or ISSUED_SECRET.search(text)]


def secret_places(box: Sandbox | None, *runs: Run, **texts: str) -> list[str]:
    """Where a credential appears: any run's stdout (STATE), stderr (logs, errors) or dead letters, the sandbox's
    counters and request log (every URL, query included), or ``texts`` (exception text, say).
    """
    places = dict(texts)
    for number, run in enumerate(runs):
        places |= {f"run {number} stdout (STATE)": run.stdout, f"run {number} stderr": run.stderr,
                   f"run {number} dead letters": run.dead_letter_text}
    if box is not None:
        places["sandbox counters and request log"] = json.dumps(box.counters())
        places["sandbox public config"] = json.dumps(box.config.public())
    return leaks(places)


def assert_no_secrets(box: Sandbox | None, *runs: Run, **texts: str) -> None:
    """No credential anywhere :func:`secret_places` looks; the failure names places, never a secret."""
    found = secret_places(box, *runs, **texts)
    assert not found, f"a credential appears in: {', '.join(found)}"


def assert_clean_failure(run: Run) -> None:
    """A run that stopped did so with a message, not a traceback, and still summarised."""
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


# -- association records -------------------------------------------------------------------------------------------

Key = tuple[str, str, str, str, int]


def key_of(record: dict[str, Any]) -> Key:
    """A record's association key with ids as text and the type id as an int, however they were spelt."""
    f, fi, t, ti, type_id = (record[name] for name in ASSOCIATION_KEY)
    return str(f), str(fi), str(t), str(ti), int(type_id)


def store_keys(store: Store, pairs: Iterable[tuple[str, str]]) -> Counter[Key]:
    """What HubSpot holds for ``pairs``, as keys (each once: the store is a set)."""
    return Counter(key_of(r) for a, b in pairs for r in store.records(a, b))


def schema_message(stream: str = "associations", key_properties: Iterable[str] = ()) -> dict[str, Any]:
    """A SCHEMA message with the association record schema."""
    return {"type": "SCHEMA", "stream": stream, "schema": ASSOCIATION_SCHEMA, "key_properties": list(key_properties)}


def record_message(stream: str = "associations", **fields: Any) -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": fields}


def association(from_type: str, from_id: int, to_type: str, to_id: int, **extra: Any) -> dict[str, Any]:
    """A RECORD asking for one association (extra fields, e.g. ``_sdc_deleted_at``, as given)."""
    return record_message(from_object_type=from_type, from_id=str(from_id), to_object_type=to_type,
                          to_id=str(to_id), **extra)


def state_message(**value: Any) -> dict[str, Any]:
    """A STATE message."""
    return {"type": "STATE", "value": value}


DELETED = "2026-01-01T00:00:00+00:00"  # a non-null _sdc_deleted_at: the record asks for an archive
