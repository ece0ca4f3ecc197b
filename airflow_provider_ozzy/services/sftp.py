"""SFTP sessions through the SFTP provider's ``SFTPHook`` (paramiko), imported when first used.

The hook reads the Airflow connection: host, port, login, and a password or a key (``key_file`` or
``private_key`` in the extra), host key settings. Without a connection, the legacy options give
host, port, user, password or key file directly.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.retries import is_transient
from airflow_provider_ozzy.services.file_servers import (
    Endpoint,
    RemoteSession,
    ShortWriteError,
    server_problems,
    timeout_option,
)

if TYPE_CHECKING:
    from paramiko import SFTPClient

DEFAULT_PORT = 22

# Options every SFTP module declares (the old SFTPWriter's, plus the Airflow connection).
SFTP_OPTIONS: dict[str, dict[str, Any]] = {
    "sftp_conn_id": {
        "type": (str, type(None)),
        "default": None,
        "help": "Airflow SFTP connection: host, port, login, password or key (extra key_file or "
        "private_key), host key settings. Give this or 'host'.",
    },
    "host": {
        "type": (str, type(None)),
        "default": None,
        "help": "Legacy: server name (without sftp_conn_id).",
    },
    "port": {
        "type": int,
        "minimum": 1,
        "maximum": 65535,
        "default": DEFAULT_PORT,
        "help": "Legacy: server port.",
    },
    "sftp_user": {
        "type": (str, type(None)),
        "default": None,
        "env_fallback": "EXPORTERS_SFTP_USER",
        "help": "Legacy: user name.",
    },
    "sftp_password": {
        "type": (str, type(None)),
        "default": None,
        "env_fallback": "EXPORTERS_SFTP_PASSWORD",
        "secret": True,
        "help": "Legacy: password.",
    },
    "sftp_key_file": {
        "type": (str, type(None)),
        "default": None,
        "help": "Legacy: private key file (instead of or besides the password).",
    },
    "no_host_key_check": {
        "type": (bool, type(None)),
        "default": None,
        "help": "Accept any host key (throw-away servers only). Default: the connection's setting; "
        "with legacy options, the host must be in known_hosts.",
    },
    "timeout": timeout_option("Seconds to wait for the server (connecting, and every request)."),
}


def sftp_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(option, message) for a contradictory or incomplete server choice."""
    own = []
    if values["sftp_conn_id"] and values["sftp_key_file"]:
        own.append(("sftp_key_file", "with 'sftp_conn_id' give the key in the connection's 'key_file' extra"))
    return server_problems(values, "sftp_conn_id", DEFAULT_PORT, own)


class SFTPSession(RemoteSession["SFTPClient"]):
    """An SFTP client from ``SFTPHook.get_managed_conn()``, reopened after failures."""

    def __init__(self, owner: str, error_class: type[OzzyError], options: dict[str, Any]) -> None:
        super().__init__(owner, error_class)
        self.options = options
        self._hook: Any = None
        self._stack: ExitStack | None = None

    def hook(self) -> Any:
        """The ``SFTPHook`` (it reads the Airflow connection once, when created)."""
        if self._hook is None:
            from airflow.providers.sftp.hooks.sftp import SFTPHook

            options = self.options
            # Ozzy retries with backoff itself; the hook's own 3 attempts would multiply the waits.
            kwargs: dict[str, Any] = {"conn_retry_attempts": 1}
            if options["no_host_key_check"] is not None:
                kwargs["no_host_key_check"] = options["no_host_key_check"]
            if options["sftp_conn_id"]:
                hook = SFTPHook(ssh_conn_id=options["sftp_conn_id"], **kwargs)
            else:
                hook = SFTPHook(
                    ssh_conn_id=None,
                    remote_host=options["host"],
                    port=options["port"],
                    username=options["sftp_user"],
                    password=options["sftp_password"],
                    key_file=options["sftp_key_file"],
                    **kwargs,
                )
            if hook.conn_timeout is None:
                hook.conn_timeout = options["timeout"]
            self._hook = hook
        return self._hook

    def endpoint(self) -> Endpoint:
        if self._hook is None and self.options["sftp_conn_id"]:
            try:
                self.hook()
            except Exception:
                return Endpoint("sftp", f"(Airflow connection '{self.options['sftp_conn_id']}')", None, None)
        if self._hook is None:
            return Endpoint("sftp", self.options["host"], self.options["port"], self.options["sftp_user"])
        return Endpoint("sftp", self._hook.remote_host, self._hook.port, self._hook.username)

    def secrets(self) -> list[str | None]:
        found = [self.options["sftp_password"]]
        if self._hook is not None:
            found.append(self._hook.password)
        return found

    def _open(self) -> SFTPClient:
        hook = self.hook()
        stack = ExitStack()
        client = stack.enter_context(hook.get_managed_conn())
        self._stack = stack
        channel = client.get_channel()
        if channel is not None:
            channel.settimeout(self.options["timeout"])  # a silent server raises TimeoutError
        return client

    def _close(self, connection: SFTPClient, graceful: bool) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def _is_alive(self, connection: SFTPClient) -> bool:
        channel = connection.get_channel()
        transport = channel.get_transport() if channel is not None else None
        return bool(
            channel is not None and not channel.closed and transport is not None and transport.is_active()
        )

    def is_transient(self, error: BaseException) -> bool:
        import paramiko

        if isinstance(error, (paramiko.AuthenticationException, paramiko.BadHostKeyException)):
            return False
        if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
            return True  # refused or unreachable: the server may be restarting
        if isinstance(error, paramiko.SSHException):
            return "known_hosts" not in str(error)  # dropped connections, banners, negotiation
        if isinstance(error, EOFError):
            return True
        return is_transient(error)

    def explain(self, error: BaseException) -> str:
        import paramiko

        user = self.endpoint().user
        if isinstance(error, paramiko.AuthenticationException):
            return (
                f"authentication failed for user {user!r}: the server refused the password or key ({error})"
            )
        if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
            reasons = sorted({getattr(each, "strerror", None) or str(each) for each in error.errors.values()})
            return f"cannot connect: {'; '.join(reasons)}"
        if isinstance(error, socket.gaierror):
            return f"cannot resolve the host name: {error}"
        if isinstance(error, paramiko.SSHException) and "known_hosts" in str(error):
            return (
                f"{error}: add the server's key to known_hosts or to the connection's 'host_key' extra, "
                "or set no_host_key_check for a throw-away server"
            )
        if isinstance(error, ShortWriteError):
            return str(error)
        if isinstance(error, EOFError):
            return "the server closed the connection"
        if isinstance(error, OSError) and not isinstance(error, TimeoutError) and error.errno is None:
            return f"the server answered: {error}"  # SFTP status text (paramiko keeps no errno for most)
        return f"{type(error).__name__}: {error}"
