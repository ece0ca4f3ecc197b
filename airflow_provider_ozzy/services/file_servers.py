"""Sessions with file servers (SFTP, FTP) shared by their readers and writers.

A session resolves its Airflow connection (or the legacy explicit options) when first used, keeps
one connection open, and runs each operation under the shared retry policy: a transient failure
(refused or dropped connection, timeout) closes the connection, and the next attempt reconnects.
What finally fails becomes the module's error, naming the server and the path, with every secret
removed from the message.
"""

from __future__ import annotations

import posixpath
import socket
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.redaction import mask
from airflow_provider_ozzy.core.retries import TransientError, current_policy, is_transient, retrying

C = TypeVar("C")
T = TypeVar("T")

PARTIAL_SUFFIX = ".ozzy-partial"


class Endpoint(NamedTuple):
    """Where a session connects, for messages: never holds a password."""

    scheme: str
    host: str
    port: int | None
    user: str | None

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{user}{self.host}{port}"


def server_options(
    scheme: str,
    default_port: int,
    connection_help: str,
    user_help: str,
    timeout_help: str,
    own: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The options every module of a file server declares: the Airflow connection
    (``<scheme>_conn_id``), or exporters' legacy host, port, user and password (also read from
    ``EXPORTERS_<SCHEME>_USER`` / ``_PASSWORD``), the protocol's ``own`` options, and the timeout."""
    conn_option, env = f"{scheme}_conn_id", f"EXPORTERS_{scheme.upper()}"
    return {
        conn_option: {
            "type": (str, type(None)),
            "default": None,
            "help": f"Airflow {scheme.upper()} connection: {connection_help}. Give this or 'host'.",
        },
        "host": {
            "type": (str, type(None)),
            "default": None,
            "help": f"Legacy: server name (without {conn_option}).",
        },
        "port": {
            "type": int,
            "minimum": 1,
            "maximum": 65535,
            "default": default_port,
            "help": "Legacy: server port.",
        },
        f"{scheme}_user": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": f"{env}_USER",
            "help": user_help,
        },
        f"{scheme}_password": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": f"{env}_PASSWORD",
            "secret": True,
            "help": "Legacy: password.",
        },
        **(own or {}),
        "timeout": {
            "type": (int, float),
            "minimum": 0.001,
            "maximum": 86400,
            "default": 60,
            "help": timeout_help,
        },
    }


def server_problems(
    values: dict[str, Any], conn_option: str, default_port: int, own: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    """(option, message) for a contradictory or incomplete server choice: one set of rules for SFTP
    and FTP, which name their connection option ``conn_option``; ``own`` are a protocol's own
    problems, listed before the port's and the timeout's."""
    problems = []
    if values[conn_option] and values["host"]:
        problems.append(("host", f"give either '{conn_option}' (an Airflow connection) or 'host', not both"))
    elif not values[conn_option] and not values["host"]:
        problems.append(("host", f"give '{conn_option}' (an Airflow connection) or 'host'"))
    if values[conn_option] and values["port"] != default_port:
        problems.append(("port", f"with '{conn_option}' the port comes from the connection: remove 'port'"))
    problems.extend(own)
    if not 0 < values["port"] < 65536:
        problems.append(("port", f"option 'port' must be a TCP port, got {values['port']}"))
    if values["timeout"] <= 0:
        problems.append(("timeout", "option 'timeout' must be a positive number of seconds"))
    return problems


def partial_name(path: str) -> str:
    """The hidden name a file is uploaded under before it is renamed to ``path``."""
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}{PARTIAL_SUFFIX}")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` without ``secrets`` nor any other secret (``redaction.mask``)."""
    return mask(text, secrets)


class ShortWriteError(OSError):
    """The server holds fewer bytes than were sent (full disk, quota): not worth retrying."""


