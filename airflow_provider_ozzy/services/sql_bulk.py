"""Rows into a table by each database's bulk path, inside the caller's transaction.

SQLAlchemy's ``connection.execute(table.insert(), rows)`` spends most of its time per row in
Python (a dict per row, bind processing) and sends one statement per page. Each driver has a
faster way that a user loading a table by hand would take, and that stays inside the same
transaction, so the writer's delete-then-insert per file keeps resumes exact:

- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg2 ``copy_expert``, psycopg 3 ``cursor.copy``);
- MySQL/MariaDB with PyMySQL: multi-row ``INSERT ... VALUES (...), (...)`` statements of up to
  about 1 MB, as PyMySQL's ``executemany`` sends them, but with each column's literals made at
  once (``map`` over the column with PyMySQL's own escaping rules) instead of a chain of Python
  calls per value; other MySQL drivers: their ``executemany``;
- SQLite and other DB-API drivers: ``executemany`` on the connection's cursor (drivers of a named
  parameter style: SQLAlchemy's insert).

Values arrive by column, as the writer converted them (``None``, bool, int, float, str; other SQL
types as the item had them): the database converts them as it would a parameter.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import accumulate
from typing import Any

from sqlalchemy import column, insert
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

# bytes of COPY data sent at a time (psycopg2 reads the buffer in pieces of this size)
_COPY_CHUNK = 1 << 20
_ROWS_PER_SLICE = 2000
_PLACEHOLDERS = {"format": "%s", "pyformat": "%s", "qmark": "?"}
# PyMySQL's ``Cursor.max_stmt_length``: its executemany cuts multi-row INSERTs at this size
_MYSQL_STATEMENT_BYTES = 1024000


def insert_rows(
    connection: Connection,
    table: str,
    schema: str | None,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    page: int = 1000,
) -> None:
    """Insert the rows given as ``columns`` (one value list per name in ``names``, all as long)
    into ``schema.table`` on ``connection``: one COPY on PostgreSQL, multi-row INSERTs of ``page``
    rows at most on MySQL, else ``page`` rows per ``executemany``."""
    if not columns or not columns[0]:
        return
    dialect = connection.dialect
    # quoted as SQLAlchemy quotes them for a driver that formats parameters (a % doubled)
    target = _qualified(connection, table, schema)
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    if dialect.name == "postgresql" and dialect.driver in ("psycopg2", "psycopg"):
        # COPY is not formatted: a name's % stays single
        head = f"COPY {target} ({quoted})"
        if "%%" in dialect.identifier_preparer.quote_identifier("%"):
            head = head.replace("%%", "%")
        _copy(connection, f"{head} FROM STDIN (FORMAT csv)", columns)
        return
    if dialect.name in ("mysql", "mariadb") and dialect.driver == "pymysql":
        # sent unformatted (no parameters): a name's % stays single
        head = f"INSERT INTO {target} ({quoted.replace('%%', '%')}) VALUES "
        _insert_literals(connection, head, columns, page)
        return
    rows = list(zip(*columns, strict=True))
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:  # a driver of another parameter style: SQLAlchemy's own path
        clause = table_clause(table, *(column(name) for name in names), schema=schema)
        for start in range(0, len(rows), page):
            chunk = rows[start : start + page]
            connection.execute(insert(clause), [dict(zip(names, row, strict=True)) for row in chunk])
        return
    # SQLAlchemy hands a list of tuples to the cursor's executemany as it is (no bind processing)
    # and wraps driver errors as for any statement
    statement = f"INSERT INTO {target} ({quoted}) VALUES ({', '.join([placeholder] * len(names))})"
    for start in range(0, len(rows), page):
        connection.exec_driver_sql(statement, rows[start : start + page])  # type: ignore[arg-type]


def _insert_literals(connection: Connection, head: str, columns: Sequence[Sequence[Any]], page: int) -> None:
    """Multi-row INSERTs of literal rows, each statement under PyMySQL's size limit (a row longer
    than that goes alone, as with PyMySQL)."""
    dbapi_connection = connection.connection.dbapi_connection
    literals = [_literals(dbapi_connection, values) for values in columns]
    rows = list(map("({})".format, map(",".join, zip(*literals, strict=True))))
    # bytes, as the limit counts them, with the comma after each row
    ends = list(accumulate(map((1).__add__, map(len, map(str.encode, rows)))))
    start, used = 0, 0
    plain = connection.execution_options(no_parameters=True)  # no % formatting of the values
    while start < len(rows):
        end = min(start + page, max(start + 1, bisect_right(ends, used + _MYSQL_STATEMENT_BYTES - len(head))))
        plain.exec_driver_sql(head + ",".join(rows[start:end]))
        used = ends[end - 1]
        start = end


# characters PyMySQL escapes that a single-quoted literal needs escaped (it also escapes ``"``,
# which reads the same either way): a column without any is quoted as it is
_NEEDS_BACKSLASH = re.compile(r"[\\'\x00\n\r\x1a]")


def _quoted(texts: Sequence[str]) -> Iterable[str]:
    from pymysql.converters import escape_string

    if _NEEDS_BACKSLASH.search("".join(texts)) is None:
        return map("'{}'".format, texts)
    return map("'{}'".format, map(escape_string, texts))


def _quoted_doubling(texts: Sequence[str]) -> Iterable[str]:
    """Texts for a server in NO_BACKSLASH_ESCAPES mode (PyMySQL's ``escape_string`` then)."""
    if "'" not in "".join(texts):
        return map("'{}'".format, texts)
    return map("'{}'".format, (text.replace("'", "''") for text in texts))


def _floats(numbers: Sequence[float]) -> Iterable[str]:
    """``repr``, with ``e0`` added so MySQL reads a DOUBLE, not a DECIMAL (as PyMySQL does)."""
    texts = list(map(float.__repr__, numbers))
    if "e" not in "".join(texts):
        return map("{}e0".format, texts)
    return (text if "e" in text else text + "e0" for text in texts)


_LITERALS: dict[type, Callable[[Sequence[Any]], Iterable[str]]] = {
    int: partial(map, int.__repr__),
    float: _floats,
    bool: partial(map, {True: "1", False: "0"}.__getitem__),
}


def _literals(dbapi_connection: Any, values: Sequence[Any]) -> list[str]:
    """SQL literals of ``values`` as PyMySQL's ``executemany`` writes them, a column at a time."""
    from pymysql.constants.SERVER_STATUS import SERVER_STATUS_NO_BACKSLASH_ESCAPES

    types = set(map(type, values))
    types.discard(type(None))
    convert: Callable[[Sequence[Any]], Iterable[str]]
    if types == {str}:
        doubling = dbapi_connection.server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES
        convert = _quoted_doubling if doubling else _quoted
    elif len(types) == 1 and next(iter(types)) in _LITERALS:
        convert = _LITERALS[next(iter(types))]
    else:  # anything else (dates, decimals, mixed types, only NULLs): PyMySQL's own conversion
        with dbapi_connection.cursor() as cursor:
            return [cursor.mogrify("%s", (value,)) for value in values]
    if None not in values:
        return list(convert(values))
    made = iter(convert([value for value in values if value is not None]))
    return ["NULL" if value is None else next(made) for value in values]


def _copy(connection: Connection, statement: str, columns: Sequence[Sequence[Any]]) -> None:
    """``COPY ... FROM STDIN`` of the rows of ``columns`` on the connection's cursor; driver errors
    are raised as SQLAlchemy's (a lost connection marked invalidated, so the caller's retry takes a
    new one)."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        if dialect.driver == "psycopg2":
            # NULL is an unquoted empty field: None replaced a column at a time, not per row
            csv_columns = [[_NULL if v is None else v for v in c] if None in c else c for c in columns]
            cursor.copy_expert(statement, _CopyCsv(list(zip(*csv_columns, strict=True))), _COPY_CHUNK)
        else:  # psycopg 3
            with cursor.copy(statement) as copy:
                for row in zip(*columns, strict=True):
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
    """The rows (``None`` already ``_NULL``) as COPY CSV, written by the C ``csv`` writer a slice at
    a time as psycopg2 reads them (the file's text is never all in memory beside its rows)."""

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
            self._writer.writerows(rows)
            self._pending += self._buffer.getvalue()
        text, self._pending = self._pending[:wanted], self._pending[wanted:]
        return text
