"""Item values as SQL columns: value kinds, safe widening, declared schemas, flattening, widening DDL.

Four kinds cover JSON values: ``bool`` < ``int`` < ``float`` < ``text``. Inference takes, per
column, the narrowest kind holding every value seen; widening only ever goes up that chain, so no
value already stored changes meaning. Objects and lists are stored as JSON text. Columns of an
existing table with other SQL types (dates, decimals, ...) are ``other``: values go to the driver
as they are and the database converts them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import partial
from itertools import chain, repeat
from typing import Any

import orjson
from sqlalchemy import BigInteger, Boolean, Double, Text
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect

BOOL, INT, FLOAT, TEXT, OTHER = "bool", "int", "float", "text", "other"
_RANK = {BOOL: 0, INT: 1, FLOAT: 2, TEXT: 3}
_INT64 = (-(2**63), 2**63 - 1)

# names a declared schema may use for each kind (JSON Schema types included)
DECLARED_TYPES = {
    "bool": BOOL,
    "boolean": BOOL,
    "int": INT,
    "integer": INT,
    "bigint": INT,
    "float": FLOAT,
    "double": FLOAT,
    "number": FLOAT,
    "real": FLOAT,
    "text": TEXT,
    "str": TEXT,
    "string": TEXT,
    "json": TEXT,
    "object": TEXT,
    "array": TEXT,
}

_LONG_TEXT = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def value_kind(value: Any) -> str | None:
    """The narrowest kind that holds ``value`` (``None`` for null, which fits every kind)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT if _INT64[0] <= value <= _INT64[1] else TEXT
    if isinstance(value, float):
        return FLOAT
    return TEXT


# types whose values a column of the kind stores unchanged (ints are range-checked by ``convert``)
PLAIN_TYPES: dict[str, type] = {BOOL: bool, FLOAT: float, TEXT: str}
_TYPE_KINDS: dict[type, str | None] = {type(None): None, bool: BOOL, int: INT, float: FLOAT, str: TEXT}


def columns_of(items: list[dict[str, Any]], names: Iterable[str] | None = None) -> dict[str, list[Any]]:
    """Each column's values, one per item (``None`` where an item lacks it): the columns ``names``,
    or every key of ``items`` in the order first seen. Column lists let the checks below run at C
    speed (``set(map(type, ...))``, ``min``/``max``) instead of once per value in Python."""
    if names is None:
        names = dict.fromkeys(chain.from_iterable(items))
    return {name: list(map(dict.get, items, repeat(name))) for name in names}


def needed_kinds(columns: dict[str, list[Any]]) -> dict[str, str | None]:
    """Per column (``columns_of``), the narrowest kind holding all its values (``None``: only nulls)."""
    return {name: column_kind(values) for name, values in columns.items()}


def column_kind(values: list[Any]) -> str | None:
    """The narrowest kind holding every one of ``values`` (``None``: only nulls)."""
    kind: str | None = None
    types = set(map(type, values))
    for each in types:
        each_kind = _TYPE_KINDS.get(each, TEXT)
        if each_kind == INT and not _ints_fit(values, types):
            each_kind = TEXT  # an integer beyond 64 bits
        kind = wider(kind, each_kind)
    return kind


def _ints_fit(values: list[Any], types: set[type]) -> bool:
    """Whether the ints among ``values`` (whose types are ``types``) fit 64 bits."""
    ints = values if types == {int} else [value for value in values if type(value) is int]
    return not ints or (min(ints) >= _INT64[0] and max(ints) <= _INT64[1])


class NotJson(ValueError):
    """Values that JSON lines would give back changed (dates, decimals, NaN, keys that are not
    text): the writer reads them from its formatted buffer file instead."""


_JSON_TYPES = frozenset({type(None), bool, int, float, str, dict, list})


def as_json(values: list[Any]) -> list[Any]:
    """``values`` as formatting them into JSON lines and parsing them back would give them: the
    list itself in the usual case, nested objects and lists as their JSON text, NaN and infinities
    as ``None`` (orjson writes null). Raises ``NotJson`` for types the round trip would change."""
    types = set(map(type, values))
    if not types <= _JSON_TYPES:
        raise NotJson(f"values of type {sorted(t.__name__ for t in types - _JSON_TYPES)}")
    if float in types and not _finite(values, types):  # rare: NaN or an infinity
        values = [None if type(v) is float and not math.isfinite(v) else v for v in values]
    if dict in types or list in types:
        try:
            if types <= {dict, list}:
                values = list(map(bytes.decode, map(_dumps, values)))
            else:
                values = [json_text(v) if type(v) is dict or type(v) is list else v for v in values]
        except TypeError as error:  # a nested value the formatter's fallback would have turned
            raise NotJson(str(error)) from None
    return values


def _finite(values: list[Any], types: set[type]) -> bool:
    """Whether every float of ``values`` is finite (a sum beyond float range answers no)."""
    if types <= {float, int, bool, type(None)}:
        try:
            return math.isfinite(sum(filter(None, values)))
        except OverflowError:  # an int beyond float range
            pass
    return math.isfinite(sum(value for value in values if type(value) is float))


