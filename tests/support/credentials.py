"""Credentials the reliability tests give the plugins, a sandbox that accepts them, and one scan for secrets.

Not the sandbox's default TOKEN (tests.support.sandbox_api): every credential here carries MARKER, so a leak of
any part of one is found wherever a run left text behind.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from hubassoc.sandbox import Sandbox, SandboxConfig, Store

if TYPE_CHECKING:
    from tests.support.recorded_runs import Run

# Every credential a run is given carries MARKER, so a leak of any part of one is found as well.
MARKER = "Zq7s3cr3tMark"
MARKED_TOKEN = f"pat-na1-{MARKER}-private-app"  # not sandbox_api.TOKEN: it must carry MARKER
CLIENT_ID = "reliability-app"
CLIENT_SECRET = f"cs-{MARKER}-client-secret"
REFRESH_TOKEN = f"rt-{MARKER}-refresh-token"
SECRETS = (MARKED_TOKEN, CLIENT_SECRET, REFRESH_TOKEN, MARKER)
# The access and rotated refresh tokens the sandbox issues (hubassoc.sandbox.auth) are secrets too.
ISSUED_SECRET = re.compile(r"sandbox-(?:access|refresh)-[0-9a-f]{32}")

# Retries fast enough for CI; attempts enough that a 30 % fault rate never exhausts them (0.3**12 < 1e-6).
FAST_RETRIES: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05, "max_retry_wait": 30, "max_attempts": 12}


def auth_knobs(**knobs: Any) -> dict[str, Any]:
    """Sandbox knobs accepting this suite's private-app token and its OAuth app."""
    return {"tokens": frozenset({MARKED_TOKEN}), "oauth_clients": {CLIENT_ID: CLIENT_SECRET},
            "refresh_tokens": frozenset({REFRESH_TOKEN}), **knobs}


def start_sandbox(store: Store, **knobs: Any) -> Sandbox:
    """A started sandbox on ``store`` that knows this suite's credentials (stop it, or use it in ``with``)."""
    box = Sandbox(SandboxConfig(**auth_knobs(**knobs)), store)
    box.start()
    return box


def private_app(box: Sandbox, **settings: Any) -> dict[str, Any]:
    """Plugin settings with the private-app token, fast retries, and ``settings``."""
    return {"access_token": MARKED_TOKEN, "api_url": box.url, **FAST_RETRIES, **settings}


def oauth_app(box: Sandbox, **settings: Any) -> dict[str, Any]:
    """Plugin settings with the OAuth trio instead of a token."""
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
            "api_url": box.url, **FAST_RETRIES, **settings}


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
