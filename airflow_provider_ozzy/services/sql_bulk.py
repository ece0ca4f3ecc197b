"""Rows into a table by each database's bulk path, inside the caller's transaction.

SQLAlchemy's ``connection.execute(table.insert(), rows)`` spends most of its time per row in
Python (a dict per row, bind processing) and sends one statement per page. Each driver has a
faster way that a user loading a table by hand would take, and that stays inside the same
transaction, so the writer's delete-then-insert per file keeps resumes exact:

- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg2 ``copy_expert``, psycopg 3 ``cursor.copy``);
- MySQL/MariaDB: the driver's ``executemany``, which PyMySQL and mysqlclient send as multi-row
  ``INSERT ... VALUES (...), (...)`` statements of up to about 1 MB;
- SQLite and other DB-API drivers: ``executemany`` on the connection's cursor (drivers of a named
  parameter style: SQLAlchemy's insert).

Values arrive as the writer converted them (``None``, bool, int, float, str; other SQL types as
the item had them): the database converts them as it would a parameter.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import column, insert
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

# COPY's text format: a backslash starts an escape, tab separates columns, newline ends a row
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
# bytes of COPY data sent at a time (psycopg2 reads the buffer in pieces of this size)
_COPY_CHUNK = 1 << 20
_PLACEHOLDERS = {"format": "%s", "pyformat": "%s", "qmark": "?"}


def insert_rows(
    connection: Connection,
    table: str,
    schema: str | None,
    names: Sequence[str],
    rows: list[tuple[Any, ...]],
    page: int = 1000,
) -> None:
    """Insert ``rows`` (tuples in the order of ``names``) into ``schema.table`` on ``connection``:
    one COPY on PostgreSQL, else ``page`` rows per ``executemany``."""
    if not rows:
        return
    dialect = connection.dialect
    # quoted as SQLAlchemy quotes them for a driver that formats parameters (a % doubled)
    target = _qualified(connection, table, schema)
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    if dialect.name == "postgresql" and dialect.driver in ("psycopg2", "psycopg"):
        # COPY is not formatted: a name's % stays single
        head = f"COPY {target} ({columns})"
        if "%%" in dialect.identifier_preparer.quote_identifier("%"):
            head = head.replace("%%", "%")
        _copy(connection, f"{head} FROM STDIN", rows)
        return
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:  # a driver of another parameter style: SQLAlchemy's own path
        clause = table_clause(table, *(column(name) for name in names), schema=schema)
        for start in range(0, len(rows), page):
            chunk = rows[start : start + page]
            connection.execute(insert(clause), [dict(zip(names, row, strict=True)) for row in chunk])
        return
    # SQLAlchemy hands a list of tuples to the cursor's executemany as it is (no bind processing)
    # and wraps driver errors as for any statement
    statement = f"INSERT INTO {target} ({columns}) VALUES ({', '.join([placeholder] * len(names))})"
    for start in range(0, len(rows), page):
        connection.exec_driver_sql(statement, rows[start : start + page])  # type: ignore[arg-type]


def _copy(connection: Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """``COPY ... FROM STDIN`` of ``rows`` on the connection's cursor; driver errors are raised as
    SQLAlchemy's (a lost connection marked invalidated, so the caller's retry takes a new one)."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        if dialect.driver == "psycopg2":
            cursor.copy_expert(statement, _CopyText(rows), _COPY_CHUNK)
        else:  # psycopg 3
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, dbapi_connection, cursor)
        if lost:
            connection.invalidate()
        raise DBAPIError.instance(
            statement, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from None
    finally:
        try:
            cursor.close()
        except dialect.loaded_dbapi.Error:  # the connection is already gone
            pass


def _qualified(connection: Connection, table: str, schema: str | None) -> str:
    preparer = connection.dialect.identifier_preparer
    name = preparer.quote(table)
    return f"{preparer.quote_schema(schema)}.{name}" if schema else name


def copy_text_value(value: Any) -> str:
    """``value`` as a field of COPY's text format."""
    if value is None:
        return _COPY_NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is float:
        return repr(value)  # round-trips; PostgreSQL reads inf, -inf and nan
    return str(value).translate(_COPY_ESCAPES)


class _CopyText(io.TextIOBase):
    """The rows as COPY text, produced in pieces as psycopg2 reads them (no second copy of the file
    in memory)."""

    def __init__(self, rows: list[tuple[Any, ...]], render: Callable[[Any], str] = copy_text_value) -> None:
        self._rows = rows
        self._next = 0
        self._render = render
        self._pending = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        wanted = _COPY_CHUNK if size is None or size < 0 else size
        pieces = [self._pending]
        length = len(self._pending)
        render = self._render
        rows = self._rows
        while length < wanted and self._next < len(rows):
            line = "\t".join([render(value) for value in rows[self._next]]) + "\n"
            self._next += 1
            pieces.append(line)
            length += len(line)
        text = "".join(pieces)
        self._pending = text[wanted:]
        return text[:wanted]
