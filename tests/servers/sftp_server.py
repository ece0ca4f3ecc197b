"""An SFTP server (asyncssh) on a free 127.0.0.1 port: fixture ``sftp_server``.

Started once per session in a background thread with its own event loop. Files live under a
local folder (``root``), the server's chroot: tests read results back over the wire
(``download``), and the crash harness may poll ``root`` directly to time its kills.

One user, ``USER``, logs in with ``PASSWORD`` or with the client key written at start
(``client_key_path``, OpenSSH format; ``client_key_text`` for a connection's ``private_key`` extra).
Three switches, each a context manager, make the server misbehave for one test:

* ``disk_full_after(n)``: writes beyond ``n`` more bytes fail with ``ENOSPC`` (sent as the SFTP
  status "no space on filesystem", which SFTPv3 clients see as a failure with that text);
* ``dropping_connections(n)``: the next ``n`` uploads lose their connection at their first write,
  as on a network failure;
* ``without_posix_rename()``: the ``posix-rename@openssh.com`` extension answers "operation not
  supported", as older servers do, so a plain rename must not overwrite.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncssh
import paramiko
import pytest

from tests.servers.process_server import FaultSwitches, wait_accepting

HOST = "127.0.0.1"
USER = "ozzy"
PASSWORD = "sftp-Secret-7431"


class _State:
    """Switches shared by every session of the server (tests run one at a time)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free_bytes: int | None = None  # None: unlimited
        self.posix_rename = True
        self.drops = 0  # writes left that abort their connection


def _server_class(state: _State) -> type[asyncssh.SSHServer]:
    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == USER and password == PASSWORD

    return Server


def _sftp_class(state: _State, root: str) -> type[asyncssh.SFTPServer]:
    class QuotaSFTPServer(asyncssh.SFTPServer):
        def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
            super().__init__(chan, chroot=root.encode())
            self._dropped = False

        def write(self, file_obj: object, offset: int, data: bytes) -> int:
            with state.lock:
                if self._dropped or state.drops:  # writes already in flight count once
                    state.drops -= 0 if self._dropped else 1
                    self._dropped = True
                    self.connection.abort()  # as a network failure would: no reply, connection gone
                    raise OSError(errno.ECONNRESET, "connection dropped by the test server")
                if state.free_bytes is not None:
                    if len(data) > state.free_bytes:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    state.free_bytes -= len(data)
            return super().write(file_obj, offset, data)  # type: ignore[return-value]

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
            if not state.posix_rename:
                raise asyncssh.SFTPOpUnsupported("posix-rename not supported")
            super().posix_rename(oldpath, newpath)

    return QuotaSFTPServer


class SFTPTestServer(FaultSwitches):
    """The running server, its folders and keys, and helpers to inspect what it holds."""

    def __init__(self, workdir: Path) -> None:
        self.root = workdir / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.key_dir = workdir / "keys"
        self.key_dir.mkdir(exist_ok=True)
        self.host = HOST
        self.port = 0
        self.user = USER
        self.password = PASSWORD
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Any = None
        self._thread: threading.Thread | None = None
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._host_key = host_key
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_text = client_key.export_private_key("openssh").decode()
        self.client_key_path = self.key_dir / "client_key"
        self.client_key_path.write_text(self.client_key_text)
        self.client_key_path.chmod(0o600)
        self._authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._listener = loop.run_until_complete(
                    asyncssh.create_server(
                        _server_class(self._state),
                        HOST,
                        0,
                        server_host_keys=[self._host_key],
                        authorized_client_keys=self._authorized,
                        sftp_factory=_sftp_class(self._state, str(self.root)),
                    )
                )
                self.port = self._listener.get_port()
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            self._listener.close()
            loop.run_until_complete(self._listener.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="sftp-test-server", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        wait_accepting(self.port, HOST)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- misbehaviour -----------------------------------------------------------------------------------
    @contextmanager
    def without_posix_rename(self) -> Iterator[None]:
        self._state.posix_rename = False
        try:
            yield
        finally:
            self._state.posix_rename = True

    # -- connections --------------------------------------------------------------------------------------
    def connection(self, auth: str = "password", **extra: Any) -> dict[str, Any]:
        """An Airflow ``sftp`` connection (for ``AIRFLOW_CONN_<ID>`` as JSON).

        ``auth``: ``password``, ``key_file`` (a path in the extra) or ``private_key`` (the key text).
        """
        connection: dict[str, Any] = {
            "conn_type": "sftp",
            "host": HOST,
            "port": self.port,
            "login": USER,
            "extra": {"no_host_key_check": True, "look_for_keys": False, **extra},
        }
        if auth == "password":
            connection["password"] = PASSWORD
        elif auth == "key_file":
            connection["extra"]["key_file"] = str(self.client_key_path)
        elif auth == "private_key":
            connection["extra"]["private_key"] = self.client_key_text
        else:
            raise ValueError(f"unknown auth {auth!r}")
        return connection

    def connection_json(self, auth: str = "password", **extra: Any) -> str:
        return json.dumps(self.connection(auth, **extra))

    # -- reading back over the wire ----------------------------------------------------------------------
    @contextmanager
    def client(self) -> Iterator[paramiko.SFTPClient]:
        """A plain paramiko SFTP client logged in with the password."""
        transport = paramiko.Transport((HOST, self.port))
        try:
            transport.connect(username=USER, password=PASSWORD)
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            yield sftp
            sftp.close()
        finally:
            transport.close()

    def download(self, remote: str, local: str | os.PathLike[str]) -> list[str]:
        """Copy the tree under ``remote`` into ``local`` over SFTP; returns the relative paths."""
        copied: list[str] = []
        local = Path(local)
        with self.client() as sftp:

            def walk(remote_dir: str, relative: str) -> None:
                for entry in sftp.listdir_attr(remote_dir):
                    path = f"{remote_dir}/{entry.filename}"
                    rel = f"{relative}/{entry.filename}" if relative else entry.filename
                    if stat.S_ISDIR(entry.st_mode or 0):
                        walk(path, rel)
                    else:
                        target = local / rel
                        target.parent.mkdir(parents=True, exist_ok=True)
                        sftp.get(path, str(target))
                        copied.append(rel)

            local.mkdir(parents=True, exist_ok=True)
            walk(remote, "")
        return sorted(copied)


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPTestServer]:
    server = SFTPTestServer(tmp_path_factory.mktemp("sftp-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
