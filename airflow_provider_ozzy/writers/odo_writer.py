"""``OdoWriter``: items as rows of a table in any SQLAlchemy database (PostgreSQL, MySQL/MariaDB, SQLite).

exporters wrote through ``odo`` (dead since 2016); Ozzy writes through SQLAlchemy. Items are
buffered into files like every writer's; each finished file becomes one transaction that first
deletes the rows of that file for this job and then inserts the file's items in batches. Every
row carries ``_ozzy_job`` (the job id), ``_ozzy_file`` (group and file number) and ``_ozzy_row``
(its place in the file), unique together. A resume rewrites the files finished after the last
commit with the same content under the same numbers (see ``commit_protocol``), so the delete
plus insert leaves each item exactly once, whenever the previous run was killed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.parse
from itertools import chain, repeat
from typing import Any

import orjson
from sqlalchemy import (
    URL,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    delete,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services import sql_columns as cols
from airflow_provider_ozzy.services.sql import (
    CONNECTION_DRIVERS,
    airflow_connection,
    connection_driver,
    parse_url,
    safe_url,
    server_url,
)
from airflow_provider_ozzy.services.sql_bulk import insert_rows
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.write_buffers.buffer_file_lines import buffer_file_lines
from airflow_provider_ozzy.writers.base_writer import BaseWriter, WrittenFile, require_json_lines

JOB, FILE, ROW = "_ozzy_job", "_ozzy_file", "_ozzy_row"
KEY_LENGTH = 191  # utf8mb4 VARCHARs of a unique key within InnoDB's index limit
NAME_LENGTH = 63  # PostgreSQL's identifier limit (MySQL: 64)
_ATTEMPTS = 4
_CONNECT_TIMEOUT = 10


def _short_key(value: str) -> str:
    """``value`` fitting a key column: long values keep a prefix and a hash of the whole."""
    if len(value) <= KEY_LENGTH:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[: KEY_LENGTH - 17]}~{digest}"


def split_odo_uri(uri: str) -> tuple[str, str | None]:
    """exporters' odo URI ``dialect://user@host/db::table`` as (SQLAlchemy URL, table)."""
    url, sep, table = uri.rpartition("::")
    return (url, table or None) if sep else (uri, None)


