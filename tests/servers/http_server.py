"""A recording HTTP server (stdlib ``ThreadingHTTPServer``) for webhook tests.

Every request is recorded: method, path, headers, raw body and, when it parses, the JSON body.
The server answers 200 with ``{"ok": true}``, or an error status for the next N requests when told
to (``fail_next``). One server per test session on a free 127.0.0.1 port: fixture ``http_server``.
Tests call ``reset()`` first and may filter by path.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.servers.http_fake import HTTPFake


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    status: int  # what the server answered


class RecordingHTTPServer(HTTPFake):
    """Records requests and answers them, failing on demand."""

    thread_name = "http-test-server"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures_left = 0
        self._failure_status = 500

    def connection(self) -> dict[str, Any]:
        """An Airflow ``http`` connection to this server, for ``AIRFLOW_CONN_<ID>`` as JSON."""
        return {"conn_type": "http", "host": "127.0.0.1", "port": self.port, "schema": "http"}

    def connection_json(self) -> str:
        return json.dumps(self.connection())

    # -- control and inspection -----------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._failures_left = 0

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer ``status`` to the next ``count`` requests."""
        with self._lock:
            self._failures_left = count
            self._failure_status = status

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first; only those to ``path`` when given."""
        with self._lock:
            found = list(self._requests)
        return [each for each in found if path is None or each.path == path]

    def wait_for(self, predicate: Callable[[list[RecordedRequest]], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.requests()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; recorded: {[r.path for r in self.requests()]}")
            time.sleep(0.05)

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                request.status = self._failure_status
            self._requests.append(request)
            return request.status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                status = recorder._record(
                    RecordedRequest(self.command, self.path, dict(self.headers.items()), body, parsed, 200)
                )
                answer = json.dumps({"ok": status < 400}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler


@pytest.fixture(scope="session")
def http_server() -> Iterator[RecordingHTTPServer]:
    server = RecordingHTTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
