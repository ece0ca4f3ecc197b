"""A fault-injecting TCP proxy in front of any test server: fixture ``tcp_fault_proxy``.

For protocols the HTTP proxy (``tests/servers/fault_proxy.py``) cannot speak: SFTP (SSH), SMTP,
the FTP control channel. Every accepted connection is forwarded byte for byte to the target; the
next connections take the pending faults in the order they were added, each fault for ``times``
connections:

* ``reset(times, after_bytes=0)``: forward ``after_bytes`` bytes (both directions together), then
  drop both sides with a TCP reset (``after_bytes=0``: reset right after accepting);
* ``slow(times, delay)``: wait ``delay`` seconds before forwarding each chunk (a slow link);
* ``stall(times, after_bytes)``: forward ``after_bytes`` bytes, then forward nothing more and keep
  the connection open until the client gives up (a hung server);
* ``refuse()``/``accept()``: while refusing, every new connection is reset at once (a permanent
  outage), without using up the fault list.

``faults_injected()`` counts faults by kind, ``connections`` the connections accepted. Schedules are
deterministic: faults go to connections in accept order, whatever the timing.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

CHUNK = 1 << 16


@dataclass
class TcpFault:
    kind: str  # reset, slow, stall
    times: int
    after_bytes: int = 0
    delay: float = 0.0


class TcpFaultProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._lock = threading.Lock()
        self._faults: list[TcpFault] = []
        self._injected: dict[str, int] = {}
        self._refusing = False
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self.connections = 0

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> TcpFaultProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        thread = threading.Thread(target=self._accept_loop, name="tcp-fault-proxy", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        assert self._listener is not None, "proxy not started"
        return int(self._listener.getsockname()[1])

    # -- faults --------------------------------------------------------------------------------------------
    def reset(self, times: int = 1, after_bytes: int = 0) -> None:
        self._add(TcpFault("reset", times, after_bytes=after_bytes))

    def slow(self, times: int = 1, delay: float = 0.2) -> None:
        self._add(TcpFault("slow", times, delay=delay))

    def stall(self, times: int = 1, after_bytes: int = 0) -> None:
        self._add(TcpFault("stall", times, after_bytes=after_bytes))

    def refuse(self) -> None:
        with self._lock:
            self._refusing = True

    def accept(self) -> None:
        with self._lock:
            self._refusing = False

    def _add(self, fault: TcpFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def pending_faults(self) -> int:
        with self._lock:
            return sum(fault.times for fault in self._faults)

    def faults_injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected)

    def _count(self, kind: str) -> None:
        with self._lock:
            self._injected[kind] = self._injected.get(kind, 0) + 1

    def _next_fault(self) -> TcpFault | None:
        with self._lock:
            self.connections += 1
            if self._refusing:
                return TcpFault("refuse", 1)
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault

    # -- forwarding ------------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            fault = self._next_fault()
            thread = threading.Thread(target=self._serve, args=(client, fault), daemon=True)
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _serve(self, client: socket.socket, fault: TcpFault | None) -> None:
        if fault is not None and (
            fault.kind == "refuse" or (fault.kind == "reset" and not fault.after_bytes)
        ):
            self._count(fault.kind)
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            _reset(client)
            return
        with self._lock:
            self._sockets.update((client, upstream))
        try:
            self._pump(client, upstream, fault)
        finally:
            with self._lock:
                self._sockets.difference_update((client, upstream))

    def _pump(self, client: socket.socket, upstream: socket.socket, fault: TcpFault | None) -> None:
        peers = {client: upstream, upstream: client}
        selector = selectors.DefaultSelector()
        for sock in peers:
            sock.setblocking(True)
            selector.register(sock, selectors.EVENT_READ)
        forwarded = 0
        counted = False
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(timeout=0.2):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(CHUNK)
                    except OSError:
                        data = b""
                    if not data:
                        _close(client)
                        _close(upstream)
                        return
                    if fault is not None and fault.kind in ("reset", "stall"):
                        room = fault.after_bytes - forwarded
                        if room <= len(data):
                            peers[sock].sendall(data[: max(room, 0)])
                            self._count(fault.kind)
                            if fault.kind == "reset":
                                _reset(client)
                                _reset(upstream)
                                return
                            self._stall(client, upstream)
                            return
                    if fault is not None and fault.kind == "slow":
                        if not counted:
                            self._count("slow")
                            counted = True
                        time.sleep(fault.delay)
                    try:
                        peers[sock].sendall(data)
                    except OSError:
                        _close(client)
                        _close(upstream)
                        return
                    forwarded += len(data)
        finally:
            selector.close()

    def _stall(self, client: socket.socket, upstream: socket.socket) -> None:
        """Forward nothing more; close only when the client does (or the proxy stops)."""
        client.settimeout(0.2)
        while not self._stopping.is_set():
            try:
                if not client.recv(CHUNK):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        _close(client)
        _close(upstream)


def _reset(sock: socket.socket) -> None:
    """Close with linger 0: the peer gets a TCP reset, not an orderly end of stream."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


@pytest.fixture
def tcp_fault_proxy() -> Iterator[Callable[[str, int], TcpFaultProxy]]:
    """``tcp_fault_proxy(host, port)`` starts a proxy to that server; all are stopped after the test."""
    started: list[TcpFaultProxy] = []

    def start(host: str, port: int) -> TcpFaultProxy:
        proxy = TcpFaultProxy(host, port).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
