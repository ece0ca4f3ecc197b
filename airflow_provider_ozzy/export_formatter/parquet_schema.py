"""Column types for Parquet output: parsed from a declared schema or inferred, and values made to fit.

Types are plain Python values, so a config is checked without pyarrow: a scalar name (``string``,
``int64``, ``int32``, ``float64``, ``float32``, ``bool``), ``("list", element)`` or
``("struct", ((name, type), ...))``. Declared schemas write these as ``list<int64>``,
``struct<a: string, b: list<float64>>``, a nested mapping (a struct) or a one-element list.

Fitting is column by column with C-level type checks; only the conversions the schema allows are
made (integers into float columns; any value into a string column, as its JSON text). Anything
else raises ``Misfit``, and the caller finds the item it came from.
"""

from __future__ import annotations

import json
from typing import Any, Union

import orjson

from airflow_provider_ozzy.export_formatter.json_export_formatter import _fallback

Node = Union[str, tuple[str, Any]]  # noqa: UP007 - a runtime alias, kept readable for mypy

SCALARS = ("string", "int64", "int32", "float64", "float32", "bool")
_ALIASES = {
    "str": "string",
    "text": "string",
    "int": "int64",
    "integer": "int64",
    "long": "int64",
    "float": "float64",
    "double": "float64",
    "number": "float64",
    "boolean": "bool",
}
_NONE = type(None)
_ACCEPTS: dict[str, frozenset[type]] = {
    "string": frozenset((str, _NONE)),
    "int64": frozenset((int, _NONE)),
    "int32": frozenset((int, _NONE)),
    "float64": frozenset((int, float, _NONE)),
    "float32": frozenset((int, float, _NONE)),
    "bool": frozenset((bool, _NONE)),
}
_INT_RANGES = {"int64": (-(2**63), 2**63 - 1), "int32": (-(2**31), 2**31 - 1)}


class SchemaError(ValueError):
    """A declared type that cannot be parsed (the message names the column)."""


class Misfit(Exception):
    """A value that the column type cannot hold."""

    def __init__(self, path: str, value: Any, node: Node, reason: str = "") -> None:
        super().__init__(path)
        self.path = path
        self.value = value
        self.node = node
        self.reason = reason


# -- declared schemas ------------------------------------------------------------------------------------
def parse_schema(declared: dict[str, Any]) -> tuple[tuple[str, Node], ...]:
    """``{column: type}`` to columns; raises ``SchemaError`` naming the column."""
    if not isinstance(declared, dict) or not declared:
        raise SchemaError("must be a non-empty mapping of column names to types")
    return tuple((str(name), _parse(spec, str(name))) for name, spec in declared.items())


def _parse(spec: Any, path: str) -> Node:
    if isinstance(spec, dict):
        if not spec:
            raise SchemaError(f"column '{path}': a struct needs at least one field")
        return ("struct", tuple((str(name), _parse(child, f"{path}.{name}")) for name, child in spec.items()))
    if isinstance(spec, list):
        if len(spec) != 1:
            raise SchemaError(f"column '{path}': a list type is a list of exactly one element type")
        return ("list", _parse(spec[0], f"{path}[]"))
    if not isinstance(spec, str):
        raise SchemaError(
            f"column '{path}': a type is a name, a mapping or a list, got {type(spec).__name__}"
        )
    parser = _TextParser(spec, path)
    node = parser.type()
    parser.end()
    return node


