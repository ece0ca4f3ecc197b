"""An FTP server (pyftpdlib) on a free 127.0.0.1 port: fixture ``ftp_server``.

Started once per session in a background thread; files live under a local folder (``root``), the
user's home. Tests read results back over the wire (``download``, with ftplib), and the crash
harness may poll ``root`` directly to time its kills.

One user, ``USER`` with ``PASSWORD``, with every permission. Two switches, each a context manager,
make the server misbehave for one test:

* ``disk_full_after(n)``: a STOR fails once more than ``n`` further bytes were stored, as on a
  full disk: the server answers ``452 No space left on device; transfer aborted.`` (452: "insufficient
  storage space", RFC 959);
* ``dropping_connections(n)``: the next ``n`` STOR commands drop the connection unanswered;
* ``rename_refuses_existing()``: RNTO onto an existing file fails with 550, as on servers whose
  rename never replaces a file (IIS, Windows file systems).
"""

from __future__ import annotations

import errno
import ftplib
import json
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # pyftpdlib still uses asyncore/asynchat, deprecated since 3.6
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import DTPHandler, FTPHandler
    from pyftpdlib.servers import FTPServer

from tests.servers.process_server import FaultSwitches, wait_accepting

HOST = "127.0.0.1"
USER = "ozzy"
PASSWORD = "ftp-Secret-5529"


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free_bytes: int | None = None  # None: unlimited
        self.rename_replaces = True
        self.drops = 0  # STOR commands left that drop their connection


class _QuotaFile:
    """A file opened for writing whose writes fail with ENOSPC beyond the server's free bytes."""

    def __init__(self, raw: Any, state: _State) -> None:
        self._raw = raw
        self._state = state

    def write(self, data: bytes) -> int:
        with self._state.lock:
            if self._state.free_bytes is not None:
                if len(data) > self._state.free_bytes:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                self._state.free_bytes -= len(data)
        return int(self._raw.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _FullDiskDTPHandler(DTPHandler):
    """Reports a full disk as 452 with its reason (pyftpdlib's own reply loses the errno: "426 None")."""

    def handle_error(self) -> None:
        error = sys.exc_info()[1]
        cause = getattr(error, "__cause__", None)
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            self._resp = (f"452 {cause.strerror}; transfer aborted.", lambda *args: None)
            self.close()
            return
        super().handle_error()


def _handler_class(state: _State) -> type[FTPHandler]:
    class DroppingFTPHandler(FTPHandler):
        def ftp_STOR(self, file: str, mode: str = "w") -> str | None:
            with state.lock:
                drop, state.drops = state.drops > 0, max(0, state.drops - 1)
            if drop:
                self.close()  # unanswered, as on a network failure
                return None
            return super().ftp_STOR(file, mode)  # type: ignore[no-any-return]

    return DroppingFTPHandler


def _filesystem_class(state: _State) -> type[AbstractedFS]:
    class TestFS(AbstractedFS):
        def chdir(self, path: str) -> None:
            """The session's directory without ``os.chdir``: the server runs in the test process,
            whose working directory an export in another thread uses (relative state paths)."""
            if not os.path.isdir(path):
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
            self.cwd = self.fs2ftp(path)

        def open(self, filename: str, mode: str) -> Any:
            handle = super().open(filename, mode)
            return _QuotaFile(handle, state) if any(flag in mode for flag in "wa+") else handle

        def rename(self, src: str, dst: str) -> None:
            if not state.rename_replaces and os.path.exists(dst):
                raise OSError(errno.EEXIST, os.strerror(errno.EEXIST))
            super().rename(src, dst)

    return TestFS


class FTPTestServer(FaultSwitches):
    """The running server, its folder, and helpers to inspect what it holds."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = 0
        self.user = USER
        self.password = PASSWORD
        self._state = _State()
        self._server: FTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        authorizer = DummyAuthorizer()
        authorizer.add_user(USER, PASSWORD, str(self.root), perm="elradfmwMT")
        handler: type[FTPHandler] = type(
            "TestFTPHandler",
            (_handler_class(self._state),),
            {
                "authorizer": authorizer,
                "abstracted_fs": _filesystem_class(self._state),
                "dtp_handler": _FullDiskDTPHandler,
                "auth_failed_timeout": 0.1,  # pyftpdlib waits 3 s after a wrong password
                "banner": "ozzy test FTP server",
            },
        )
        self._server = FTPServer((HOST, 0), handler)
        self.port = int(self._server.address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"timeout": 0.2, "handle_exit": False},  # no logging set-up, no signal handling
            name="ftp-test-server",
            daemon=True,
        )
        self._thread.start()
        wait_accepting(self.port, HOST)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- misbehaviour -----------------------------------------------------------------------------------
    @contextmanager
    def rename_refuses_existing(self) -> Iterator[None]:
        self._state.rename_replaces = False
        try:
            yield
        finally:
            self._state.rename_replaces = True

    # -- connections --------------------------------------------------------------------------------------
    def connection(self, **extra: Any) -> dict[str, Any]:
        """An Airflow ``ftp`` connection (for ``AIRFLOW_CONN_<ID>`` as JSON)."""
        return {
            "conn_type": "ftp",
            "host": HOST,
            "port": self.port,
            "login": USER,
            "password": PASSWORD,
            "extra": {"passive": True, **extra},
        }

    def connection_json(self, **extra: Any) -> str:
        return json.dumps(self.connection(**extra))

    # -- reading back over the wire ----------------------------------------------------------------------
    @contextmanager
    def client(self) -> Iterator[ftplib.FTP]:
        ftp = ftplib.FTP()
        ftp.connect(HOST, self.port, timeout=10)
        try:
            ftp.login(USER, PASSWORD)
            yield ftp
        finally:
            ftp.close()

    def download(self, remote: str, local: str | os.PathLike[str]) -> list[str]:
        """Copy the tree under ``remote`` into ``local`` over FTP (MLSD, RETR); returns relative paths."""
        copied: list[str] = []
        local = Path(local)
        local.mkdir(parents=True, exist_ok=True)
        with self.client() as ftp:

            def walk(remote_dir: str, relative: str) -> None:
                for name, facts in ftp.mlsd(remote_dir, facts=["type"]):
                    if name in (".", ".."):
                        continue
                    path = f"{remote_dir}/{name}"
                    rel = f"{relative}/{name}" if relative else name
                    if facts.get("type") == "dir":
                        walk(path, rel)
                    elif facts.get("type") == "file":
                        target = local / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with open(target, "wb") as handle:
                            ftp.retrbinary(f"RETR {path}", handle.write)
                        copied.append(rel)

            walk(remote, "")
        return sorted(copied)


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FTPTestServer]:
    server = FTPTestServer(tmp_path_factory.mktemp("ftp-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
