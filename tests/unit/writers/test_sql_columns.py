"""OdoWriter's column rules: value kinds, widening, conversion, declared schemas, flattening."""

from __future__ import annotations

import datetime
import decimal

import orjson
import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite

from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.services import sql_columns as cols


def test_kinds_widen_along_one_chain() -> None:
    assert [cols.value_kind(v) for v in (None, True, 3, 2**63, 1.5, "x", {"a": 1}, [1])] == [
        None,
        "bool",
        "int",
        "text",  # beyond 64 bits: kept exactly as text
        "float",
        "text",
        "text",
        "text",
    ]
    assert cols.wider(None, "int") == "int" and cols.wider("bool", None) == "bool"
    assert cols.wider("bool", "int") == "int" and cols.wider("int", "float") == "float"
    assert cols.wider("float", "bool") == "float" and cols.wider("int", "text") == "text"
    assert cols.wider("other", "int") == "other"


def test_convert_refuses_what_does_not_fit() -> None:
    assert cols.convert(True, "int") == 1 and cols.convert(2, "float") == 2.0
    assert cols.convert({"a": [1]}, "text") == '{"a":[1]}' and cols.convert(True, "text") == "true"
    assert cols.convert(None, "bool") is None and cols.convert([1], "other") == "[1]"
    for value, kind in (("x", "int"), (1.5, "int"), (1, "bool"), ("1", "float"), (2**64, "int")):
        with pytest.raises(ValueError, match="is not a"):
            cols.convert(value, kind)


def test_flatten_joins_nested_keys() -> None:
    item = {"a": {"b": {"c": 1}, "d": []}, "e": {}, "f": 2}
    assert cols.flatten(item, "_") == {"a_b_c": 1, "a_d": [], "e": {}, "f": 2}


def test_declared_schemas() -> None:
    assert cols.declared_columns({"a": "Integer", "b": "json", "c": "number"}, ".", False) == {
        "a": "int",
        "b": "text",
        "c": "float",
    }
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": ["integer", "null"]},
            "o": {"type": "object", "properties": {"p": {"type": "boolean"}}},
            "l": {"type": "array"},
        },
    }
    assert cols.declared_columns(schema, ".", True) == {"n": "int", "o.p": "bool", "l": "text"}
    assert cols.declared_columns(schema, ".", False) == {"n": "int", "o": "text", "l": "text"}
    with pytest.raises(ValueError, match="column 'a' has type 'money'"):
        cols.declared_columns({"a": "money"}, ".", False)


def test_widening_statements_per_dialect() -> None:
    pg = cols.widen_statement(postgresql.dialect(), "t", "c", "bool", "int")
    assert pg == "ALTER TABLE t ALTER COLUMN c TYPE BIGINT USING c::integer::BIGINT"
    assert cols.widen_statement(postgresql.dialect(), "t", "c", "int", "float") == (
        "ALTER TABLE t ALTER COLUMN c TYPE DOUBLE PRECISION USING c::DOUBLE PRECISION"
    )
    assert (
        cols.widen_statement(mysql.dialect(), "t", "c", "int", "text")
        == "ALTER TABLE t MODIFY COLUMN c LONGTEXT NULL"
    )
    assert cols.widen_statement(sqlite.dialect(), "t", "c", "int", "text") is None


def test_needed_kinds_of_a_file() -> None:
    items = [{"a": 1, "b": True, "c": None, "d": 2**70}, {"a": 2.5, "b": 2, "e": {"x": 1}, "d": 1}]
    assert cols.needed_kinds(cols.columns_of(items)) == {
        "a": "float",
        "b": "int",
        "c": None,
        "d": "text",
        "e": "text",
    }


ROUND_TRIP_COLUMNS = [
    [1, None, -(2**63), 2**63 - 1],
    [1.5, None, float("nan"), float("inf"), -0.0, 1e300],
    ["a", None, "\x00", "😀"],
    [True, False, None],
    [{"b": 1, "a": [1.5, None, {"n": float("nan")}]}, [], {}, None, [1, "x"], {"d": {1: 2}}],
    [1, "x", 2.5, True, None, {"k": "v"}],
]


@pytest.mark.parametrize("values", ROUND_TRIP_COLUMNS)
def test_buffered_values_are_stored_as_json_lines_would_give_them(values: list[object]) -> None:
    """OdoWriter takes the buffered items instead of parsing its buffer file: each column must come
    out as formatting it with the JSON lines formatter and parsing it back gives it."""
    lines = JsonExportFormatter({}).format_items([{"v": value} for value in values])
    parsed = [orjson.loads(line)["v"] for line in lines]
    expected = [cols.json_text(v) if isinstance(v, (dict, list)) else v for v in parsed]
    got = cols.as_json(values)
    assert got == expected and [type(v) for v in got] == [type(v) for v in expected]


@pytest.mark.parametrize(
    "values",
    [
        [datetime.date(2026, 1, 2)],
        [decimal.Decimal("1.10")],
        [(1, 2)],
        [{"a": decimal.Decimal("1")}],
    ],
)
def test_values_json_would_change_are_read_back_from_the_file(values: list[object]) -> None:
    with pytest.raises(cols.NotJson):
        cols.as_json(values)


def test_flatten_refuses_keys_that_json_writes_as_text() -> None:
    assert cols.flatten({"a": {"b": 1}}, ".") == {"a.b": 1}
    with pytest.raises(cols.NotJson):
        cols.flatten({"a": {1: 1}}, ".")
