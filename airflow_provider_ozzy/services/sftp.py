"""SFTP sessions through the SFTP provider's ``SFTPHook`` (paramiko), imported when first used.

The hook reads the Airflow connection: host, port, login, and a password or a key (``key_file`` or
``private_key`` in the extra), host key settings. Without a connection, the legacy options give
host, port, user, password or key file directly, and ``LegacySFTPConnection`` connects with
paramiko as the hook would, without importing Airflow (see docs/design.md, "Legacy SFTP/FTP
options connect without Airflow").
"""

from __future__ import annotations

import getpass
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.services.file_servers import (
    Endpoint,
    RemoteSession,
    server_options,
    server_problems,
)

if TYPE_CHECKING:
    from paramiko import SFTPClient, SSHClient

DEFAULT_PORT = 22
KEEPALIVE_SECONDS = 30  # as SSHHook
BANNER_TIMEOUT = 30.0  # as SSHHook

# Options every SFTP module declares (the old SFTPWriter's, plus the Airflow connection).
SFTP_OPTIONS = server_options(
    "sftp",
    DEFAULT_PORT,
    "host, port, login, password or key (extra key_file or private_key), host key settings",
    user_help="Legacy: user name.",
    timeout_help="Seconds to wait for the server (connecting, and every request).",
    own={
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
    },
)


