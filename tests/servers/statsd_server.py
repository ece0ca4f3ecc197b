"""A recording StatsD listener (UDP on a free 127.0.0.1 port): fixture ``statsd_server``.

Every datagram is recorded and split into metric lines (clients may pack several lines, separated
by newlines, in one datagram). Lines are parsed in the plain StatsD format ``name:value|type`` with
the DogStatsD extensions ``|@rate`` and ``|#tag:value,tag2:value2`` and the InfluxDB-style tags
in the name (``name,tag=value:1|c``). One listener per test session; tests call ``reset()`` first.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Metric:
    name: str
    value: float
    type: str  # c (counter), g (gauge), ms (timing), h, d, s
    tags: dict[str, str] = field(default_factory=dict)
    rate: float = 1.0
    raw: str = ""


def parse_line(line: str) -> Metric:
    """One StatsD line; raises ValueError on anything else."""
    head, _, rest = line.partition("|")
    name, sep, value = head.rpartition(":")
    if not sep or not rest:
        raise ValueError(f"not a StatsD line: {line!r}")
    fields = rest.split("|")
    metric = Metric(name=name, value=float(value), type=fields[0], raw=line)
    for extra in fields[1:]:
        if extra.startswith("@"):
            metric.rate = float(extra[1:])
        elif extra.startswith("#"):
            for tag in filter(None, extra[1:].split(",")):
                key, _, tag_value = tag.partition(":")
                metric.tags[key] = tag_value
    if "," in metric.name:  # InfluxDB-style tags in the name
        metric.name, *pairs = metric.name.split(",")
        for pair in pairs:
            key, _, tag_value = pair.partition("=")
            metric.tags[key] = tag_value
    return metric


class StatsdServer:
    """Receives UDP datagrams on 127.0.0.1 and keeps them, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        self._socket = sock
        self._thread = threading.Thread(target=self._serve, name="statsd-test-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            try:
                data = self._socket.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            lines = [line for line in data.decode("utf-8", "replace").split("\n") if line]
            with self._lock:
                self._lines.extend(lines)

    @property
    def port(self) -> int:
        assert self._socket is not None, "server not started"
        return int(self._socket.getsockname()[1])

    def airflow_environment(self, prefix: str = "airflow") -> dict[str, str]:
        """``[metrics]`` settings, as environment variables, that send Airflow's metrics here.

        DogStatsD (the ``datadog`` package), so tags travel with each metric; plain StatsD (the
        ``statsd`` package, not installed here) would drop them unless ``statsd_influxdb_enabled``.
        """
        return {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_DATADOG_ENABLED": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(self.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": prefix,
        }

    # -- inspection -----------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self._lines.clear()

    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def metrics(self, name: str | None = None) -> list[Metric]:
        """Parsed metrics, oldest first; only those called ``name`` when given (unparsable lines skipped)."""
        found = []
        for line in self.lines():
            try:
                metric = parse_line(line)
            except ValueError:
                continue
            if name is None or metric.name == name:
                found.append(metric)
        return found

    def wait_for(self, predicate: Callable[[list[Metric]], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.metrics()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {len(self.lines())} lines: {self.lines()[-20:]}")
            time.sleep(0.05)


@pytest.fixture(scope="session")
def statsd_server() -> Iterator[StatsdServer]:
    server = StatsdServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
