"""FTP sessions through the FTP provider's ``FTPHook`` (ftplib), imported when first used.

With ``ftp_conn_id`` the hook reads the Airflow connection (host, port, login, password; extra
``passive``, default true, and ``encoding``). The legacy options connect through
``LegacyFTPConnection``, which does what the hook's ``get_conn`` does without importing Airflow
(see docs/design.md, "Legacy SFTP/FTP options connect without Airflow").
"""

from __future__ import annotations

import ftplib
from typing import IO, Any

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.services.file_servers import (
    Endpoint,
    RemoteSession,
    server_options,
    server_problems,
)

DEFAULT_PORT = 21
TRANSIENT_REPLIES = ("421", "425")  # service closing, cannot open the data connection

FTP_OPTIONS = server_options(
    "ftp",
    DEFAULT_PORT,
    "host, port, login, password; extra 'passive' (default true)",
    user_help="Legacy: user name (none: anonymous).",
    timeout_help="Seconds to wait for the server on every request and data transfer.",
)


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

    scheme = "ftp"

    def __init__(self, owner: str, error_class: type[OzzyError], options: dict[str, Any]) -> None:
        super().__init__(owner, error_class, options)
        self._connection_info: Any = None  # the Airflow connection (or the legacy stand-in)
        self.home = ""  # the login directory, where relative paths start

    def _airflow_hook(self, conn_id: str) -> Any:
        from airflow.providers.ftp.hooks.ftp import FTPHook

        hook = FTPHook(ftp_conn_id=conn_id)
        self._connection_info = hook.get_connection(conn_id)
        return hook

    def _legacy_hook(self) -> LegacyFTPConnection:
        self._connection_info = LegacyFTPConnection(self.options)
        return self._connection_info

    def _hook_endpoint(self) -> Endpoint:
        info = self._connection_info
        return Endpoint("ftp", info.host or "", info.port or DEFAULT_PORT, info.login)

    def _hook_password(self) -> str | None:
        password: str | None = self._connection_info.password
        return password

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
        if isinstance(error, ftplib.error_temp):
            return str(error)[:3] in TRANSIENT_REPLIES
        return super().is_transient(error)

    def _explain_protocol(self, error: BaseException) -> str | None:
        if isinstance(error, ftplib.error_perm) and str(error).startswith("530"):
            return f"authentication failed for user {self.endpoint().user!r}: the server answered {error}"
        if isinstance(error, ftplib.Error):
            return f"the server answered {error}"
        return None