class RemoteSession(Generic[C]):
    """One connection to a file server, reopened after transient failures.

    The connection comes from the provider's hook for the Airflow connection ``<scheme>_conn_id``,
    or from a legacy stand-in for the hook built from the ``server_options`` (host, port, user,
    password). Subclasses make the hook, open and close the connection, and say which failures of
    their protocol are transient and how to explain them; ``run`` does the rest.

    :param owner: the module using the session, named in messages (``SFTPWriter``).
    :param error_class: what final failures become (``WriterError``, ``ReaderError``).
    :param options: the module's resolved options (see ``server_options``).
    """

    scheme: ClassVar[str]

    def __init__(self, owner: str, error_class: type[OzzyError], options: dict[str, Any]) -> None:
        self.owner = owner
        self.error_class = error_class
        self.options = options
        self._hook: Any = None
        self._connection: C | None = None
        self.retry_policy = current_policy()  # the export's budget, also in the threads it starts

    # -- to implement -------------------------------------------------------------------------------
    def _airflow_hook(self, conn_id: str) -> Any:
        """The provider's hook for the Airflow connection ``conn_id`` (imports Airflow)."""
        raise NotImplementedError

    def _legacy_hook(self) -> Any:
        """A stand-in for the hook, built from the legacy options without importing Airflow."""
        raise NotImplementedError

    def _hook_endpoint(self) -> Endpoint:
        """Where the hook connects."""
        raise NotImplementedError

    def _hook_password(self) -> str | None:
        raise NotImplementedError

    def _open(self) -> C:
        raise NotImplementedError

    def _close(self, connection: C, graceful: bool) -> None:
        raise NotImplementedError

    def _is_alive(self, connection: C) -> bool:
        """Whether ``connection`` still works (``True`` when that cannot be known)."""
        return True

    def is_transient(self, error: BaseException) -> bool:
        if isinstance(error, EOFError):
            return True  # the server closed the connection
        return is_transient(error)

    def _explain_protocol(self, error: BaseException) -> str | None:
        """What ``error`` means in the protocol's terms (``None``: nothing particular)."""
        return None

    # -- the session ---------------------------------------------------------------------------------
    def hook(self) -> Any:
        """The hook (it reads the Airflow connection once, when created), or the legacy options'
        stand-in, which offers the same attributes and methods."""
        if self._hook is None:
            conn_id = self.options[f"{self.scheme}_conn_id"]
            self._hook = self._airflow_hook(conn_id) if conn_id else self._legacy_hook()
        return self._hook

    def endpoint(self) -> Endpoint:
        conn_id = self.options[f"{self.scheme}_conn_id"]
        if self._hook is None and conn_id:
            try:
                self.hook()
            except Exception:
                return Endpoint(self.scheme, f"(Airflow connection '{conn_id}')", None, None)
        if self._hook is None:
            options = self.options
            return Endpoint(self.scheme, options["host"], options["port"], options[f"{self.scheme}_user"])
        return self._hook_endpoint()

    def secrets(self) -> list[str | None]:
        """Values that must never appear in a message."""
        found = [self.options[f"{self.scheme}_password"]]
        if self._hook is not None:
            found.append(self._hook_password())
        return found

    def explain(self, error: BaseException) -> str:
        """``error`` for a message: what file servers share, then the protocol's own meanings."""
        if isinstance(error, ShortWriteError):
            return str(error)
        if isinstance(error, socket.gaierror):
            return f"cannot resolve the host name: {error}"
        if isinstance(error, ConnectionRefusedError):
            return f"cannot connect: {error.strerror}"
        if isinstance(error, EOFError):
            return "the server closed the connection"
        return self._explain_protocol(error) or f"{type(error).__name__}: {error}"

    def connection(self) -> C:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def reset(self) -> None:
        """Drop the connection (after a failure): the next operation reconnects."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                self._close(connection, graceful=False)
            except Exception:  # a broken connection may fail to close; it is gone either way
                pass

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                self._close(connection, graceful=True)
            except Exception:
                pass

    def describe(self, error: BaseException) -> str:
        return redact(self.explain(error), self.secrets())

    def run(self, action: str, path: str, operation: Callable[[C], T], attempts: int | None = None) -> T:
        """``operation(connection)`` under the retry policy; a final failure raises ``error_class``.

        :param action: what is being done, for messages (``upload``, ``check``).
        :param path: the remote path concerned, for messages.
        """

        def attempt() -> T:
            try:
                return operation(self.connection())
            except OzzyError:
                raise
            except Exception as error:
                # whatever the error says, a connection that died under it is worth another try
                lost = self._connection is not None and not self._is_alive(self._connection)
                self.reset()
                if lost or self.is_transient(error):
                    raise TransientError(self.describe(error), original=error) from error
                raise

        try:
            return retrying(attempts, what=self.what(action, path), policy=self.retry_policy)(attempt)
        except Exception as error:
            # a transient failure that outlived the retries is told by the error it stands for
            original: BaseException = error
            if isinstance(error, TransientError) and error.original is not None:
                original = error.original
            elif isinstance(error, OzzyError):
                raise
            raise self.error_class(self.failure(action, path, original)) from None

    def connect_for_writing(self, directory: str) -> None:
        """A writer connects when it opens: a wrong password or host fails the job before any input is read."""
        self.run("write to", directory or ".", lambda connection: None)

    def size_problems(self, path: str, expected: int, size_of: Callable[[C], int | None]) -> list[str]:
        """``check_consistency``'s finding for ``path``, whose size ``size_of`` reads (``None``: absent):
        the same messages for every file server."""
        size = self.run("check", path, size_of)
        where = self.endpoint()
        if size is None:
            return [f"{path} is not present on {where}"]
        if size != expected:
            return [f"{path} on {where} has {size} bytes, expected {expected}"]
        return []

    def what(self, action: str, path: str) -> str:
        """``SFTP upload host:port/path``: an operation and its place, for the retry log lines."""
        try:
            endpoint = self.endpoint()
        except Exception:  # the connection cannot be resolved: the final error says why
            return f"{self.owner} {action} {path}"
        port = f":{endpoint.port}" if endpoint.port else ""
        return f"{endpoint.scheme.upper()} {action} {endpoint.host}{port}/{path.lstrip('/')}"

    def failure(self, action: str, path: str, error: BaseException) -> str:
        try:
            where = str(self.endpoint())
        except Exception:
            where = "the server"
        return redact(
            f"{self.owner}: cannot {action} {path} on {where}: {self.explain(error)}", self.secrets()
        )