def sftp_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(option, message) for a contradictory or incomplete server choice."""
    own = []
    if values["sftp_conn_id"] and values["sftp_key_file"]:
        own.append(("sftp_key_file", "with 'sftp_conn_id' give the key in the connection's 'key_file' extra"))
    return server_problems(values, "sftp_conn_id", DEFAULT_PORT, own)


class SFTPSession(RemoteSession["SFTPClient"]):
    """An SFTP client from ``SFTPHook.get_managed_conn()``, reopened after failures."""

    scheme = "sftp"

    def __init__(self, owner: str, error_class: type[OzzyError], options: dict[str, Any]) -> None:
        super().__init__(owner, error_class, options)
        self._stack: ExitStack | None = None

    def _airflow_hook(self, conn_id: str) -> Any:
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        # Ozzy retries with backoff itself; the hook's own 3 attempts would multiply the waits.
        kwargs: dict[str, Any] = {"conn_retry_attempts": 1}
        if self.options["no_host_key_check"] is not None:
            kwargs["no_host_key_check"] = self.options["no_host_key_check"]
        hook = SFTPHook(ssh_conn_id=conn_id, **kwargs)
        if hook.conn_timeout is None:
            hook.conn_timeout = self.options["timeout"]
        return hook

    def _legacy_hook(self) -> LegacySFTPConnection:
        return LegacySFTPConnection(self.options)

    def _hook_endpoint(self) -> Endpoint:
        return Endpoint("sftp", self._hook.remote_host, self._hook.port, self._hook.username)

    def _hook_password(self) -> str | None:
        password: str | None = self._hook.password
        return password

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
        return super().is_transient(error)

    def _explain_protocol(self, error: BaseException) -> str | None:
        import paramiko

        if isinstance(error, paramiko.AuthenticationException):
            user = self.endpoint().user
            return (
                f"authentication failed for user {user!r}: the server refused the password or key ({error})"
            )
        if isinstance(error, paramiko.ssh_exception.NoValidConnectionsError):
            reasons = sorted({getattr(each, "strerror", None) or str(each) for each in error.errors.values()})
            return f"cannot connect: {'; '.join(reasons)}"
        if isinstance(error, paramiko.SSHException) and "known_hosts" in str(error):
            return (
                f"{error}: add the server's key to known_hosts or to the connection's 'host_key' extra, "
                "or set no_host_key_check for a throw-away server"
            )
        if isinstance(error, OSError) and not isinstance(error, TimeoutError) and error.errno is None:
            return f"the server answered: {error}"  # SFTP status text (paramiko keeps no errno for most)
        return None


class LegacySFTPConnection:
    """What ``SFTPHook`` does for host, port, user, password and key file given as options, with
    paramiko alone: importing the hook imports Airflow, 3 s of CPU in every ``ozzy`` process.

    It offers the hook's attributes and methods that ``SFTPSession`` and the SFTP modules use, and
    connects as the hook does without a connection: system host keys (``no_host_key_check`` accepts
    any key, remembered in ``~/.ssh/known_hosts`` as the hook does), ``~/.ssh/config``'s
    ProxyCommand and IdentityFile, compression, keys looked up in ``~/.ssh``, a keepalive.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self.remote_host: str = options["host"]
        self.port: int = options["port"]
        self.username: str = options["sftp_user"] or getpass.getuser()
        self.password: str | None = options["sftp_password"]
        self.key_file: str | None = options["sftp_key_file"]
        self.no_host_key_check = bool(options["no_host_key_check"])
        self.conn_timeout: float = options["timeout"]
        self._ssh: SSHClient | None = None
        self._sftp: SFTPClient | None = None
        self._users = 0

    @contextmanager
    def get_managed_conn(self) -> Iterator[SFTPClient]:
        """One SFTP client shared by nested uses, closed when the outermost use ends (as the hook's)."""
        if self._sftp is None:
            ssh = self._connect()
            try:
                self._sftp = ssh.open_sftp()
            except BaseException:
                ssh.close()
                raise
            self._ssh = ssh
        self._users += 1
        try:
            yield self._sftp
        finally:
            self._users -= 1
            if self._users == 0:
                sftp, ssh, self._sftp, self._ssh = self._sftp, self._ssh, None, None
                sftp.close()
                if ssh is not None:
                    ssh.close()

    def create_directory(self, path: str, mode: int = 0o777) -> None:
        """``path`` and its missing parents, as ``SFTPHook.create_directory``."""
        with self.get_managed_conn() as client:
            if _is_kind(client, path, stat.S_ISDIR):
                return
            if _is_kind(client, path, stat.S_ISREG):
                raise OSError(f"{path} already exists and is a file")
            parent, name = posixpath.split(path)
            if parent and not _is_kind(client, parent, stat.S_ISDIR):
                self.create_directory(parent, mode)
            if name:
                client.mkdir(path, mode=mode)

    def _connect(self) -> SSHClient:
        import paramiko

        client = paramiko.SSHClient()
        client.load_system_host_keys()
        if self.no_host_key_check:
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # the option asks for it
            known_hosts = os.path.expanduser("~/.ssh/known_hosts")
            if os.path.isfile(known_hosts):
                client.load_host_keys(known_hosts)
        proxy_command, key_file = None, self.key_file
        config_path = os.path.expanduser("~/.ssh/config")
        if os.path.isfile(config_path):
            found = paramiko.SSHConfig.from_path(config_path).lookup(self.remote_host)
            proxy_command = found.get("proxycommand")
            if not (self.password or key_file) and found.get("identityfile"):
                key_file = found["identityfile"][0]
        try:
            client.connect(
                hostname=self.remote_host,
                port=self.port,
                username=self.username,
                password=self.password.strip() if self.password else None,
                key_filename=key_file or None,
                timeout=self.conn_timeout,
                compress=True,
                look_for_keys=True,
                banner_timeout=BANNER_TIMEOUT,
                sock=paramiko.ProxyCommand(proxy_command) if proxy_command else None,
            )
            transport = client.get_transport()
            if transport is not None:
                transport.set_keepalive(KEEPALIVE_SECONDS)
        except BaseException:
            client.close()
            raise
        return client


def _is_kind(client: SFTPClient, path: str, test: Any) -> bool:
    """Whether ``path`` exists and ``test`` (``stat.S_ISDIR``, ...) holds for its mode."""
    try:
        return bool(test(client.stat(path).st_mode or 0))
    except OSError:
        return False
