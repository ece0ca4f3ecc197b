"""Subprocess servers on a free 127.0.0.1 port: the one start / wait / stop every launcher shares.

``free_port()`` is the one the servers and launchers share. ``ServerProcess.start()`` picks a port,
runs the command (output to a log file in ``workdir``), waits until ``ready(port)`` holds (default:
the port accepts TCP connections) and retries on another port when the process exits early (a port
race). Failing, it raises with the tail of the process's log. ``stop()`` terminates, then kills.

The threaded FTP and SFTP fakes take ``wait_accepting()`` and ``FaultSwitches`` from here too.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_accepts(port: int, host: str = HOST) -> bool:
    """Whether something listens on ``host:port`` (the default readiness probe)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_accepting(port: int, host: str = HOST, timeout: float = 10) -> None:
    """Block until ``host:port`` accepts (for servers started in a thread)."""
    deadline = time.monotonic() + timeout
    while not port_accepts(port, host):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing accepts on {host}:{port} after {timeout} s")
        time.sleep(0.05)


class ServerProcess:
    """One subprocess server; ``port`` is valid after ``start()``."""

    def __init__(self, name: str, workdir: str | Path) -> None:
        self.name = name
        self.workdir = Path(workdir)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(
        self,
        command: Callable[[int, int], Sequence[str | Path]],
        *,
        ready: Callable[[int], bool] = port_accepts,
        timeout: float = 30,
        attempts: int = 3,
        env: Mapping[str, str] | None = None,
        poll: float = 0.1,
    ) -> int:
        """Run ``command(port, attempt)`` until ``ready(port)``; returns the port."""
        for attempt in range(attempts):
            self.port = free_port()
            self.log_path = self.workdir / f"{self.name}-{self.port}.log"
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(
                    [str(part) for part in command(self.port, attempt)],
                    cwd=self.workdir,
                    env=None if env is None else dict(env),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            if self._wait(ready, timeout, poll):
                return self.port
            self.stop()
        raise RuntimeError(f"{self.name} did not start after {attempts} attempts:\n{self.output()}")

    def _wait(self, ready: Callable[[int], bool], timeout: float, poll: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False  # exited: most often the port was taken in between
            try:
                if ready(self.port):
                    return True
            except Exception:  # a client probe failing is "not yet"
                pass
            time.sleep(poll)
        return False

    def output(self, limit: int = 3000) -> str:
        """The tail of the last process's output (for error messages)."""
        if self.log_path is None or not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_bytes().decode("utf-8", "replace").strip()
        return text[-limit:] or "(no output)"

    def stop(self, grace: float = 10) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


class FaultSwitches:
    """Misbehaviour the FTP and SFTP fakes share; ``_state`` has ``lock``, ``free_bytes``, ``drops``."""

    _state: Any

    @contextmanager
    def disk_full_after(self, free_bytes: int) -> Iterator[None]:
        with self._state.lock:
            self._state.free_bytes = free_bytes
        try:
            yield
        finally:
            with self._state.lock:
                self._state.free_bytes = None

    @property
    def drops_left(self) -> int:
        return self._state.drops

    @contextmanager
    def dropping_connections(self, times: int = 1) -> Iterator[None]:
        """The next ``times`` uploads lose their connection (FTP: at STOR; SFTP: at the first write)."""
        with self._state.lock:
            self._state.drops = times
        try:
            yield
        finally:
            with self._state.lock:
                self._state.drops = 0
