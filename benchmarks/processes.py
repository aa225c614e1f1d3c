"""Running one plugin as a child process and measuring it alone: wall time, CPU (user+sys) and peak RSS.

``os.wait4`` returns the CPU time of that one child, so the figures are the plugin's own, never the benchmark
driver's nor the sandbox's (which runs in the driver). Its ``ru_maxrss`` is not: Linux records the driver's
resident size, which the child shares until it execs the plugin, so a driver holding a million-object CRM
would report that for every plugin. Peak RSS is the high-water mark of the plugin's own memory instead
(``VmHWM`` in /proc, read every few milliseconds until it exits). Stdout is counted as it streams, in large
chunks, so the driver spends almost nothing on it and keeps none of it but the last STATE line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

BIN = Path(sys.executable).parent
RECORD_MARK = b'"type":"RECORD"'
STATE_MARK = b'"type":"STATE"'
STDERR_TAIL = 4000
HWM_POLL_SECONDS = 0.01


@dataclass(frozen=True)
class ProcessRun:
    """What one plugin process did, measured from outside."""

    command: list[str]
    returncode: int
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    peak_rss_mb: float
    records: int  # RECORD messages on stdout
    lines: int
    last_state: dict[str, Any] | None  # a tap's last STATE message's value
    last_line: str  # a target's last STATE value, as targets write them
    stderr_tail: str
    timed_out: bool

    @property
    def cpu_s(self) -> float:
        """User plus system CPU seconds of the plugin process."""
        return self.cpu_user_s + self.cpu_sys_s

    @property
    def ok(self) -> bool:
        """Exited 0 within its time limit."""
        return self.returncode == 0 and not self.timed_out


class _StdoutCounter:
    """Counts lines and RECORD messages of a byte stream; keeps only the last STATE and the last line."""

    def __init__(self, stream: BinaryIO) -> None:
        self.lines = 0
        self.records = 0
        self.last_state: bytes | None = None
        self.last_line = b""
        self._stream = stream
        self._thread = threading.Thread(target=self._run, name="bench-stdout", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rest = b""
        while chunk := self._stream.read(1 << 20):
            data = rest + chunk
            end = data.rfind(b"\n") + 1
            self._count(data[:end])
            rest = data[end:]
        self._count(rest)

    def _count(self, data: bytes) -> None:
        self.lines += data.count(b"\n")
        self.records += data.count(RECORD_MARK)
        lines = data.rstrip(b"\n").rsplit(b"\n", 1)
        if lines[-1]:
            self.last_line = lines[-1]
        found = data.rfind(STATE_MARK)
        if found >= 0:
            start = data.rfind(b"\n", 0, found) + 1
            end = data.find(b"\n", found)
            self.last_state = data[start:end if end >= 0 else len(data)]

    def join(self) -> None:
        self._thread.join()


class _PeakMemory:
    """The child's ``VmHWM`` (its own peak resident size since exec), polled until it exits."""

    def __init__(self, pid: int) -> None:
        self.peak_kb = 0
        self._status = Path(f"/proc/{pid}/status")
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-hwm", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.is_set():
            self._read()
            self._done.wait(HWM_POLL_SECONDS)

    def _read(self) -> None:
        try:
            text = self._status.read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def stop(self) -> int | None:
        """The peak seen, in KiB (None where /proc does not tell)."""
        self._done.set()
        self._thread.join()
        return self.peak_kb or None


def run_process(
    command: list[str], *, stdin: Path | None = None, timeout_s: float = 600.0, cwd: Path | None = None,
) -> ProcessRun:
    """Run ``command`` to completion (killed after ``timeout_s``) and measure it."""
    with tempfile.TemporaryFile() as stderr, (stdin.open("rb") if stdin else open(os.devnull, "rb")) as given:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=given, stdout=subprocess.PIPE, stderr=stderr, cwd=cwd)
        assert process.stdout is not None
        counter = _StdoutCounter(process.stdout)
        memory = _PeakMemory(process.pid)
        timed_out = threading.Event()
        watchdog = threading.Timer(timeout_s, lambda: (timed_out.set(), process.kill()))
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
        peak_kb = memory.stop() or usage.ru_maxrss
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        counter.join()
        process.stdout.close()
        stderr.seek(0)
        tail = stderr.read().decode("utf-8", "replace")[-STDERR_TAIL:]
    state = json.loads(counter.last_state)["value"] if counter.last_state else None
    return ProcessRun(
        command=command, returncode=process.returncode, wall_s=wall, cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime, peak_rss_mb=peak_kb / 1024, records=counter.records,
        lines=counter.lines, last_state=state, last_line=counter.last_line.decode("utf-8", "replace"),
        stderr_tail=tail, timed_out=timed_out.is_set(),
    )


def plugin_command(name: str, config: Path, variant: str | None = None) -> list[str]:
    """The plugin's console script, or a benchmark variant of it (``benchmarks.variants``) run as a module."""
    if variant is None:
        return [str(BIN / name), "--config", str(config)]
    return [sys.executable, "-m", "benchmarks.variants", variant, "--config", str(config)]


def write_config(directory: Path, name: str, config: dict[str, Any]) -> Path:
    """Write a plugin config file (the sandbox's public token only: no secret is ever written)."""
    path = directory / f"{name}.json"
    path.write_text(json.dumps(config))
    return path
