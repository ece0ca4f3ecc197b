"""SQL databases through SQLAlchemy: the URL rules shared by AlchemyPersistence and OdoWriter.

Which driver an Airflow connection type or a driverless URL gets (the ones Ozzy installs:
psycopg2 and PyMySQL), and how a URL is shown in messages (never with its password).
"""

from __future__ import annotations

from sqlalchemy import URL, make_url

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
