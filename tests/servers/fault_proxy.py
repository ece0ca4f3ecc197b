"""A fault-injecting HTTP proxy in front of any test server: fixture ``fault_proxy``.

Point a client at ``proxy.url`` instead of the server: every request is forwarded to the target
(same method, path, headers and body; responses streamed back) and recorded (``exchanges()``:
method, path, query, status, bytes each way, request headers, time). On demand the proxy
injects faults into the next matching requests, each fault for ``times`` requests:

* ``fail(times, status=503)``: answer ``status`` without forwarding (an S3-style XML error body
  by default; pass ``body`` and ``content_type`` for other services);
* ``reset(times)``: read the request, then drop the connection (TCP RST) without answering;
* ``slow(times, delay)``: wait ``delay`` seconds, then forward;
* ``truncate(times, after_bytes)``: forward, send the headers (full Content-Length) and the first
  ``after_bytes`` bytes of the body, then drop the connection.

``match`` (a function of the ``Request``: method, path, query, headers) limits a fault to some
requests, e.g. ``lambda r: r.method == "GET" and "list-type" not in r.query``. Faults are used up
in the order they were added. ``every=N`` makes a schedule: the fault hits every Nth matching
request only (deterministic whatever the timing), ``times`` of them. ``faults_injected()`` counts
what was injected, by kind. Plain HTTP only; one proxy per target, several per test are fine.
For TCP-level faults (SFTP, SMTP, FTP control) see ``tests/servers/tcp_fault_proxy.py``.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.servers.http_fake import HTTPFake

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}
DEFAULT_ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>ServiceUnavailable</Code><Message>injected by the test proxy</Message></Error>"
)


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Exchange:
    """One request as the proxy saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    request_bytes: int
    status: int | None = None  # None: no answer (reset)
    response_bytes: int = 0
    fault: str | None = None
    started_ns: int = field(default_factory=time.time_ns)


@dataclass
class Fault:
    kind: str  # fail, reset, slow, truncate
    times: int
    match: Callable[[Request], bool] | None = None
    status: int = 503
    body: bytes = DEFAULT_ERROR_BODY
    content_type: str = "application/xml"
    delay: float = 0.0
    after_bytes: int = 0
    every: int = 1  # hit every Nth matching request
    seen: int = 0


