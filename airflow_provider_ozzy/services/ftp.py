"""FTP sessions through the FTP provider's ``FTPHook`` (ftplib), imported when first used.

With ``ftp_conn_id`` the hook reads the Airflow connection (host, port, login, password; extra
``passive``, default true, and ``encoding``). The legacy options connect through
``LegacyFTPConnection``, which does what the hook's ``get_conn`` does without importing Airflow
(see docs/design.md, "Legacy SFTP/FTP options connect without Airflow").
"""

from __future__ import annotations

import ftplib
import socket
from typing import IO, Any

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.retries import is_transient
from airflow_provider_ozzy.services.file_servers import (
    Endpoint,
    RemoteSession,
    ShortWriteError,
    server_problems,
    timeout_option,
)

DEFAULT_PORT = 21
TRANSIENT_REPLIES = ("421", "425")  # service closing, cannot open the data connection

FTP_OPTIONS: dict[str, dict[str, Any]] = {
    "ftp_conn_id": {
        "type": (str, type(None)),
        "default": None,
        "help": "Airflow FTP connection: host, port, login, password; extra 'passive' (default true). "
        "Give this or 'host'.",
    },
    "host": {
        "type": (str, type(None)),
        "default": None,
        "help": "Legacy: server name (without ftp_conn_id).",
    },
    "port": {
        "type": int,
        "minimum": 1,
        "maximum": 65535,
        "default": DEFAULT_PORT,
        "help": "Legacy: server port.",
    },
    "ftp_user": {
        "type": (str, type(None)),
        "default": None,
        "env_fallback": "EXPORTERS_FTP_USER",
        "help": "Legacy: user name (none: anonymous).",
    },
    "ftp_password": {
        "type": (str, type(None)),
        "default": None,
        "env_fallback": "EXPORTERS_FTP_PASSWORD",
        "secret": True,
        "help": "Legacy: password.",
    },
    "timeout": timeout_option("Seconds to wait for the server on every request and data transfer."),
}


def ftp_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(option, message) for a contradictory or incomplete server choice."""
    return server_problems(values, "ftp_conn_id", DEFAULT_PORT)


class LegacyFTPConnection:
    """What ``FTPHook`` does for host, port, user and password given as options, with ftplib alone:
    importing the hook imports Airflow, 3 s of CPU in every ``ozzy`` process.

    It offers the hook's ``conn``, ``get_conn`` and ``store_file``, and the connection's ``host``,
    ``port``, ``login`` and ``password`` for messages; it connects as the hook does with a
    connection whose ``passive`` extra is true and that has no ``encoding``.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.host: str = options["host"]
        self.port: int = options["port"]
        self.login: str = options["ftp_user"] or "anonymous"
        self.password: str | None = options["ftp_password"]
        self.conn: ftplib.FTP | None = None

    def get_conn(self) -> ftplib.FTP:
        if self.conn is None:
            self.conn = ftplib.FTP()
            self.conn.connect(self.host, self.port)
            self.conn.login(self.login, self.password or "")
            self.conn.set_pasv(True)
        return self.conn

    def store_file(self, path: str, handle: IO[bytes], block_size: int = 8192) -> None:
        self.get_conn().storbinary(f"STOR {path}", handle, block_size)


class FTPSession(RemoteSession[ftplib.FTP]):
    """An ``ftplib.FTP`` from ``FTPHook.get_conn()`` (or ``LegacyFTPConnection``'s), reopened after failures."""

    def __init__(self, owner: str, error_class: type[OzzyError], options: dict[str, Any]) -> None:
        super().__init__(owner, error_class)
        self.options = options
        self._hook: Any = None
        self._connection_info: Any = None
        self.home = ""  # the login directory, where relative paths start

    def hook(self) -> Any:
        """The ``FTPHook`` (it reads the Airflow connection once, when created); for the legacy
        options, a ``LegacyFTPConnection`` that offers the same attributes and methods."""
        if self._hook is None and not self.options["ftp_conn_id"]:
            self._hook = self._connection_info = LegacyFTPConnection(self.options)
        if self._hook is None:
            from airflow.providers.ftp.hooks.ftp import FTPHook

            hook = FTPHook(ftp_conn_id=self.options["ftp_conn_id"])
            self._connection_info = hook.get_connection(self.options["ftp_conn_id"])
            self._hook = hook
        return self._hook

    def endpoint(self) -> Endpoint:
        if self._connection_info is None and self.options["ftp_conn_id"]:
            try:
                self.hook()
            except Exception:
                return Endpoint("ftp", f"(Airflow connection '{self.options['ftp_conn_id']}')", None, None)
        info = self._connection_info
        if info is None:
            return Endpoint("ftp", self.options["host"], self.options["port"], self.options["ftp_user"])
        return Endpoint("ftp", info.host or "", info.port or DEFAULT_PORT, info.login)

    def secrets(self) -> list[str | None]:
        found = [self.options["ftp_password"]]
        if self._connection_info is not None:
            found.append(self._connection_info.password)
        return found

    def _open(self) -> ftplib.FTP:
        hook = self.hook()
        try:
            ftp = hook.get_conn()
        except BaseException:
            half_open, hook.conn = hook.conn, None  # connected but not logged in: do not reuse it
            if half_open is not None:
                half_open.close()
            raise
        timeout = self.options["timeout"]
        ftp.timeout = timeout  # data connections
        if ftp.sock is not None:
            ftp.sock.settimeout(timeout)
        self.home = ftp.pwd()
        return ftp

    def _close(self, connection: ftplib.FTP, graceful: bool) -> None:
        hook = self.hook()
        hook.conn = None
        if graceful:
            try:
                connection.quit()
                return
            except (OSError, EOFError, ftplib.Error):
                pass
        connection.close()

    def is_transient(self, error: BaseException) -> bool:
        if isinstance(error, EOFError):
            return True  # the server closed the control connection
        if isinstance(error, ftplib.error_temp):
            return str(error)[:3] in TRANSIENT_REPLIES
        return is_transient(error)

    def explain(self, error: BaseException) -> str:
        user = self.endpoint().user
        if isinstance(error, ftplib.error_perm) and str(error).startswith("530"):
            return f"authentication failed for user {user!r}: the server answered {error}"
        if isinstance(error, ftplib.Error):
            return f"the server answered {error}"
        if isinstance(error, ShortWriteError):
            return str(error)
        if isinstance(error, socket.gaierror):
            return f"cannot resolve the host name: {error}"
        if isinstance(error, ConnectionRefusedError):
            return f"cannot connect: {error.strerror}"
        if isinstance(error, EOFError):
            return "the server closed the connection"
        return f"{type(error).__name__}: {error}"
