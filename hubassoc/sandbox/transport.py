"""The socket side: a threading HTTP/1.1 server that turns bytes into Requests and Responses into bytes.

Connections are kept alive (clients pool them, as with HubSpot) and tracked, so stopping the server can
close them and join every handler thread instead of leaving them blocked on idle sockets.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hubassoc.sandbox import inspection
from hubassoc.sandbox.app import OAUTH_PATH, SandboxApp
from hubassoc.sandbox.wire import JSON_TYPE, Request, Response, error

IDLE_TIMEOUT_SECONDS = 120.0  # an idle keep-alive connection is closed after this


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection, every connection and thread remembered until it ends."""

    daemon_threads = True
    block_on_close = False
    # socketserver's default listen backlog of 5 drops the SYNs of a client opening 16 connections at once;
    # the kernel resends them a whole second later, which looks like a client that cannot keep its budget.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._open_connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        super().__init__(address, SandboxHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can stall for seconds."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def base_url(self) -> str:
        """``http://host:port`` as bound (the real port when 0 was asked for)."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection on its own thread, remembered so ``close_all`` can end it."""
        thread = threading.Thread(target=self._serve, args=(request, client_address), daemon=True,
                                  name="hubassoc-sandbox-connection")
        with self._lock:
            self._open_connections.add(request)
            self._handler_threads.add(thread)
        thread.start()

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except OSError:
            pass  # the client went away, or stop() closed the connection under us
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._open_connections.discard(request)
                self._handler_threads.discard(threading.current_thread())

    def close_all(self, timeout: float = 5.0) -> None:
        """Close every open connection and wait for its thread to finish."""
        with self._lock:
            connections, threads = list(self._open_connections), list(self._handler_threads)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)


class SandboxHandler(BaseHTTPRequestHandler):
    """Reads one request, asks the app, writes the answer (or closes the connection for a dropped one)."""

    protocol_version = "HTTP/1.1"
    server_version = "hubassoc-sandbox"
    timeout = IDLE_TIMEOUT_SECONDS
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve a PUT (no route takes one: a 404)."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve a DELETE (no route takes one: a 404)."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve a PATCH (no route takes one: a 404)."""
        self._serve()

    def version_string(self) -> str:
        """The Server header: the sandbox's name, no Python version."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the counters record what matters, and nothing that could hold a token."""

    def _serve(self) -> None:
        request = self._read()
        try:
            response = self._answer(request)
        except Exception as exc:  # a sandbox bug: answer like a HubSpot 500 and show the traceback
            traceback.print_exc(file=sys.stderr)
            response = error(500, f"sandbox internal error: {type(exc).__name__}", "INTERNAL_ERROR")
        if response.dropped:
            self.close_connection = True
            return
        self._write(response)

    def _read(self) -> Request:
        parts = urlsplit(self.path)
        length = self.headers.get("Content-Length", "")
        body = self.rfile.read(int(length)) if length.isdigit() else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        query = parse_qs(parts.query, keep_blank_values=True)
        return Request(self.command, unquote(parts.path), query, headers, body, self.path)

    def _answer(self, request: Request) -> Response:
        app = self.server.app
        if request.path.startswith(inspection.PREFIX):
            return inspection.handle(app, request)
        if request.path == OAUTH_PATH and request.method == "POST":
            return app.oauth(request)
        return app.crm(request, self.server.base_url)

    def _write(self, response: Response) -> None:
        payload = response.payload()
        if response.cut:
            self._write_cut(response, payload)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if response.status != 204:
            self.wfile.write(payload)

    def _write_cut(self, response: Response, payload: bytes) -> None:
        """Send the reply only part-way, then close: the client sees the connection break mid-response."""
        self.close_connection = True
        if response.status == 204 or not payload:
            self.wfile.write(b"HTTP/1.")  # no body to cut: the status line itself breaks off
            return
        self.send_response(response.status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
