"""``Sandbox``: a local HubSpot-compatible server on loopback, started and stopped from Python.

The demo, the tests and the benchmarks embed it; ``hubassoc-sandbox`` (cli.py) runs one on its own.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from hubassoc.sandbox.app import SandboxApp
from hubassoc.sandbox.config import SandboxConfig
from hubassoc.sandbox.store import Store
from hubassoc.sandbox.transport import SandboxHTTPServer

__all__ = ["Sandbox", "SandboxConfig"]


class Sandbox:
    """A running (once started) sandbox: its URL, its store, its counters and its knobs."""

    def __init__(self, config: SandboxConfig | None = None, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self._stopping = threading.Event()
        self._app = SandboxApp(self.store, config or SandboxConfig(), self._stopping)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> str:
        """Bind (port 0: any free port), serve on a daemon thread, return the base URL."""
        if self._server is not None:
            return self.url
        config = self._app.config
        self._stopping.clear()
        self._server = SandboxHTTPServer((config.host, config.port), self._app)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True, name="hubassoc-sandbox")
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, close every connection, join every thread, release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()  # wakes handlers sleeping on latency or a slow fault
        server.shutdown()
        server.close_all()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (only while started)."""
        if self._server is None:
            msg = "the sandbox is not running: call start() first"
            raise RuntimeError(msg)
        return self._server.base_url

    # -- inspection and knobs --------------------------------------------------------------------------------

    @property
    def config(self) -> SandboxConfig:
        """The knobs now in force."""
        return self._app.config

    def configure(self, **knobs: Any) -> SandboxConfig:
        """Change any knob (except host and port) while running; thread-safe, takes effect per request."""
        return self._app.configure(**knobs)

    def counters(self) -> dict[str, Any]:
        """A deep copy of everything counted since start (or the last reset)."""
        return self._app.counters.snapshot()

    def reset_counters(self) -> None:
        """Start counting afresh; the rate-limit budget is not touched (see ``reset_rate_limits``)."""
        self._app.counters.reset()

    def reset_rate_limits(self) -> None:
        """Empty the rolling window and the daily count, as if a new day began."""
        self._app.limiter.reset()

    def schedule_faults(self, kind: str, count: int = 1, route: str | None = None) -> None:
        """The next ``count`` requests (matching ``route``, a counters key, if given) get fault ``kind``.

        Kinds: ``5xx:<status>``, ``429``, ``429-daily``, ``423``, ``drop``, ``cut``, ``slow``, ``malformed``.
        """
        self._app.faults.schedule(kind, count, route)

    def clear_faults(self) -> None:
        """Forget scheduled faults not yet used."""
        self._app.faults.clear()

    def expire_access_tokens(self) -> None:
        """Every OAuth access token issued so far expires now."""
        self._app.access_tokens.expire_all()
