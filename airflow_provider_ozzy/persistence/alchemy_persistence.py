"""Job state in a database of its own through SQLAlchemy: PostgreSQL, MySQL/MariaDB or SQLite.

Never Airflow's metadata database: tasks cannot use it in Airflow 3, and job state must outlive
the metadata DB's cleanups. Give the state database as an Airflow connection (``conn_id``,
resolved when the job starts, so the DAG parses without network access) or as a SQLAlchemy URL
(``url``; the ``ozzy`` command line then imports no Airflow code).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    URL,
    Boolean,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    make_url,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.engine.secret_options import strip_secrets
from airflow_provider_ozzy.persistence.base_persistence import (
    BasePersistence,
    LockedPersistence,
    parse_stored,
    state_json,
)
from airflow_provider_ozzy.persistence.job_lock import FileJobLock, lock_key
from airflow_provider_ozzy.services.sql import (
    CONNECTION_DRIVERS,
    airflow_connection,
    connection_driver,
    mask_secrets,
    parse_url,
    safe_url,
    server_url,
)

DEFAULT_TABLE = "ozzy_job"
PASSWORD_ENV = "OZZY_DB_PASSWORD"
MAX_JOB_ID_LENGTH = 750  # VARCHAR primary key: 750 utf8mb4 characters fit InnoDB's 3072-byte index limit

# SQLAlchemy backend -> scheme of the ``ozzy resume`` URI
URI_SCHEMES = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}
_URI_DRIVERS = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql", "sqlite": "sqlite"}
_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_LEGACY = ("user", "password", "host", "port", "database")
_COMMIT_ATTEMPTS = 4
_CONNECT_TIMEOUT = 10

_LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_TIMESTAMP = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def job_table(name: str = DEFAULT_TABLE) -> Table:
    """The job table: one row per job, its configuration and last committed position as JSON."""
    return Table(
        name,
        MetaData(),
        Column("id", String(MAX_JOB_ID_LENGTH), primary_key=True),
        Column("configuration", _LONG_TEXT, nullable=False),
        Column("last_position", _LONG_TEXT, nullable=True),
        Column("last_committed", _TIMESTAMP, nullable=True),  # UTC
        Column("job_finished", Boolean, nullable=False, default=False),
    )


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _port(value: Any) -> int | None:
    """The legacy ``port`` option: an integer, digits, or empty (exporters' SQLite default)."""
    if _blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"option 'port' must be a port number, got {value!r}")


def _other_secrets_stripped(configuration: dict[str, Any]) -> dict[str, Any]:
    """Every section but persistence without its secrets (``secret_options``); the persistence
    section keeps its URL without the password (``without_secrets``), which a resume needs."""
    stripped = strip_secrets(configuration)[0]
    if "persistence" in configuration:
        stripped["persistence"] = configuration["persistence"]
    return stripped


def without_secrets(configuration: dict[str, Any]) -> dict[str, Any]:
    """The configuration to store: the persistence section loses its password (option or in ``url``)."""
    section = configuration.get("persistence")
    if not isinstance(section, dict) or not isinstance(section.get("options"), dict):
        return configuration
    options = dict(section["options"])
    options.pop("password", None)
    if isinstance(options.get("url"), str):
        try:
            options["url"] = (
                make_url(options["url"])._replace(password=None).render_as_string(hide_password=False)
            )
        except (ArgumentError, ValueError):
            options.pop("url")
    return dict(configuration, persistence=dict(section, options=options))


