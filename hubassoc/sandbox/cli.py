"""``hubassoc-sandbox``: run the sandbox on its own until SIGINT or SIGTERM, a flag for every knob.

It prints one line, ``hubassoc-sandbox listening on <url>`` (the real port when ``--port 0``), so a parent
process can read where to connect, and exits 0 after a clean stop.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from hubassoc.sandbox.config import DEFAULT_TOKEN, HUBSPOT_5XX
from hubassoc.sandbox.seed import PRESETS, preset, seed_store
from hubassoc.sandbox.server import Sandbox, SandboxConfig
from hubassoc.sandbox.store import Store

SEED_FLAGS = ("contacts", "companies", "deals", "tickets", "random_seed")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hubassoc-sandbox", description="A local HubSpot-compatible server.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--seed", choices=sorted(PRESETS), default="demo", help="the fake CRM to start with")
    for name in SEED_FLAGS:
        p.add_argument(f"--{name.replace('_', '-')}", type=int, help="override the seed's value")
    _auth_flags(p)
    _limit_flags(p)
    _fault_flags(p)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--create-status", type=int, choices=(200, 201), default=200)
    p.add_argument("--error-context", choices=("pair", "ids"), default="pair")
    p.add_argument("--no-shuffle", dest="shuffle_results", action="store_false",
                   help="batch read results in input order (HubSpot does not promise it)")
    return p


def _auth_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token", dest="tokens", action="append", help=f"accepted bearer token (default {DEFAULT_TOKEN})")
    p.add_argument("--token-scope", dest="token_scopes", action="append", metavar="TOKEN=SCOPE,SCOPE",
                   help="limit a token to these scopes")
    p.add_argument("--oauth-client", dest="oauth_clients", action="append", metavar="CLIENT_ID:SECRET")
    p.add_argument("--refresh-token", dest="refresh_tokens", action="append")
    p.add_argument("--access-token-ttl", type=float, default=1800.0)
    p.add_argument("--rotate-refresh-tokens", action="store_true")


def _limit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate-limit", type=int, default=100, help="requests per window")
    p.add_argument("--window-seconds", type=float, default=10.0)
    p.add_argument("--daily-limit", type=int)
    p.add_argument("--count-rejected", action="store_true", help="429-rejected requests use budget too")
    p.add_argument("--retry-after", type=float, help="send Retry-After: SECONDS on 429s")
    p.add_argument("--search-per-second", type=int, help="search requests allowed a rolling second (default 5)")


def _fault_flags(p: argparse.ArgumentParser) -> None:
    for kind in ("5xx", "429", "drop", "slow", "malformed"):
        p.add_argument(f"--fault-{kind}", dest=f"fault_{kind}", type=float, default=0.0, help="share of requests")
    p.add_argument("--fault-5xx-statuses", default=",".join(map(str, HUBSPOT_5XX)))
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--slow-seconds", type=float, default=5.0)


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig the parsed flags describe."""
    knobs: dict[str, Any] = {
        name: value for name, value in vars(args).items()
        if name in {f.name for f in dataclasses.fields(SandboxConfig)} and value is not None
    }
    knobs["fault_5xx_statuses"] = tuple(int(s) for s in args.fault_5xx_statuses.split(",") if s.strip())
    knobs["tokens"] = frozenset(args.tokens or [DEFAULT_TOKEN])
    knobs["refresh_tokens"] = frozenset(args.refresh_tokens or [])
    knobs["oauth_clients"] = dict(_split(item, ":") for item in args.oauth_clients or [])
    scopes = [_split(item, "=") for item in args.token_scopes or []]
    knobs["token_scopes"] = {token: tuple(s.split(",")) for token, s in scopes} if scopes else None
    return SandboxConfig(**knobs)


def _split(item: str, separator: str) -> tuple[str, str]:
    left, found, right = item.partition(separator)
    if not found:
        msg = f"expected NAME{separator}VALUE, got {item!r}"
        raise SystemExit(msg)
    return left, right


def store_from(args: argparse.Namespace) -> Store:
    """A store seeded from ``--seed`` and any count overrides."""
    overrides = {name: getattr(args, name) for name in SEED_FLAGS if getattr(args, name) is not None}
    store = Store()
    seed_store(store, dataclasses.replace(preset(args.seed), **overrides))
    return store


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM, then stop cleanly and return 0."""
    args = _parser().parse_args(argv)
    try:
        sandbox = Sandbox(config_from(args), store_from(args))
        url = sandbox.start()
    except (ValueError, OSError) as exc:
        raise SystemExit(f"hubassoc-sandbox: {exc}") from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"hubassoc-sandbox listening on {url}", flush=True)
        stop.wait()
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
