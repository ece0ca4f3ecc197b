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

import csv
import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy import column, insert
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

# bytes of COPY data sent at a time (psycopg2 reads the buffer in pieces of this size)
_COPY_CHUNK = 1 << 20
_ROWS_PER_SLICE = 2000
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
        _copy(connection, f"{head} FROM STDIN (FORMAT csv)", rows)
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
            cursor.copy_expert(statement, _CopyCsv(rows), _COPY_CHUNK)
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


class _Null(int):
    """NULL in COPY's CSV format: an unquoted empty field. ``csv`` quotes every field that is not a
    number (QUOTE_NONNUMERIC), so an empty string stays ``""`` and this one, a number, does not."""

    def __str__(self) -> str:
        return ""

    __repr__ = __str__


_NULL = _Null()


class _CopyCsv(io.TextIOBase):
    """The rows as COPY CSV, written by the C ``csv`` writer a slice at a time as psycopg2 reads
    them (the file's text is never all in memory beside its rows)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._next = 0
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        self._pending = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        wanted = _COPY_CHUNK if size is None or size < 0 else size
        while len(self._pending) < wanted and self._next < len(self._rows):
            rows = self._rows[self._next : self._next + _ROWS_PER_SLICE]
            self._next += len(rows)
            self._buffer.seek(0)
            self._buffer.truncate()
            self._writer.writerows(
                row if None not in row else [_NULL if value is None else value for value in row]
                for row in rows
            )
            self._pending += self._buffer.getvalue()
        text, self._pending = self._pending[:wanted], self._pending[wanted:]
        return text