class AlchemyPersistence(LockedPersistence):
    """Job state in table ``ozzy_job`` of a PostgreSQL, MySQL/MariaDB or SQLite database.

    Give the database as ``conn_id`` (an Airflow connection of type postgres, mysql or sqlite; for
    sqlite the host, else the schema, is the file path) or as ``url`` (a SQLAlchemy URL), never
    both. The legacy options ``user``, ``password``, ``host``, ``port`` and ``database`` override
    the matching parts; with ``MysqlPersistence``, ``PostgresqlPersistence`` and
    ``SqlitePersistence`` (exporters' classes) they may describe the database on their own.

    The table ``ozzy_job(id, configuration, last_position, last_committed, job_finished)`` is
    created when missing; each ``commit`` is one ``UPDATE`` in one transaction. The job id is the
    exporter's (the operator's default: dag_id/task_id/run_id/map_index) or a new uuid.

    ``ozzy resume`` takes these URIs (``uri`` prints them for a job, without its password):

    * ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE/JOB_ID``
    * ``mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE/JOB_ID`` (MySQL and MariaDB)
    * ``sqlite://PATH:JOB_ID``, e.g. ``sqlite:///var/lib/ozzy/state.db:JOB_ID`` for the absolute
      path ``/var/lib/ozzy/state.db`` (everything between ``sqlite://`` and the last ``:`` is the
      path)

    The job id is percent-encoded (``/`` kept; in the sqlite form ``:`` is written ``%3A``).
    ``?table=NAME`` follows when the table is not ``ozzy_job``; for PostgreSQL and MySQL other
    query parameters go to the driver (e.g. ``?sslmode=require``). Without a password in the URI,
    the password comes from the environment variable ``OZZY_DB_PASSWORD``.

    The stored configuration keeps the persistence section without its password.
    """

    dialect: ClassVar[str | None] = None  # fixed by the legacy subclasses
    supported_options = {
        "conn_id": {
            "type": str,
            "default": None,
            "help": "Airflow connection of the state database (postgres, mysql or sqlite); "
            "resolved when the job starts.",
        },
        "url": {
            "type": str,
            "default": None,
            "secret": True,
            "help": "SQLAlchemy URL of the state database, e.g. postgresql+psycopg2://user@host:5432/db "
            "(instead of conn_id).",
        },
        "table": {
            "type": str,
            "default": DEFAULT_TABLE,
            "help": "Table of the job states (created when missing).",
        },
        "user": {"type": str, "default": None, "help": "User name (overrides the URL's or connection's)."},
        "password": {
            "type": str,
            "default": None,
            "secret": True,
            "help": f"Password (default: the URL's or connection's, else env {PASSWORD_ENV}).",
        },
        "host": {
            "type": str,
            "default": None,
            "help": "Database host (overrides the URL's or connection's).",
        },
        "port": {
            "type": (int, str),
            "minimum": 1,
            "maximum": 65535,
            "default": None,
            "help": "Database port (overrides the URL's or connection's).",
        },
        "database": {
            "type": str,
            "default": None,
            "help": "Database name, or the file path for SQLite (overrides the URL's or connection's).",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._url: URL | None = None
        self._engine: Engine | None = None
        self.table = job_table(self.options["table"])
        self._file_lock: FileJobLock | None = None
        self._lock_connection: Connection | None = None

    # -- validation (no network) ---------------------------------------------------------------------
    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        url, conn_id = values.get("url"), values.get("conn_id")
        if not _blank(url) and not _blank(conn_id):
            problems.append(Problem("url", "give either 'url' or 'conn_id' for the state database, not both"))
        elif _blank(url) and _blank(conn_id):
            if cls.dialect is None:
                legacy = [name for name in _LEGACY if not _blank(values.get(name))]
                hint = (
                    f"; the legacy options ({', '.join(legacy)}) alone need MysqlPersistence, "
                    "PostgresqlPersistence or SqlitePersistence"
                    if legacy
                    else ""
                )
                problems.append(
                    Problem(
                        "conn_id",
                        "give the state database as 'conn_id' (an Airflow connection) or as 'url' "
                        f"(a SQLAlchemy URL){hint}",
                    )
                )
            elif _blank(values.get("database")):
                path = " (the file path)" if cls.dialect == "sqlite" else ""
                problems.append(
                    Problem("database", f"missing option 'database'{path}; or give 'url' or 'conn_id'")
                )
        if isinstance(url, str) and url:
            problems.extend(cls._check_url(url))
        try:
            _port(values.get("port"))
        except ValueError as error:
            problems.append(Problem("port", str(error)))
        table = values.get("table")
        if isinstance(table, str) and not _TABLE_NAME.match(table):
            problems.append(
                Problem(
                    "table", f"option 'table' must be a plain SQL name (letters, digits, _), got {table!r}"
                )
            )
        return problems

    @classmethod
    def _check_url(cls, url: str) -> list[Problem]:
        try:
            parsed = parse_url(url)
        except (ArgumentError, ValueError):
            # the value may hold a password: never show it
            return [
                Problem(
                    "url", "option 'url' is not a SQLAlchemy URL (dialect+driver://user@host:port/database)"
                )
            ]
        backend = parsed.get_backend_name()
        if backend not in URI_SCHEMES:
            return [
                Problem(
                    "url",
                    f"option 'url': unsupported database '{backend}' (use postgresql, mysql, mariadb or sqlite)",
                )
            ]
        if cls.dialect is not None and URI_SCHEMES[backend] != cls.dialect:
            return [Problem("url", f"option 'url' is a {backend} URL; {cls.__name__} needs {cls.dialect}")]
        if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
            return [Problem("url", "option 'url': an in-memory SQLite database cannot keep job state")]
        return []

    # -- where the database is -----------------------------------------------------------------------
    @property
    def url(self) -> URL:
        """The state database's URL (resolves ``conn_id`` through Airflow on first use)."""
        if self._url is None:
            self._url = self._resolve_url()
        return self._url

    def _resolve_url(self) -> URL:
        options = self.options
        if not _blank(options["url"]):
            url = parse_url(options["url"])
        elif not _blank(options["conn_id"]):
            url = self._connection_url(options["conn_id"])
        else:  # legacy subclass: the database from the legacy options alone
            url = URL.create(_URI_DRIVERS[self.dialect or "sqlite"])
        if url.get_backend_name() == "sqlite":  # a file: user, password, host and port mean nothing
            database = options["database"] if not _blank(options["database"]) else url.database
            if database in (None, "", ":memory:"):
                raise PersistenceError(
                    "AlchemyPersistence: an in-memory SQLite database cannot keep job state"
                )
            return url.set(database=os.path.abspath(database or ""))
        overrides: dict[str, Any] = {}
        for option, part in (
            ("user", "username"),
            ("password", "password"),
            ("host", "host"),
            ("database", "database"),
        ):
            if not _blank(options[option]):
                overrides[part] = options[option]
        port = _port(options["port"])
        if port is not None:
            overrides["port"] = port
        url = url.set(**overrides)
        if url.password is None and os.environ.get(PASSWORD_ENV):
            url = url.set(password=os.environ[PASSWORD_ENV])
        return url

    def _connection_url(self, conn_id: str) -> URL:
        connection = airflow_connection(conn_id, "AlchemyPersistence", PersistenceError)
        conn_type, driver = connection_driver(connection)
        if driver is None:
            raise PersistenceError(
                f"AlchemyPersistence: connection '{conn_id}' has type '{conn_type}'; "
                f"supported types: {', '.join(sorted(CONNECTION_DRIVERS))}"
            )
        if driver == "sqlite":
            path = connection.host or connection.schema
            if not path:
                raise PersistenceError(
                    f"AlchemyPersistence: sqlite connection '{conn_id}' names no file (set its host or schema)"
                )
            return URL.create("sqlite", database=path)
        return server_url(connection, driver)

    def _engine_(self) -> Engine:
        if self._engine is None:
            url = self.url
            connect_args: dict[str, Any] = {}
            if url.get_backend_name() == "sqlite":
                os.makedirs(os.path.dirname(url.database or "") or ".", exist_ok=True)
            else:
                connect_args["connect_timeout"] = _CONNECT_TIMEOUT
            try:
                self._engine = create_engine(url, connect_args=connect_args)
            except ImportError as error:
                raise PersistenceError(
                    f"AlchemyPersistence: the database driver for {url.drivername} is not installed ({error})"
                ) from None
        return self._engine

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        """One transaction; database errors become ``PersistenceError`` naming the place, never the password."""
        try:
            with self._engine_().begin() as connection:
                yield connection
        except SQLAlchemyError as error:
            raise PersistenceError(self._describe(action, error)) from None

    def _describe(self, action: str, error: SQLAlchemyError) -> str:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        lowered = reason.lower()
        if "password" in lowered or "access denied" in lowered or "authentication" in lowered:
            reason += (
                f" (check the password: option 'password', the URL's or connection's, or env {PASSWORD_ENV})"
            )
        message = f"AlchemyPersistence: cannot {action} (table '{self.table.name}' at {safe_url(self.url)}): {reason}"
        return self._redact(message)

    def _redact(self, text: str) -> str:
        return mask_secrets(text, (self.url.password, self.options["password"], os.environ.get(PASSWORD_ENV)))

    def _create_table(self) -> None:
        with self._transaction("create the job table") as connection:
            if inspect(connection).has_table(self.table.name):
                return
        try:
            with self._engine_().begin() as connection:
                self.table.create(connection, checkfirst=True)
        except SQLAlchemyError as error:
            # another job may have created it at the same moment
            with self._transaction("create the job table") as connection:
                if inspect(connection).has_table(self.table.name):
                    return
            raise PersistenceError(self._describe("create the job table", error)) from None

    # -- the contract -----------------------------------------------------------------------------------
    def _prepare(self) -> None:
        if len(self.job_id) > MAX_JOB_ID_LENGTH:
            raise PersistenceError(
                f"AlchemyPersistence: job id is {len(self.job_id)} characters long (at most {MAX_JOB_ID_LENGTH})"
            )
        self._create_table()

    # -- one runner per job ----------------------------------------------------------------------------
    def _take_lock(self) -> None:
        """SQLite: a byte of ``<database>.ozzy-locks`` (``job_lock``); PostgreSQL: a session advisory
        lock; MySQL/MariaDB: ``GET_LOCK``. Held until ``close``; the server drops it with the session."""
        self._release_lock()
        key = lock_key(self.table.name, self.job_id)
        backend = self.url.get_backend_name()
        if backend == "sqlite":
            lock = FileJobLock(f"{self.url.database}.ozzy-locks", self.table.name, self.job_id)
            taken = lock.acquire()
            self._file_lock = lock if taken else None
        else:
            if backend == "postgresql":
                statement = sql_text("SELECT pg_try_advisory_lock(:key)")
                parameters: dict[str, Any] = {"key": int.from_bytes(key[:8], "big", signed=True)}
            else:  # MySQL/MariaDB: lock names are at most 64 characters
                statement = sql_text("SELECT GET_LOCK(:key, 0)")
                parameters = {"key": f"ozzy-{key.hex()[:40]}"}
            try:
                connection = self._engine_().connect()
                taken = bool(connection.execute(statement, parameters).scalar())
                connection.commit()  # the lock is the session's; no transaction stays open
            except SQLAlchemyError as error:
                raise PersistenceError(self._describe("lock the job", error)) from None
            if taken:
                self._lock_connection = connection
            else:
                connection.close()
        if not taken:
            raise PersistenceError(
                f"AlchemyPersistence: job '{self.job_id}' is already running (another process holds its "
                f"lock at {safe_url(self.url)}); wait for it to end or stop it, then resume"
            )

    def _release_lock(self) -> None:
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None:
            # closing the session frees the lock; unlocking first frees it even when the
            # connection goes back to a pool
            with contextlib.suppress(SQLAlchemyError):
                key = lock_key(self.table.name, self.job_id)
                if self.url.get_backend_name() == "postgresql":
                    connection.execute(
                        sql_text("SELECT pg_advisory_unlock(:key)"),
                        {"key": int.from_bytes(key[:8], "big", signed=True)},
                    )
                else:
                    connection.execute(
                        sql_text("SELECT RELEASE_LOCK(:key)"), {"key": f"ozzy-{key.hex()[:40]}"}
                    )
                connection.commit()
            with contextlib.suppress(SQLAlchemyError):
                connection.close()

    def _open(self, resume: bool | None) -> dict[str, Any] | None:
        configuration = self.configuration
        stored = orjson.dumps(without_secrets(_other_secrets_stripped(configuration)), default=str).decode()
        table = self.table
        with self._transaction("open the job") as connection:
            row = connection.execute(
                select(table.c.configuration, table.c.last_position).where(table.c.id == self.job_id)
            ).first()
            if row is None:
                if resume:
                    raise PersistenceError(
                        f"AlchemyPersistence: nothing to resume: no job '{self.job_id}' in table "
                        f"'{table.name}' at {safe_url(self.url)}"
                    )
                connection.execute(
                    table.insert().values(
                        id=self.job_id, configuration=stored, last_position=None, job_finished=False
                    )
                )
            else:
                if resume is False:
                    raise PersistenceError(
                        f"AlchemyPersistence: job '{self.job_id}' already exists in table '{table.name}'; "
                        f"resume it with `ozzy resume {self.uri}` or use another job id"
                    )
                # refuses a changed deciding configuration before anything is written
                state = self.check_resume(self._decode(row.last_position))
                if row.configuration != stored:
                    connection.execute(
                        table.update().where(table.c.id == self.job_id).values(configuration=stored)
                    )
        if row is None:
            self.log.info("Created job with id: %s (resume with: ozzy resume %s)", self.job_id, self.uri)
            return None
        if state is not None:
            self.log.info("Resuming job %s from its committed state in %s", self.job_id, safe_url(self.url))
        return state

    def _decode(self, text: str | None) -> dict[str, Any] | None:
        if text is None:
            return None
        state = parse_stored(text, f"AlchemyPersistence: job '{self.job_id}' has a damaged last_position")
        if state is not None and not isinstance(state, dict):
            raise PersistenceError(f"AlchemyPersistence: job '{self.job_id}' has no state object")
        return state

    def commit(self, state: dict[str, Any]) -> None:
        position = state_json(self.stamped(state)).decode()
        values = {
            "last_position": position,
            "last_committed": datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
            "job_finished": bool(state.get("finished")),
        }
        statement = self.table.update().where(self.table.c.id == self.job_id).values(**values)
        retries = 1 if os.environ.get("OZZY_DISABLE_RETRIES") == "1" else _COMMIT_ATTEMPTS
        for attempt in range(1, retries + 1):
            try:
                with self._engine_().begin() as connection:
                    updated = connection.execute(statement).rowcount
                break
            except DBAPIError as error:
                # a dropped connection: the UPDATE is idempotent, so trying again is safe
                if not error.connection_invalidated or attempt == retries:
                    raise PersistenceError(self._describe("commit the position", error)) from None
                self.log.warning(
                    "Lost the connection to the state database; commit attempt %d again", attempt + 1
                )
                time.sleep(0.5 * 2 ** (attempt - 1))
            except SQLAlchemyError as error:
                raise PersistenceError(self._describe("commit the position", error)) from None
        if updated != 1:
            raise PersistenceError(
                f"AlchemyPersistence: job '{self.job_id}' is gone from table '{self.table.name}' at "
                f"{safe_url(self.url)}; its position could not be committed"
            )

    def delete(self) -> None:
        with self._transaction("delete the job") as connection:
            connection.execute(self.table.delete().where(self.table.c.id == self.job_id))

    def load_configuration(self, job_id: str) -> dict[str, Any]:
        self.job_id = job_id
        table = self.table
        if self.url.get_backend_name() == "sqlite" and not os.path.isfile(self.url.database or ""):
            raise PersistenceError(
                f"AlchemyPersistence: no SQLite database {self.url.database} (no job was stored there)"
            )
        with self._transaction("read the job") as connection:
            if not inspect(connection).has_table(table.name):
                raise PersistenceError(
                    f"AlchemyPersistence: no table '{table.name}' at {safe_url(self.url)} (no job was stored there)"
                )
            text = connection.execute(select(table.c.configuration).where(table.c.id == job_id)).scalar()
        if text is None:
            raise PersistenceError(
                f"AlchemyPersistence: no job '{job_id}' in table '{table.name}' at {safe_url(self.url)}"
            )
        configuration = parse_stored(text, f"AlchemyPersistence: job '{job_id}' has a damaged configuration")
        if not isinstance(configuration, dict):
            raise PersistenceError(f"AlchemyPersistence: job '{job_id}' holds no configuration")
        return configuration

    def close(self) -> None:
        self._release_lock()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- ozzy resume URIs --------------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """``ozzy resume`` URI of the job, without the password (see the class docstring)."""
        if self._url is None and _blank(self.options["url"]) and not _blank(self.options["conn_id"]):
            return ""  # the connection is resolved in open()
        url = self.url
        scheme = URI_SCHEMES.get(url.get_backend_name(), url.get_backend_name())
        query: dict[str, Any] = {}
        if scheme != "sqlite":  # driver parameters such as sslmode
            query.update((key, value) for key, value in url.query.items() if key != "table")
        if self.table.name != DEFAULT_TABLE:
            query["table"] = self.table.name
        suffix = f"?{urllib.parse.urlencode(query, doseq=True)}" if query else ""
        if scheme == "sqlite":
            job = urllib.parse.quote(self.job_id, safe="/+@=,")
            return f"sqlite://{url.database}:{job}{suffix}"
        netloc = url.host or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if url.port:
            netloc += f":{url.port}"
        if url.username:
            netloc = f"{urllib.parse.quote(url.username, safe='')}@{netloc}"
        database = urllib.parse.quote(url.database or "", safe="")
        job = urllib.parse.quote(self.job_id, safe="/:+@=,")
        return f"{scheme}://{netloc}/{database}/{job}{suffix}"

    @classmethod
    def from_uri(cls, uri: str) -> tuple[BasePersistence, str]:
        scheme, _, rest = uri.partition("://")
        if scheme not in _URI_DRIVERS or not rest:
            raise PersistenceError(
                f"AlchemyPersistence: '{uri.split('@')[-1]}' is not a postgresql://, mysql:// or sqlite:// job URI"
            )
        target = _DIALECT_CLASSES.get(scheme, cls)
        if scheme == "sqlite":
            rest, _, query_text = rest.partition("?")
            path, _, job = rest.rpartition(":")
            if not path or not job:
                raise PersistenceError(f"AlchemyPersistence: '{uri}' is not of the form sqlite://PATH:JOB_ID")
            query = urllib.parse.parse_qs(query_text)
            table = query.pop("table", [DEFAULT_TABLE])[-1]
            options: dict[str, Any] = {
                "url": URL.create("sqlite", database=path).render_as_string(),
                "table": table,
            }
            return target(options), urllib.parse.unquote(job)
        parts = urllib.parse.urlsplit(uri)
        database, _, job = parts.path.lstrip("/").partition("/")
        if not database or not job:
            shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
            raise PersistenceError(
                f"AlchemyPersistence: '{shown}' is not of the form {scheme}://USER@HOST:PORT/DATABASE/JOB_ID"
            )
        query = urllib.parse.parse_qs(parts.query)
        table = query.pop("table", [DEFAULT_TABLE])[-1]
        try:
            port = parts.port
        except ValueError:
            raise PersistenceError(
                f"AlchemyPersistence: bad port in '{parts.hostname}' of the job URI"
            ) from None
        url = URL.create(
            _URI_DRIVERS[scheme],
            username=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
            host=parts.hostname,
            port=port,
            database=urllib.parse.unquote(database),
            query={key: values[-1] for key, values in query.items()},
        )
        persistence = target({"url": url.render_as_string(hide_password=False), "table": table})
        return persistence, urllib.parse.unquote(job)


class PostgresqlPersistence(AlchemyPersistence):
    """exporters' PostgreSQL persistence: AlchemyPersistence on a PostgreSQL database."""

    dialect = "postgresql"
    uri_scheme = "postgresql"


class MysqlPersistence(AlchemyPersistence):
    """exporters' MySQL persistence: AlchemyPersistence on a MySQL or MariaDB database."""

    dialect = "mysql"
    uri_scheme = "mysql"


class SqlitePersistence(AlchemyPersistence):
    """exporters' SQLite persistence: AlchemyPersistence on a SQLite file (``database`` is its path)."""

    dialect = "sqlite"
    uri_scheme = "sqlite"


_DIALECT_CLASSES: dict[str, type[AlchemyPersistence]] = {
    "postgresql": PostgresqlPersistence,
    "mysql": MysqlPersistence,
    "sqlite": SqlitePersistence,
}
