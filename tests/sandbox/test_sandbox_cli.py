"""``hubassoc-sandbox`` prints where it listens, serves, and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from hubassoc.sandbox.cli import _parser, config_from
from tests.support.sandbox_api import TOKEN

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"hubassoc-sandbox listening on (http://127\.0\.0\.1:\d+)\n")


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The CLI as a subprocess on a free port, and the URL it printed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "hubassoc.sandbox.cli", "--port", "0", *args]
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            line = process.stdout.readline() if process.stdout else ""
            found = LISTENING.fullmatch(line)
            assert found, f"unexpected first line {line!r}"
            yield process, found.group(1)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_cli_prints_its_url_serves_and_exits_0_on_a_signal(stop: signal.Signals) -> None:
    with running("--seed", "demo", "--token", "cli-token", "--contacts", "12") as (process, url):
        response = requests.get(f"{url}/crm/v3/objects/contacts", params={"limit": 100},
                                headers={"Authorization": "Bearer cli-token"}, timeout=10)
        assert (response.status_code, len(response.json()["results"])) == (200, 12)
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert process.stderr.read() == ""


def test_the_cli_default_token_is_sandbox_token() -> None:
    with running("--seed", "empty") as (process, url):
        response = requests.get(f"{url}/crm/v3/objects/contacts",
                                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert response.json() == {"results": []}
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_every_knob_has_a_flag() -> None:
    args = _parser().parse_args([
        "--token", "a", "--token", "b", "--token-scope", "a=crm.objects.contacts.read", "--oauth-client", "id:secret",
        "--refresh-token", "r", "--rate-limit", "150", "--window-seconds", "1", "--daily-limit", "9",
        "--latency-ms", "150", "--jitter-ms", "20", "--fault-5xx", "0.1", "--fault-429", "0.05",
        "--fault-drop", "0.01", "--fault-slow", "0.01", "--fault-malformed", "0.01", "--slow-seconds", "2",
        "--fault-5xx-statuses", "502,503", "--create-status", "201", "--retry-after", "3", "--error-context", "ids",
        "--no-shuffle", "--count-rejected", "--rotate-refresh-tokens", "--access-token-ttl", "60",
    ])
    config = config_from(args)
    assert (config.tokens, config.token_scopes, config.oauth_clients, config.refresh_tokens) == (
        frozenset({"a", "b"}), {"a": ("crm.objects.contacts.read",)}, {"id": "secret"}, frozenset({"r"}))
    assert (config.rate_limit, config.window_seconds, config.daily_limit, config.latency_ms, config.jitter_ms) == (
        150, 1.0, 9, 150.0, 20.0)
    assert (config.fault_5xx, config.fault_5xx_statuses, config.slow_seconds, config.create_status) == (
        0.1, (502, 503), 2.0, 201)
    assert (config.retry_after, config.error_context, config.shuffle_results, config.count_rejected) == (
        3.0, "ids", False, True)
    assert (config.rotate_refresh_tokens, config.access_token_ttl) == (True, 60.0)