class ColumnValueError(ValueError):
    """A value that a column's kind cannot hold; ``index`` is its place in the column."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def stored_values(values: list[Any], kind: str) -> list[Any]:
    """``values`` as a column of ``kind`` stores them; the list itself when none needs converting
    (the usual case). Raises ``ColumnValueError`` for a value that does not fit."""
    found = set(map(type, values))
    types = found - {type(None)}
    if (
        not types
        or types == {PLAIN_TYPES.get(kind)}
        or (kind == INT and types == {int} and _ints_fit(values, found))
    ):
        return values
    stored = []
    for index, value in enumerate(values):
        try:
            stored.append(convert(value, kind))
        except ValueError as error:
            raise ColumnValueError(index, str(error)) from None
    return stored


def nul_at(values: list[Any]) -> int | None:
    """Place of the first text value holding NUL, which PostgreSQL's text cannot store."""
    types = set(map(type, values))
    if str not in types:
        return None
    if types <= {str, type(None)}:
        texts = list(filter(None, values))
    else:
        texts = [value for value in values if type(value) is str]
    if not texts or "\x00" not in "".join(texts):
        return None
    return next(index for index, value in enumerate(values) if type(value) is str and "\x00" in value)


def wider(first: str | None, second: str | None) -> str | None:
    """The kind holding values of both kinds."""
    if first is None or first == second:
        return second
    if second is None:
        return first
    if OTHER in (first, second):
        return OTHER
    return first if _RANK[first] >= _RANK[second] else second


def column_type(kind: str) -> Any:
    """The SQLAlchemy type of new columns of ``kind`` (MySQL texts are LONGTEXT)."""
    return {BOOL: Boolean(), INT: BigInteger(), FLOAT: Double()}.get(kind, _LONG_TEXT)


def kind_of_type(sql_type: sqltypes.TypeEngine[Any]) -> str:
    """The kind of an existing column (MySQL's BOOLEAN is TINYINT(1))."""
    if isinstance(sql_type, sqltypes.Boolean) or (
        isinstance(sql_type, mysql.TINYINT) and getattr(sql_type, "display_width", None) == 1
    ):
        return BOOL
    if isinstance(sql_type, sqltypes.Integer):
        return INT
    if isinstance(sql_type, sqltypes.Float) or (
        isinstance(sql_type, sqltypes.Numeric) and not sql_type.asdecimal
    ):
        return FLOAT
    if isinstance(sql_type, (sqltypes.String, sqltypes.JSON)):
        return TEXT
    return OTHER


_dumps = partial(orjson.dumps, option=orjson.OPT_NON_STR_KEYS)


def json_text(value: Any) -> str:
    return _dumps(value).decode()


def convert(value: Any, kind: str) -> Any:
    """``value`` as stored in a column of ``kind``; ``ValueError`` when it does not fit."""
    if value is None:
        return None
    if kind == TEXT:
        return value if isinstance(value, str) else json_text(value)
    if kind == OTHER:
        return json_text(value) if isinstance(value, (dict, list)) else value
    if kind == BOOL and isinstance(value, bool):
        return value
    if kind == INT and isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
        return int(value)
    if kind == FLOAT and isinstance(value, (int, float)):
        return float(value)
    raise ValueError(f"{_short(value)} is not a {kind} value")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def flatten(item: dict[str, Any], separator: str, prefix: str = "") -> dict[str, Any]:
    """Nested objects become columns ``parent<separator>child``; lists and empty objects stay values."""
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if type(key) is not str:  # JSON writes it as text of its own (true, 1.0): read it back
            raise NotJson(f"key {key!r}")
        name = f"{prefix}{separator}{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, separator, name))
        else:
            flat[name] = value
    return flat


def declared_columns(schema: dict[str, Any], separator: str, flat: bool) -> dict[str, str]:
    """Columns of a declared ``schema``: ``{column: type}`` or a JSON Schema with ``properties``.

    A JSON Schema's nested objects become flattened columns when ``flat``, else JSON text.
    Raises ``ValueError`` naming the bad entry.
    """
    if isinstance(schema.get("properties"), dict):
        return _json_schema_columns(schema["properties"], separator, flat, "")
    columns = {}
    for name, type_name in schema.items():
        if not isinstance(type_name, str) or type_name.lower() not in DECLARED_TYPES:
            raise ValueError(
                f"column {name!r} has type {type_name!r}; use one of {', '.join(sorted(set(DECLARED_TYPES)))}"
            )
        columns[str(name)] = DECLARED_TYPES[type_name.lower()]
    return columns


def _json_schema_columns(
    properties: dict[str, Any], separator: str, flat: bool, prefix: str
) -> dict[str, str]:
    columns: dict[str, str] = {}
    for name, spec in properties.items():
        column = f"{prefix}{separator}{name}" if prefix else str(name)
        spec = spec if isinstance(spec, dict) else {}
        types = spec.get("type", "string")
        types = [types] if isinstance(types, str) else [t for t in types if t != "null"] or ["string"]
        if flat and types == ["object"] and isinstance(spec.get("properties"), dict):
            columns.update(_json_schema_columns(spec["properties"], separator, flat, column))
            continue
        kind: str | None = None
        for each in types:
            if not isinstance(each, str) or each.lower() not in DECLARED_TYPES:
                raise ValueError(f"property {column!r} has JSON Schema type {each!r}")
            kind = wider(kind, DECLARED_TYPES[each.lower()])
        columns[column] = kind or TEXT
    return columns


def widen_statement(dialect: Dialect, table: str, column: str, old: str, kind: str) -> str | None:
    """DDL that widens ``column`` to ``kind`` (``None`` for SQLite, whose columns hold any value)."""
    quote = dialect.identifier_preparer.quote
    type_sql = column_type(kind).compile(dialect=dialect)
    if dialect.name == "sqlite":
        return None
    if dialect.name in ("mysql", "mariadb"):
        return f"ALTER TABLE {table} MODIFY COLUMN {quote(column)} {type_sql} NULL"
    # PostgreSQL and others speaking the standard form; booleans go through integer first
    via = f"{quote(column)}::integer" if old == BOOL and kind in (INT, FLOAT) else quote(column)
    return f"ALTER TABLE {table} ALTER COLUMN {quote(column)} TYPE {type_sql} USING {via}::{type_sql}"