class _TextParser:
    """``int64``, ``list<T>``, ``struct<name: T, ...>``."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.at = 0
        self.path = path

    def fail(self, message: str) -> SchemaError:
        return SchemaError(f"column '{self.path}': {message} in type {self.text!r}")

    def skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def word(self) -> str:
        self.skip_spaces()
        start = self.at
        while self.at < len(self.text) and (self.text[self.at].isalnum() or self.text[self.at] in "_-."):
            self.at += 1
        if start == self.at:
            raise self.fail(f"expected a name at position {start}")
        return self.text[start : self.at]

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.text[self.at : self.at + 1] != char:
            raise self.fail(f"expected '{char}' at position {self.at}")
        self.at += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.text[self.at : self.at + 1]

    def type(self) -> Node:
        name = self.word()
        lowered = name.lower()
        if lowered == "list":
            self.expect("<")
            element = self.type()
            self.expect(">")
            return ("list", element)
        if lowered == "struct":
            self.expect("<")
            fields = []
            while True:
                field = self.word()
                self.expect(":")
                fields.append((field, self.type()))
                if self.peek() != ",":
                    break
                self.expect(",")
            self.expect(">")
            return ("struct", tuple(fields))
        scalar = _ALIASES.get(lowered, lowered)
        if scalar not in SCALARS:
            known = ", ".join((*SCALARS, "list<T>", "struct<name: T, ...>"))
            raise SchemaError(f"column '{self.path}': unknown type '{name}' (known: {known})")
        return scalar

    def end(self) -> None:
        self.skip_spaces()
        if self.at != len(self.text):
            raise self.fail(f"unexpected text at position {self.at}")


def describe(node: Node) -> str:
    """The type as declared-schema text."""
    if isinstance(node, str):
        return node
    if node[0] == "list":
        return f"list<{describe(node[1])}>"
    return "struct<" + ", ".join(f"{name}: {describe(child)}" for name, child in node[1]) + ">"


def flatten_columns(columns: tuple[tuple[str, Node], ...], prefix: str = "") -> tuple[tuple[str, Node], ...]:
    """Struct columns become dotted columns (``customer.name``), as ``flatten_item`` makes items."""
    flat: list[tuple[str, Node]] = []
    for name, node in columns:
        if isinstance(node, tuple) and node[0] == "struct":
            flat.extend(flatten_columns(node[1], f"{prefix}{name}."))
        else:
            flat.append((f"{prefix}{name}", node))
    return tuple(flat)


def flatten_item(
    item: dict[str, Any], prefix: str = "", into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Nested objects as dotted keys; lists stay values."""
    out: dict[str, Any] = {} if into is None else into
    for key, value in item.items():
        name = f"{prefix}{key}"
        if type(value) is dict:
            if value:
                flatten_item(value, f"{name}.", out)
            else:  # an empty object holds no field: a null, like a missing one
                out.setdefault(name, None)
        else:
            out.setdefault(name, value)
    return out


# -- inference -------------------------------------------------------------------------------------------
def infer_columns(rows: list[dict[str, Any]]) -> tuple[tuple[str, Node], ...]:
    """Columns (in order of first appearance) and their widest safe types over ``rows``."""
    names = dict.fromkeys(key for row in rows for key in row)
    columns = {str(name): [row.get(name) for row in rows] for name in names}
    return tuple(
        (name, infer(values))
        for name, values in columns.items()
        # a null object next to its flattened fields ("customer": null, "customer.name") is no column
        if not (
            all(value is None for value in values) and any(other.startswith(f"{name}.") for other in columns)
        )
    )


def infer(values: list[Any]) -> Node:
    """int+float is float64, only nulls or mixed kinds are string (JSON text for non-text values)."""
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    if not kinds:
        return "string"
    if kinds == {bool}:
        return "bool"
    if kinds == {int}:
        low, high = _INT_RANGES["int64"]
        return "int64" if all(low <= value <= high for value in values if value is not None) else "string"
    if kinds <= {int, float}:
        return "float64"
    if kinds == {dict}:
        rows = [value for value in values if value is not None]
        names = dict.fromkeys(key for row in rows for key in row)
        if not names:
            return "string"
        return ("struct", tuple((str(name), infer([row.get(name) for row in rows])) for name in names))
    if kinds <= {list, tuple}:
        return ("list", infer([element for value in values if value is not None for element in value]))
    return "string"