class _QuietServer(ThreadingHTTPServer):
    """Clients that drop connections (killed processes, injected resets) are no test failure."""

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FaultProxy(HTTPFake):
    thread_name = "fault-proxy"
    server_class = _QuietServer

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the fault proxy forwards to plain http URLs, got {target!r}")
        self.target_host = parts.hostname
        self.target_port = parts.port or 80
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._exchanges: list[Exchange] = []

    # -- faults -------------------------------------------------------------------------------------------
    def fail(
        self,
        times: int = 1,
        status: int = 503,
        match: Callable[[Request], bool] | None = None,
        body: bytes = DEFAULT_ERROR_BODY,
        content_type: str = "application/xml",
        every: int = 1,
    ) -> None:
        self._add(
            Fault("fail", times, match, status=status, body=body, content_type=content_type, every=every)
        )

    def reset(self, times: int = 1, match: Callable[[Request], bool] | None = None, every: int = 1) -> None:
        self._add(Fault("reset", times, match, every=every))

    def slow(
        self,
        times: int = 1,
        delay: float = 1.0,
        match: Callable[[Request], bool] | None = None,
        every: int = 1,
    ) -> None:
        self._add(Fault("slow", times, match, delay=delay, every=every))

    def truncate(
        self,
        times: int = 1,
        after_bytes: int = 0,
        match: Callable[[Request], bool] | None = None,
        every: int = 1,
    ) -> None:
        self._add(Fault("truncate", times, match, after_bytes=after_bytes, every=every))

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Forget pending faults and recorded exchanges."""
        with self._lock:
            self._faults.clear()
            self._exchanges.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return sum(fault.times for fault in self._faults)

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and (fault.match is None or fault.match(request)):
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue  # scheduled for a later matching request
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- records ------------------------------------------------------------------------------------------
    def exchanges(self, predicate: Callable[[Exchange], bool] | None = None) -> list[Exchange]:
        with self._lock:
            found = list(self._exchanges)
        return [each for each in found if predicate is None or predicate(each)]

    def faults_injected(self) -> dict[str, int]:
        """Faults injected so far, by kind (``fail``, ``reset``, ``slow``, ``truncate``)."""
        counts: dict[str, int] = {}
        for exchange in self.exchanges(lambda e: e.fault is not None):
            counts[str(exchange.fault)] = counts.get(str(exchange.fault), 0) + 1
        return counts

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    # -- forwarding ---------------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream: http.client.HTTPConnection | None = None

            def _handle(self) -> None:
                path, _, query = self.path.partition("?")
                headers = {key: value for key, value in self.headers.items()}
                body = self._read_body()
                request = Request(self.command, path, query, headers)
                exchange = Exchange(self.command, path, query, headers, len(body))
                fault = proxy._take_fault(request)
                exchange.fault = fault.kind if fault else None
                # recorded now and completed in place: a client that got its answer finds it recorded
                proxy._record(exchange)
                if fault is not None and fault.kind == "reset":
                    self._drop()
                    return
                if fault is not None and fault.kind == "fail":
                    self._answer(exchange, fault)
                    return
                if fault is not None and fault.kind == "slow":
                    time.sleep(fault.delay)
                self._forward(
                    exchange, body, fault.after_bytes if fault and fault.kind == "truncate" else None
                )

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle

            def _read_body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _drop(self) -> None:
                """Close without answering: linger 0 makes the close a TCP reset."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            def _answer(self, exchange: Exchange, fault: Fault) -> None:
                exchange.status = fault.status
                self.send_response(fault.status)
                self.send_header("Content-Type", fault.content_type)
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                if self.command != "HEAD":
                    exchange.response_bytes = len(fault.body)
                    self.wfile.write(fault.body)

            def _upstream(self) -> http.client.HTTPConnection:
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection(
                        proxy.target_host, proxy.target_port, timeout=120
                    )
                return self.upstream

            def _send_upstream(self, body: bytes) -> http.client.HTTPResponse:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                if body or self.command in ("PUT", "POST", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                for attempt in (1, 2):  # a kept-alive upstream connection may have been closed by the server
                    connection = self._upstream()
                    try:
                        connection.request(self.command, self.path, body=body, headers=headers)
                        return connection.getresponse()
                    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                        connection.close()
                        self.upstream = None
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

            def _forward(self, exchange: Exchange, body: bytes, truncate_after: int | None) -> None:
                response = self._send_upstream(body)
                no_body = (
                    self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
                )
                length_header = response.getheader("Content-Length")
                if no_body:
                    data_iter: Iterator[bytes] = iter(())
                    response.read()
                elif length_header is None:
                    whole = response.read()
                    length_header = str(len(whole))
                    data_iter = iter([whole])
                else:
                    data_iter = _chunks(response)
                exchange.status = response.status
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                if length_header is not None:
                    self.send_header("Content-Length", length_header)
                self.end_headers()
                sent = 0
                for chunk in data_iter:
                    if truncate_after is not None and sent + len(chunk) > truncate_after:
                        exchange.response_bytes = truncate_after
                        self.wfile.write(chunk[: truncate_after - sent])
                        self._close_upstream()
                        self.close_connection = True  # the client sees the body end early
                        return
                    sent += len(chunk)
                    exchange.response_bytes = sent
                    self.wfile.write(chunk)
                if response.will_close:
                    self._close_upstream()

            def _close_upstream(self) -> None:
                if self.upstream is not None:
                    self.upstream.close()
                    self.upstream = None

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    self._close_upstream()

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler


def _chunks(response: http.client.HTTPResponse, size: int = 1 << 16) -> Iterator[bytes]:
    while chunk := response.read(size):
        yield chunk


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str], FaultProxy]]:
    """``fault_proxy(target_url)`` starts a proxy to ``target_url``; all are stopped after the test."""
    started: list[FaultProxy] = []

    def start(target: str) -> FaultProxy:
        proxy = FaultProxy(target).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