class OdoWriter(BaseWriter):
    """Writes items into table ``table`` of a database given as ``sql_conn_id``, ``url`` or ``odo_uri``.

    The table is created when missing: from ``schema`` (``{column: type}`` or a JSON Schema) or
    from the items of the first file, widening types as later items need (bool, int, float, text;
    every column nullable). Nested objects are JSON text, or columns ``a.b`` with ``flatten``.
    """

    delivers_in_background = True  # a file's transaction runs while the next file is read

    supported_options = {
        "sql_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow connection of the database (postgres, mysql, sqlite, or any whose hook gives "
            "a SQLAlchemy URL); resolved when the export starts.",
        },
        "url": {
            "type": (str, type(None)),
            "default": None,
            "secret": True,
            "help": "SQLAlchemy URL of the database, e.g. postgresql://user@host:5432/db (instead of sql_conn_id).",
        },
        "odo_uri": {
            "type": (str, type(None)),
            "default": None,
            "secret": True,
            "help": "Legacy (exporters): dialect://user:password@host/db::table.",
        },
        "table": {
            "type": (str, type(None)),
            "default": None,
            "help": "Table name, or schema.table; created when missing.",
        },
        "schema": {
            "type": (dict, type(None)),
            "default": None,
            "help": "Columns of the table: {column: bool|int|float|text|json} or a JSON Schema "
            "with properties. Without it, columns are inferred from the items.",
        },
        "flatten": {
            "type": (bool, type(None)),
            "default": None,
            "help": "Nested objects become columns parent.child (see flatten_separator); otherwise they "
            "are stored as JSON text. Default: false, true with odo_uri (exporters flattened).",
        },
        "flatten_separator": {"type": str, "default": ".", "help": "Joins nested keys into column names."},
        "insert_batch_size": {
            "type": int,
            "minimum": 1,
            "maximum": 1_000_000,
            "default": 1000,
            "help": "Rows per executemany call (MySQL/MariaDB send them as multi-row INSERTs); "
            "PostgreSQL loads each file with one COPY.",
        },
        "items_per_buffer_write": {
            "type": int,
            "minimum": 1,
            "maximum": 2**63 - 1,
            "default": 10000,
            "help": "Items per transaction (one buffer file each).",
        },
        "compression": {
            "type": str,
            "default": "none",
            "help": "Compression of the local buffer files only; gz, bz2, zip, zstd or none.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.job_key = ""
        self._url: URL | None = None
        self._table_name = ""
        self._schema_name: str | None = None
        self._engine: Engine | None = None
        self._table: Table | None = None
        self._kinds: dict[str, str] = {}  # column -> kind, the table's (widened in memory on SQLite)
        separator = self.options["flatten_separator"]
        schema = self.options["schema"]
        self.flat = _flattens(self.options)
        self._declared = cols.declared_columns(schema, separator, self.flat) if schema else None
        self._ignored: set[str] = set()

    # -- validation (no network) ----------------------------------------------------------------------
    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        given = [name for name in ("sql_conn_id", "url", "odo_uri") if values.get(name)]
        if len(given) != 1:
            problems.append(
                Problem(
                    "sql_conn_id",
                    "give the database as exactly one of 'sql_conn_id' (an Airflow connection), 'url' "
                    f"(a SQLAlchemy URL) or 'odo_uri' (legacy); got {', '.join(given) or 'none'}",
                )
            )
        table = values.get("table")
        if values.get("odo_uri"):
            problems.extend(cls._check_url(split_odo_uri(values["odo_uri"])[0], "odo_uri"))
            uri_table = split_odo_uri(values["odo_uri"])[1]
            if uri_table and table and uri_table != table:
                problems.append(
                    Problem("table", f"option 'table' {table!r} differs from the table of 'odo_uri'")
                )
            table = table or uri_table
        if values.get("url"):
            problems.extend(cls._check_url(values["url"], "url"))
        if not table:
            problems.append(Problem("table", "missing option 'table' (or '::table' at the end of 'odo_uri')"))
        elif not all(0 < len(part) <= NAME_LENGTH for part in table.split(".")) or table.count(".") > 1:
            problems.append(
                Problem(
                    "table", f"option 'table' must be NAME or SCHEMA.NAME, each 1-{NAME_LENGTH} characters"
                )
            )
        if values.get("schema"):
            try:
                columns = cols.declared_columns(
                    values["schema"], values["flatten_separator"], _flattens(values)
                )
            except ValueError as error:
                problems.append(Problem("schema", f"option 'schema': {error}"))
            else:
                problems.extend(Problem("schema", f"option 'schema': {bad}") for bad in _bad_columns(columns))
        if values["insert_batch_size"] <= 0:
            problems.append(Problem("insert_batch_size", "option 'insert_batch_size' must be positive"))
        if not values["flatten_separator"]:
            problems.append(Problem("flatten_separator", "option 'flatten_separator' must not be empty"))
        return problems

    @classmethod
    def _check_url(cls, raw: str, option: str) -> list[Problem]:
        try:
            url = parse_url(raw)
            url.get_dialect()
        except NoSuchModuleError:
            return [Problem(option, f"option '{option}': unknown database dialect {raw.split(':', 1)[0]!r}")]
        except (ArgumentError, ValueError):  # the text may hold a password: never show it
            return [
                Problem(
                    option, f"option '{option}' is not a SQLAlchemy URL (dialect://user@host:port/database)"
                )
            ]
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return [Problem(option, f"option '{option}': an in-memory SQLite database keeps nothing")]
        return []

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        require_json_lines("OdoWriter", "rows", formatter)
        super().open(formatter, state)
        if not self.job_key:
            raise WriterError("writer OdoWriter: no job id (the exporter binds one before open)")
        self._prepare_table()

    def bind_job(self, job_id: str) -> None:
        """The job id keys this job's rows, so a resume (and only it) replaces them."""
        self.job_key = _short_key(job_id)

    # -- where the database is ---------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """Which option gave the database, for messages."""
        if self.options["sql_conn_id"]:
            return f"connection '{self.options['sql_conn_id']}' (option 'sql_conn_id')"
        return "option 'url'" if self.options["url"] else "option 'odo_uri'"

    @property
    def url(self) -> URL:
        if self._url is None:
            self._url = self._resolve_url()
        return self._url

    def _resolve_url(self) -> URL:
        table = self.options["table"]
        if self.options["odo_uri"]:
            raw, uri_table = split_odo_uri(self.options["odo_uri"])
            url, table = parse_url(raw), table or uri_table
        elif self.options["url"]:
            url = parse_url(self.options["url"])
        else:
            url = self._connection_url(self.options["sql_conn_id"])
        schema, _, name = str(table).rpartition(".")
        self._table_name, self._schema_name = name, schema or None
        if url.get_backend_name() == "sqlite" and url.database:
            url = url.set(database=os.path.abspath(url.database))
        return url

    def _connection_url(self, conn_id: str) -> URL:
        connection = airflow_connection(
            conn_id,
            "writer OdoWriter",
            WriterError,
            f" (option 'sql_conn_id') for table '{self.options['table']}'",
        )
        url = _hook_url(connection)
        if url is not None:
            return url
        conn_type, driver = connection_driver(connection)
        if driver is None:
            raise WriterError(
                f"writer OdoWriter: connection '{conn_id}' (option 'sql_conn_id') has type '{conn_type}', "
                f"which gives no SQLAlchemy URL; supported: {', '.join(sorted(CONNECTION_DRIVERS))}"
            )
        if driver == "sqlite":
            return URL.create("sqlite", database=connection.host or connection.schema or "")
        return server_url(connection, driver)

    def _engine_(self) -> Engine:
        if self._engine is None:
            url = self.url
            args = {} if url.get_backend_name() == "sqlite" else {"connect_timeout": _CONNECT_TIMEOUT}
            try:
                self._engine = create_engine(url, connect_args=args, pool_pre_ping=True)
            except (ImportError, ArgumentError) as error:
                raise WriterError(
                    self._redact(f"writer OdoWriter: cannot use {safe_url(url)} ({self.source}): {error}")
                ) from None
        return self._engine

    @property
    def qualified_name(self) -> str:
        return f"{self._schema_name}.{self._table_name}" if self._schema_name else self._table_name

    def _describe(self, action: str, error: BaseException) -> str:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        message = (
            f"writer OdoWriter: cannot {action} table '{self.qualified_name}' on "
            f"{safe_url(self.url)} ({self.source}): {reason}"
        )
        return self._redact(message)

    def _redact(self, message: str) -> str:
        secrets = {self._url.password if self._url is not None else None}
        for option in ("url", "odo_uri"):
            raw = self.options[option]
            if raw:
                try:
                    secrets.add(parse_url(split_odo_uri(raw)[0]).password)
                except (ArgumentError, ValueError):
                    pass
        for secret in secrets:
            if isinstance(secret, str) and secret:
                message = message.replace(secret, "***").replace(urllib.parse.quote(secret, safe=""), "***")
        return message

    def _run(self, action: str, work: Any) -> Any:
        """``work(connection)`` in one transaction, again after a dropped connection (it is idempotent)."""
        attempts = 1 if os.environ.get("OZZY_DISABLE_RETRIES") == "1" else _ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                with self._engine_().begin() as connection:
                    return work(connection)
            except DBAPIError as error:
                if not error.connection_invalidated or attempt == attempts:
                    raise WriterError(self._describe(action, error)) from None
                self.log.warning("OdoWriter: lost the connection (%s); attempt %d", action, attempt + 1)
                time.sleep(0.5 * 2 ** (attempt - 1))
            except SQLAlchemyError as error:
                raise WriterError(self._describe(action, error)) from None
        return None

    # -- the table ---------------------------------------------------------------------------------------
    def _prepare_table(self) -> None:
        """Reflect the table, or create it from the declared schema (inferred tables wait for items)."""
        self._reflect()
        if self._table is None and self._declared is not None:
            self._create(self._declared)
        if self._table is not None and self._declared is not None:
            missing = [name for name in self._declared if name not in self._kinds]
            if missing:
                raise WriterError(
                    f"writer OdoWriter: table '{self.qualified_name}' on {safe_url(self.url)} exists without "
                    f"the column(s) {', '.join(missing)} of option 'schema'"
                )

    def _reflect(self) -> None:
        def load(connection: Connection) -> Table | None:
            if not inspect(connection).has_table(self._table_name, schema=self._schema_name):
                return None
            return Table(self._table_name, MetaData(), schema=self._schema_name, autoload_with=connection)

        table = self._run("read", load)
        if table is None:
            self._table = None
            return
        missing = [name for name in (JOB, FILE, ROW) if name not in table.c]
        if missing:
            raise WriterError(
                f"writer OdoWriter: table '{self.qualified_name}' on {safe_url(self.url)} exists without the "
                f"columns {', '.join(missing)} that make resumes exact; let OdoWriter create it (or add "
                f"{JOB} VARCHAR({KEY_LENGTH}), {FILE} VARCHAR({KEY_LENGTH}), {ROW} INTEGER, unique together)"
            )
        previous = self._kinds
        self._kinds = {column.name: cols.kind_of_type(column.type) for column in table.c}
        for name, kind in previous.items():  # SQLite keeps what it was given: remember widened kinds
            if name in self._kinds:
                self._kinds[name] = cols.wider(self._kinds[name], kind) or kind
        self._table = table

    def _create(self, columns: dict[str, str]) -> None:
        table = Table(
            self._table_name,
            MetaData(),
            Column(JOB, String(KEY_LENGTH), nullable=False),
            Column(FILE, String(KEY_LENGTH), nullable=False),
            Column(ROW, Integer, nullable=False),
            *(Column(name, cols.column_type(kind), nullable=True) for name, kind in columns.items()),
            UniqueConstraint(JOB, FILE, ROW, name=f"{self._table_name[:40]}_ozzy_key"),
            schema=self._schema_name,
            mysql_charset="utf8mb4",
        )
        try:
            self._run("create", lambda connection: table.create(connection, checkfirst=True))
        except WriterError:
            self._reflect()  # another job may have created it at the same moment
            if self._table is None:
                raise
        self.log.info("OdoWriter: created table %s with %d column(s)", self.qualified_name, len(columns))
        self._reflect()

    def _evolve(self, needed: dict[str, str | None]) -> None:
        """Add missing columns and widen narrow ones (inferred schemas only)."""
        if self._table is None:
            self._create({name: kind or cols.TEXT for name, kind in needed.items()})
        assert self._table is not None
        dialect = self._engine_().dialect
        table_sql = dialect.identifier_preparer.format_table(self._table)
        statements = []
        for name, kind in needed.items():
            kind = kind or cols.TEXT
            if name not in self._kinds:
                type_sql = cols.column_type(kind).compile(dialect=dialect)
                statements.append(
                    f"ALTER TABLE {table_sql} ADD COLUMN {dialect.identifier_preparer.quote(name)} {type_sql} NULL"
                )
                self._kinds[name] = kind
                continue
            old = self._kinds[name]
            target = cols.wider(old, kind)
            if target != old and old != cols.OTHER and target is not None:
                statement = cols.widen_statement(dialect, table_sql, name, old, target)
                if statement:
                    statements.append(statement)
                self._kinds[name] = target
        if statements:
            for statement in statements:
                self.log.info("OdoWriter: %s", statement)
                self._run("change", lambda connection, sql=statement: connection.execute(text(sql)))
            self._reflect()

    # -- delivery -----------------------------------------------------------------------------------------
    def write_file(self, finished: FinishedFile, number: int) -> str:
        part = self.file_key(finished.group, number)
        names, rows = self._rows(finished, part)
        table = self._table
        assert table is not None

        def replace(connection: Connection) -> None:
            connection.execute(delete(table).where(table.c[JOB] == self.job_key, table.c[FILE] == part))
            insert_rows(
                connection,
                self._table_name,
                self._schema_name,
                names,
                rows,
                self.options["insert_batch_size"],
            )

        self._run(f"insert {len(rows)} row(s) of file {part} into", replace)
        self.log.debug("OdoWriter: %d row(s) of %s in %s", len(rows), part, self.qualified_name)
        return f"{self.qualified_name}#{part}"

    def file_key(self, group: tuple[Any, ...], number: int) -> str:
        return _short_key("/".join([*map(str, group), f"{number:06d}"]))

    def _rows(self, finished: FinishedFile, part: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The file's column names and its items as rows of values in that order (every row has
        every column: the bulk paths need it)."""
        items = self._items(finished)
        if self._declared is not None:
            kinds = dict(self._declared)
            extra = set(chain.from_iterable(items)) - kinds.keys() - self._ignored
            if extra:
                self._ignored |= extra
                self.log.warning("OdoWriter: fields not in option 'schema' are not stored: %s", sorted(extra))
            columns = cols.columns_of(items, kinds)
        else:
            columns = cols.columns_of(items)
            needed = cols.needed_kinds(columns)
            problems = _bad_columns(needed)
            if problems:
                raise WriterError(f"writer OdoWriter: file {part}: {'; '.join(problems)}")
            self._evolve(needed)
            kinds = {key: self._kinds[key] for key in needed}
        stored = []
        refuses_nul = self._engine_().dialect.name == "postgresql"
        for column, kind in kinds.items():
            try:
                values = cols.stored_values(columns[column], kind)
                if refuses_nul and (index := cols.nul_at(values)) is not None:
                    raise cols.ColumnValueError(
                        index, "PostgreSQL cannot store the NUL character (\\x00) in text"
                    )
            except cols.ColumnValueError as error:
                raise WriterError(
                    f"writer OdoWriter: file {part}, item {error.index + 1}: column '{column}' of table "
                    f"'{self.qualified_name}' is {kind}: {error}"
                ) from None
            stored.append(values)
        count = len(items)
        rows = list(zip(repeat(self.job_key, count), repeat(part, count), range(count), *stored, strict=True))
        return [JOB, FILE, ROW, *kinds], rows

    def _items(self, finished: FinishedFile) -> list[dict[str, Any]]:
        """The items of a finished buffer file (flattened with option ``flatten``)."""
        lines = list(buffer_file_lines(finished.path, self.options["compression"]))
        try:
            items = [orjson.loads(line) for line in lines]
        except orjson.JSONDecodeError:  # integers beyond 64 bits: the standard parser reads them
            items = [json.loads(line) for line in lines]
        if self.flat:
            separator = self.options["flatten_separator"]
            items = [cols.flatten(item, separator) for item in items]
        return items

    def check_file(self, written: WrittenFile) -> list[str]:
        part = written.name.rpartition("#")[2]
        table = self._table
        assert table is not None
        count = self._run(
            "count rows of",
            lambda connection: connection.execute(
                select(func.count())
                .select_from(table)
                .where(table.c[JOB] == self.job_key, table.c[FILE] == part)
            ).scalar(),
        )
        return (
            [] if count == written.records else [f"{written.name}: {count} rows, {written.records} written"]
        )

    def close(self) -> None:
        super().close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _flattens(options: dict[str, Any]) -> bool:
    return bool(options["odo_uri"]) if options["flatten"] is None else bool(options["flatten"])


def _bad_columns(columns: dict[str, Any]) -> list[str]:
    problems = []
    for name in columns:
        if not name or len(name) > NAME_LENGTH:
            problems.append(f"column name {name[:80]!r} must be 1-{NAME_LENGTH} characters")
        elif name in (JOB, FILE, ROW):
            problems.append(f"column name {name!r} is OdoWriter's own")
    return problems


def _hook_url(connection: Any) -> URL | None:
    """The SQLAlchemy URL the connection's provider hook gives (``None`` without such a provider)."""
    try:
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        hook = connection.get_hook()
    except Exception:  # no provider installed for this connection type
        return None
    if not isinstance(hook, DbApiHook):
        return None
    try:
        return parse_url(hook.sqlalchemy_url.render_as_string(hide_password=False))
    except NotImplementedError:
        try:
            return parse_url(hook.get_uri())
        except Exception:
            return None
