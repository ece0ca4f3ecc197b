"""The one base of the in-process HTTP fakes: a ``ThreadingHTTPServer`` on 127.0.0.1:0 served by a
daemon thread, so each fake only writes its handler and state.

Subclass and override ``_handler_class()`` (or pass ``handler`` for a stateless one), then
``start()`` / ``stop()`` or ``with``. ``port`` and ``url`` are valid once started.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class FakeHandler(BaseHTTPRequestHandler):
    """Handler base: HTTP/1.1, no access log, reading a request and answering one call each."""

    protocol_version = "HTTP/1.1"

    def read_request(self) -> tuple[dict[str, str], bytes]:
        """The headers (names lower-cased) and the body."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return {name.lower(): value for name, value in self.headers.items()}, body

    def answer(
        self, status: int, body: bytes, headers: Mapping[str, str] | None = None, reason: str | None = None
    ) -> None:
        self.send_response(status, reason)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class HTTPFake:
    thread_name = "http-fake"
    server_class: ClassVar[type[ThreadingHTTPServer]] = ThreadingHTTPServer
    # class defaults, so subclasses with their own __init__ need not call ours
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _handler: type[BaseHTTPRequestHandler] | None = None

    def __init__(self, handler: type[BaseHTTPRequestHandler] | None = None, name: str | None = None) -> None:
        self._handler = handler
        if name is not None:
            self.thread_name = name

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        if self._handler is None:
            raise NotImplementedError("pass a handler or override _handler_class()")
        return self._handler

    def start(self) -> Self:
        server = self.server_class(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, f"{type(self).__name__} not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
