"""``OdoWriter``: items as rows of a table in any SQLAlchemy database (PostgreSQL, MySQL/MariaDB, SQLite).

exporters wrote through ``odo`` (dead since 2016); Ozzy writes through SQLAlchemy. Items are
buffered into files like every writer's; each finished file becomes one transaction that records
the file in a ledger table beside the data (``<table>_ozzy_files``: job, file key, file id, row
count, md5, unique by job and file key) and inserts the file's rows, each carrying the file id
(``_ozzy_file_id``). A resume rewrites the files finished after the last commit with the same
content under the same numbers (see ``commit_protocol``): a file found in the ledger committed
whole (ledger row and rows are one transaction), so it is skipped; one recorded with other content
has its rows deleted by file id and written again. Two writers of one file at once: the ledger's
unique key makes the second wait for the first, fail, and find the file there.

Tables made before the ledger (key columns ``_ozzy_job``, ``_ozzy_file``, ``_ozzy_row``, unique
together) keep their layout: each file's transaction deletes that file's rows, then inserts them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from functools import partial
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import (
    URL,
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services import sql_columns as cols
from airflow_provider_ozzy.services.sql import (
    CONNECTION_DRIVERS,
    airflow_connection,
    connection_driver,
    mask_secrets,
    parse_url,
    safe_url,
    server_url,
)
from airflow_provider_ozzy.services.sql_bulk import insert_rows
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.write_buffers.buffer_file_lines import buffer_file_lines
from airflow_provider_ozzy.writers.base_writer import BaseWriter, WrittenFile, require_json_lines

FILE_ID = "_ozzy_file_id"  # the data table's key column: the file's id in the ledger
LEDGER_SUFFIX = "_ozzy_files"
JOB, FILE, ROW = "_ozzy_job", "_ozzy_file", "_ozzy_row"  # key columns of tables made before the ledger
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


def ledger_name(table: str) -> str:
    """The ledger table's name beside ``table`` (a long name keeps a prefix and a hash)."""
    name = table + LEDGER_SUFFIX
    if len(name) <= NAME_LENGTH:
        return name
    digest = hashlib.sha256(table.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{table[: NAME_LENGTH - len(LEDGER_SUFFIX) - 9]}_{digest}{LEDGER_SUFFIX}"


def split_odo_uri(uri: str) -> tuple[str, str | None]:
    """exporters' odo URI ``dialect://user@host/db::table`` as (SQLAlchemy URL, table)."""
    url, sep, table = uri.rpartition("::")
    return (url, table or None) if sep else (uri, None)


class OdoWriter(BaseWriter):
    """Writes items into table ``table`` of a database given as ``sql_conn_id``, ``url`` or ``odo_uri``.

    The table is created when missing: from ``schema`` (``{column: type}`` or a JSON Schema) or
    from the items of the first file, widening types as later items need (bool, int, float, text;
    every column nullable). Nested objects are JSON text, or columns ``a.b`` with ``flatten``.
    Beside it, table ``<table>_ozzy_files`` records each file written (job, file, row count, md5):
    a resume skips the files it has, so each item is stored once.
    """

    delivers_in_background = True  # a file's transaction runs while the next file is read (not SQLite's)
    takes_items = True  # rows are built from the buffered items, not parsed back from the buffer file

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
            "help": "Rows per multi-row INSERT on MySQL/MariaDB (each also under 1 MB) and per "
            "executemany call on SQLite; PostgreSQL loads each file with one COPY.",
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
        self._ledger: Table | None = None  # None: a table made before the ledger (or none yet)
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
        # SQLite works inside this process and releases the GIL around each row: on a second thread
        # it trades the GIL with the reading thread at every row (measured: more CPU, no faster)
        self.delivers_in_background = self.url.get_backend_name() != "sqlite"
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
        return mask_secrets(message, secrets)

    def _run(self, action: str, work: Callable[[Connection], Any], conflicts: bool = False) -> Any:
        """``work(connection)`` in one transaction, again after a dropped connection (it is idempotent)
        and, with ``conflicts``, once more after a unique key conflict (another writer's row)."""
        attempts = 1 if os.environ.get("OZZY_DISABLE_RETRIES") == "1" else _ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                with self._engine_().begin() as connection:
                    return work(connection)
            except IntegrityError as error:
                if not conflicts:
                    raise WriterError(self._describe(action, error)) from None
                conflicts = False
                self.log.info(
                    "OdoWriter: another writer recorded the same file (%s); reading it again", action
                )
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
        if FILE_ID in table.c:
            if self._ledger is None:
                self._ledger = self._ledger_table()
                ledger = self._ledger
                self._run(
                    "create the ledger of", lambda connection: ledger.create(connection, checkfirst=True)
                )
        elif not all(name in table.c for name in (JOB, FILE, ROW)):
            raise WriterError(
                f"writer OdoWriter: table '{self.qualified_name}' on {safe_url(self.url)} exists without the "
                f"column {FILE_ID} that makes resumes exact; let OdoWriter create it (or add {FILE_ID} "
                f"BIGINT NOT NULL: OdoWriter creates its ledger table {ledger_name(self._table_name)})"
            )
        previous = self._kinds
        self._kinds = {column.name: cols.kind_of_type(column.type) for column in table.c}
        for name, kind in previous.items():  # SQLite keeps what it was given: remember widened kinds
            if name in self._kinds:
                self._kinds[name] = cols.wider(self._kinds[name], kind) or kind
        self._table = table

    def _create(self, columns: dict[str, str]) -> None:
        # no index: rows are deleted by file id only when a file is rewritten with other content
        table = Table(
            self._table_name,
            MetaData(),
            Column(FILE_ID, BigInteger, nullable=False),
            *(Column(name, cols.column_type(kind), nullable=True) for name, kind in columns.items()),
            schema=self._schema_name,
            mysql_charset="utf8mb4",
        )
        ledger = self._ledger_table()

        def create(connection: Connection) -> None:
            ledger.create(connection, checkfirst=True)
            table.create(connection, checkfirst=True)

        try:
            self._run("create", create)
        except WriterError:
            self._reflect()  # another job may have created it at the same moment
            if self._table is None:
                raise
        self.log.info("OdoWriter: created table %s with %d column(s)", self.qualified_name, len(columns))
        self._reflect()

    def _ledger_table(self) -> Table:
        """One row per file written: which job and file, its id in the data table, its rows and md5."""
        return Table(
            ledger_name(self._table_name),
            MetaData(),
            # SQLite numbers rows itself only in an INTEGER PRIMARY KEY
            Column(
                "file_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
            ),
            Column("job", String(KEY_LENGTH), nullable=False),
            Column("file", String(KEY_LENGTH), nullable=False),
            Column("row_count", BigInteger, nullable=False),
            Column("md5", String(32), nullable=False),
            UniqueConstraint("job", "file", name=f"{ledger_name(self._table_name)[: NAME_LENGTH - 4]}_key"),
            schema=self._schema_name,
            mysql_charset="utf8mb4",
        )

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
                self._run("change", partial(_execute, statement))
            self._reflect()

    # -- delivery -----------------------------------------------------------------------------------------
    def write_file(self, finished: FinishedFile, number: int) -> str:
        part = self.file_key(finished.group, number)
        names, values = self._columns(finished, part)
        count = finished.records
        if self._ledger is None:
            self._replace_rows(part, names, values, count)
        else:
            self._record_rows(part, finished.md5, names, values, count)
        self.log.debug("OdoWriter: %d row(s) of %s in %s", count, part, self.qualified_name)
        return f"{self.qualified_name}#{part}"

    def _record_rows(
        self, part: str, md5: str, names: list[str], values: list[list[Any]], count: int
    ) -> None:
        """The file's ledger row and its rows in one transaction; nothing when the ledger has it."""
        table, ledger = self._table, self._ledger
        assert table is not None and ledger is not None
        key = (ledger.c.job == self.job_key) & (ledger.c.file == part)

        def record(connection: Connection) -> None:
            found = connection.execute(
                select(ledger.c.file_id, ledger.c.row_count, ledger.c.md5).where(key)
            ).first()
            if found is not None and (found.row_count, found.md5) == (count, md5):
                self.log.info("OdoWriter: file %s is already in %s; skipped", part, self.qualified_name)
                return
            if found is None:
                inserted = connection.execute(
                    insert(ledger).values(job=self.job_key, file=part, row_count=count, md5=md5)
                )
                file_id = inserted.inserted_primary_key[0]  # type: ignore[index]
            else:  # the same file with other content (a reader that changed): its rows replaced
                file_id = found.file_id
                connection.execute(update(ledger).where(key).values(row_count=count, md5=md5))
                connection.execute(delete(table).where(table.c[FILE_ID] == file_id))
            self._insert(connection, [FILE_ID, *names], [[file_id] * count, *values])

        self._run(f"insert {count} row(s) of file {part} into", record, conflicts=True)

    def _replace_rows(self, part: str, names: list[str], values: list[list[Any]], count: int) -> None:
        """A table made before the ledger: the file's rows deleted by their text keys, then inserted."""
        table = self._table
        assert table is not None

        def replace(connection: Connection) -> None:
            connection.execute(delete(table).where(table.c[JOB] == self.job_key, table.c[FILE] == part))
            keys: list[list[Any]] = [[self.job_key] * count, [part] * count, list(range(count))]
            self._insert(connection, [JOB, FILE, ROW, *names], [*keys, *values])

        self._run(f"insert {count} row(s) of file {part} into", replace)

    def _insert(self, connection: Connection, names: list[str], columns: list[list[Any]]) -> None:
        insert_rows(
            connection,
            self._table_name,
            self._schema_name,
            names,
            columns,
            self.options["insert_batch_size"],
        )

    def file_key(self, group: tuple[Any, ...], number: int) -> str:
        return _short_key("/".join([*map(str, group), f"{number:06d}"]))

    def _columns(self, finished: FinishedFile, part: str) -> tuple[list[str], list[list[Any]]]:
        """The file's column names and each column's values as stored, one per item (every row
        has every column: the bulk paths need it). The items come from the buffer as they were
        formatted, unless JSON would change them (dates, decimals, NaN): then from the buffer file."""
        if finished.items is not None:
            try:
                return self._stored(self._as_json(finished.items), part)
            except cols.NotJson as error:
                self.log.debug("OdoWriter: file %s read back from its buffer file (%s)", part, error)
        return self._stored(self._parsed(finished), part)

    def _as_json(self, items: list[dict[str, Any]]) -> dict[str, list[Any]]:
        columns = self._item_columns(items)
        return {name: cols.as_json(values) for name, values in columns.items()}

    def _parsed(self, finished: FinishedFile) -> dict[str, list[Any]]:
        """The columns of the items in a finished buffer file."""
        lines = list(buffer_file_lines(finished.path, self.options["compression"]))
        try:
            items = [orjson.loads(line) for line in lines]
        except orjson.JSONDecodeError:  # integers beyond 64 bits: the standard parser reads them
            items = [json.loads(line) for line in lines]
        return self._item_columns(items)

    def _item_columns(self, items: list[dict[str, Any]]) -> dict[str, list[Any]]:
        """The columns of ``items`` (flattened with option ``flatten``): the declared ones, else
        every field in the order first seen. Field names that are not text are ``NotJson`` (items
        parsed from JSON never have them)."""
        if self.flat:
            separator = self.options["flatten_separator"]
            items = [cols.flatten(item, separator) for item in items]
        keys = dict.fromkeys(chain.from_iterable(items))
        if any(type(key) is not str for key in keys):
            raise cols.NotJson("a field name that is not text")
        if self._declared is not None:
            extra = keys.keys() - self._declared.keys() - self._ignored
            if extra:
                self._ignored |= extra
                self.log.warning("OdoWriter: fields not in option 'schema' are not stored: %s", sorted(extra))
        return cols.columns_of(items, keys if self._declared is None else self._declared)

    def _stored(self, columns: dict[str, list[Any]], part: str) -> tuple[list[str], list[list[Any]]]:
        if self._declared is not None:
            kinds = dict(self._declared)
        else:
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
        return list(kinds), stored

    def check_file(self, written: WrittenFile) -> list[str]:
        part = written.name.rpartition("#")[2]
        table, ledger = self._table, self._ledger
        assert table is not None
        where: ColumnElement[bool]
        if ledger is None:
            where = (table.c[JOB] == self.job_key) & (table.c[FILE] == part)
        else:
            file_id = select(ledger.c.file_id).where(ledger.c.job == self.job_key, ledger.c.file == part)
            where = table.c[FILE_ID] == file_id.scalar_subquery()
        count = self._run(
            "count rows of",
            lambda connection: connection.execute(
                select(func.count()).select_from(table).where(where)
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


def _execute(statement: str, connection: Connection) -> None:
    connection.execute(text(statement))


def _flattens(options: dict[str, Any]) -> bool:
    return bool(options["odo_uri"]) if options["flatten"] is None else bool(options["flatten"])


def _bad_columns(columns: dict[str, Any]) -> list[str]:
    problems = []
    for name in columns:
        if not name or len(name) > NAME_LENGTH:
            problems.append(f"column name {name[:80]!r} must be 1-{NAME_LENGTH} characters")
        elif name in (FILE_ID, JOB, FILE, ROW):
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
