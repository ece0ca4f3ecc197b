"""Database servers of this machine (PostgreSQL, MariaDB): started when down, once per session.

A fresh CI machine may have either server stopped. Each fixture starts its server when its port
refuses connections and waits until a login succeeds. A server that cannot be started fails the
test with the command's output: nothing is skipped.

``tests/conftest.py`` registers this module as a plugin: tests ask for ``postgresql_server`` or
``mariadb_server`` (or ``request.getfixturevalue`` them when only some parameters need a server).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.servers.process_server import port_accepts

HOST = "127.0.0.1"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class DatabaseServer:
    """A running server and the database tests use on it (trust/empty-password logins)."""

    name: str
    host: str
    port: int
    user: str
    database: str
    driver: str  # SQLAlchemy dialect+driver

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return f"{self.driver}://{self.user}@{self.host}:{self.port}/{self.database}"


def _postgresql_start_command() -> list[str]:
    versions = sorted(
        os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()]
    )
    if not versions:
        raise FileNotFoundError("no cluster under /etc/postgresql")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]


def _mariadb_start_command() -> list[str]:
    return ["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"]


def _postgresql_login(server: DatabaseServer) -> None:
    import psycopg2

    psycopg2.connect(
        host=server.host, port=server.port, user=server.user, dbname=server.database, connect_timeout=2
    ).close()


def _mariadb_login(server: DatabaseServer) -> None:
    import pymysql

    pymysql.connect(
        host=server.host, port=server.port, user=server.user, database=server.database, connect_timeout=2
    ).close()


def ensure_running(
    server: DatabaseServer, start_command: Callable[[], list[str]], login: Callable[[DatabaseServer], None]
) -> DatabaseServer:
    """Start ``server`` unless its port accepts connections, then wait until a login succeeds."""
    started = ""
    if not port_accepts(server.port, server.host):
        try:
            command = start_command()
            result = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as error:
            pytest.fail(
                f"{server.name} is down on {server.host}:{server.port} and could not be started: {error}"
            )
        started = (
            f" (started with `{' '.join(command)}`: exit {result.returncode}, "
            f"output {(result.stdout + result.stderr).strip()[-1000:]!r})"
        )
    deadline = time.monotonic() + START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            login(server)
            return server
        except Exception as error:  # not accepting connections or logins yet
            last_error = error
            time.sleep(0.2)
    pytest.fail(
        f"{server.name} does not accept logins on {server.host}:{server.port} after {START_TIMEOUT:.0f}s"
        f"{started}: {last_error}"
    )


@pytest.fixture(scope="session")
def postgresql_server() -> DatabaseServer:
    """PostgreSQL on 127.0.0.1:5432 (trust authentication), database ``test``."""
    server = DatabaseServer("PostgreSQL", HOST, 5432, "postgres", "test", "postgresql+psycopg2")
    return ensure_running(server, _postgresql_start_command, _postgresql_login)


@pytest.fixture(scope="session")
def mariadb_server() -> DatabaseServer:
    """MariaDB on 127.0.0.1:3306 (root, empty password), database ``test``."""
    server = DatabaseServer("MariaDB", HOST, 3306, "root", "test", "mysql+pymysql")
    return ensure_running(server, _mariadb_start_command, _mariadb_login)
