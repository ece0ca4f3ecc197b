"""SQL databases through SQLAlchemy: the URL rules shared by AlchemyPersistence and OdoWriter.

Which driver an Airflow connection type or a driverless URL gets (the ones Ozzy installs:
psycopg2 and PyMySQL), and how a URL is shown in messages (never with its password).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

from sqlalchemy import URL, make_url

from airflow_provider_ozzy.core.errors import OzzyError, permanent

# Airflow connection type -> SQLAlchemy driver
CONNECTION_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite",
}
# URLs without a driver get the one Ozzy installs (SQLAlchemy's defaults are psycopg 3 and mysqlclient)
_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg2",
    "postgres": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def parse_url(text: str) -> URL:
    """A SQLAlchemy URL; a bare ``postgresql://``/``mysql://`` gets psycopg2/pymysql as its driver."""
    url = make_url(text)
    return url.set(drivername=_DEFAULT_DRIVERS.get(url.drivername, url.drivername))


def safe_url(url: URL) -> str:
    """``url`` for messages: the password, if any, shown as ``***``."""
    return url.render_as_string(hide_password=True)


def mask_secrets(text: str, secrets: Iterable[object]) -> str:
    """``text`` with each secret (skipping blanks and non-strings) shown as ``***``, also in its
    URL-quoted form, which is how a password appears inside a rendered URL."""
    for secret in secrets:
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***").replace(urllib.parse.quote(secret, safe=""), "***")
    return text


def airflow_connection(conn_id: str, who: str, error_class: type[OzzyError], detail: str = "") -> Any:
    """Airflow connection ``conn_id``; a failure (unknown id, no Airflow context to ask) raises
    ``error_class`` as ``<who>: cannot get Airflow connection '<id>'<detail>: <error>``."""
    from airflow.providers.common.compat.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as error:  # AirflowNotFoundException, or no Airflow context to ask
        raise permanent(
            error_class(
                f"{who}: cannot get Airflow connection '{conn_id}'{detail}: {type(error).__name__}: {error}"
            )
        ) from None


def connection_driver(connection: Any) -> tuple[str, str | None]:
    """An Airflow connection's type (lower case) and its SQLAlchemy driver (``None``: Ozzy knows none)."""
    conn_type = (connection.conn_type or "").lower()
    return conn_type, CONNECTION_DRIVERS.get(conn_type)


def server_url(connection: Any, driver: str) -> URL:
    """The URL of a database server from an Airflow connection's fields (blank ones left out);
    one rule for AlchemyPersistence and OdoWriter, which differ only in their messages."""
    return URL.create(
        driver,
        username=connection.login or None,
        password=connection.password or None,
        host=connection.host or None,
        port=connection.port or None,
        database=connection.schema or None,
    )