# -- fitting values ----------------------------------------------------------------------------------------
def fit(values: list[Any], node: Node, path: str, strict: bool) -> list[Any]:
    """``values`` made to fit ``node`` (the same list when nothing changes); ``Misfit`` otherwise.

    ``strict``: object keys the struct does not have are misfits (inferred schemas must not drop
    fields silently; a declared schema leaves out what it does not name).
    """
    kinds = set(map(type, values))
    if isinstance(node, str):
        if kinds <= _ACCEPTS[node]:
            if node in _INT_RANGES:
                _check_range(values, node, path)
            return values
        if node == "string":
            return [value if value is None or type(value) is str else _text(value) for value in values]
        raise _first_misfit(values, node, path, _ACCEPTS[node])
    kinds.discard(_NONE)
    if node[0] == "list":
        if not kinds <= {list, tuple}:
            raise _first_misfit(values, node, path, frozenset((list, tuple, _NONE)))
        flat = [element for value in values if value is not None for element in value]
        fitted = fit(flat, node[1], f"{path}[]", strict)
        if fitted is flat:
            return values
        out: list[Any] = []
        at = 0
        for value in values:
            if value is None:
                out.append(None)
            else:
                out.append(fitted[at : at + len(value)])
                at += len(value)
        return out
    if not kinds <= {dict}:
        raise _first_misfit(values, node, path, frozenset((dict, _NONE)))
    names = [name for name, _ in node[1]]
    if strict:
        extra = unknown_fields([value for value in values if value is not None], set(names))
        if extra:
            raise Misfit(f"{path}.{extra[0]}", extra[1], node, "is not in the schema")
    columns = []
    changed = False
    for name, child in node[1]:
        column = [None if value is None else value.get(name) for value in values]
        fitted = fit(column, child, f"{path}.{name}", strict)
        changed = changed or fitted is not column
        columns.append(fitted)
    if not changed:
        return values
    rows = zip(*columns, strict=True) if columns else iter(())
    return [
        None if value is None else dict(zip(names, row, strict=True))
        for value, row in zip(values, rows, strict=True)
    ]


def unknown_fields(rows: list[dict[str, Any]], known: set[str]) -> tuple[str, Any, int] | None:
    """The first field (name, value, row index) with a value that no column holds; nulls lose nothing."""
    extra = set().union(*(row.keys() for row in rows)) - known
    for name in sorted(extra, key=str):
        for index, row in enumerate(rows):
            if row.get(name) is not None:
                return str(name), row[name], index
    return None


def _check_range(values: list[Any], node: str, path: str) -> None:
    low, high = _INT_RANGES[node]
    numbers = [value for value in values if value is not None]
    if numbers and not (low <= min(numbers) and max(numbers) <= high):
        bad = next(value for value in numbers if not low <= value <= high)
        raise Misfit(path, bad, node, f"is out of the {node} range")


def _first_misfit(values: list[Any], node: Node, path: str, accepted: frozenset[type]) -> Misfit:
    bad = next((value for value in values if type(value) not in accepted), None)
    return Misfit(path, bad, node)


def _text(value: Any) -> str:
    """A non-text value in a string column: its JSON text (``true``, ``1.5``, ``{"a":1}``).

    Values JSON writes as text (dates, times) are that text, without quotes.
    """
    try:
        data = orjson.dumps(value, default=_fallback, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers over 64 bits, keys orjson cannot write
        return json.dumps(value, default=str)
    text: str = orjson.loads(data) if data.startswith(b'"') else data.decode("utf-8")
    return text


def arrow_type(node: Node) -> Any:
    """The pyarrow type of ``node`` (imports pyarrow)."""
    import pyarrow as pa

    if isinstance(node, str):
        return {
            "string": pa.string(),
            "int64": pa.int64(),
            "int32": pa.int32(),
            "float64": pa.float64(),
            "float32": pa.float32(),
            "bool": pa.bool_(),
        }[node]
    if node[0] == "list":
        return pa.list_(arrow_type(node[1]))
    return pa.struct([pa.field(name, arrow_type(child)) for name, child in node[1]])
