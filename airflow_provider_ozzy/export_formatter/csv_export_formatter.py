"""CSV with a title row; nested values are written as JSON text so they stay machine readable."""

from __future__ import annotations

import csv
import io
import itertools
import json
import operator
from collections.abc import Sequence
from typing import Any

import orjson

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter


class CSVExportFormatter(BaseExportFormatter):
    """Columns from ``fields`` (dotted names reach into nested objects) or the sorted ``schema`` properties."""

    file_extension = "csv"
    item_separator = b""

    supported_options = {
        "show_titles": {"type": bool, "default": True, "help": "Write a first row with the column names."},
        "fields": {"type": "str_list", "default": [], "help": "Columns, in order."},
        "schema": {
            "type": dict,
            "default": {},
            "help": "JSON schema; its properties (sorted) are the columns.",
        },
        "delimiter": {"type": str, "default": ",", "help": "One-character field delimiter."},
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = []
        if not values["fields"] and not (values["schema"] or {}).get("properties"):
            problems.append(
                Problem("fields", "CSV needs the columns: set 'fields' or a 'schema' with 'properties'")
            )
        if len(values["delimiter"]) != 1:
            problems.append(
                Problem("delimiter", f"option 'delimiter' must be one character, got {values['delimiter']!r}")
            )
        return problems

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.fields: list[str] = self.options["fields"] or sorted(self.options["schema"]["properties"])
        self._paths = [field.split(".") for field in self.fields]
        self._columns = list(zip(self.fields, self._paths, strict=True))
        delimiter = self.options["delimiter"]
        # format_joined writes rows with str.format: numbers unquoted, so the delimiter must not
        # be a character of a number (the csv module would quote such a number)
        self._template_ok = not (delimiter.isalnum() or delimiter in '+-."\r\n')
        self._joint = delimiter.replace("{", "{{").replace("}", "}}")
        self._getter = operator.itemgetter(*self.fields) if len(self.fields) > 1 else None

    def _writer(self, out: io.StringIO) -> Any:
        return csv.writer(
            out, delimiter=self.options["delimiter"], quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n"
        )

    def header(self) -> bytes:
        if not self.options["show_titles"]:
            return b""
        out = io.StringIO()
        self._writer(out).writerow(self.fields)
        return out.getvalue().encode("utf-8")

    def format_items(self, items: list[dict[str, Any]]) -> list[bytes]:
        out = io.StringIO()
        writer = self._writer(out)
        columns = self._columns
        plain = _PLAIN_TYPES
        ends = []
        for item in items:
            row = []
            for field, path in columns:
                value = item.get(field)
                row.append(value if type(value) in plain else _cell(item, field, path, value))
            writer.writerow(row)
            ends.append(out.tell())
        text = out.getvalue()
        rows = []
        start = 0
        for end in ends:
            rows.append(text[start:end].encode("utf-8"))
            start = end
        return rows

    def format_joined(self, items: list[dict[str, Any]]) -> bytes:
        """The rows of ``format_items``, joined; built column by column, one ``str.format`` per row.

        Falls back to ``format_items`` for values the csv module formats in ways not reproduced
        here (types other than str, int, float, bool, None, dict and list; subclasses).
        """
        getter = self._getter
        if not (self._template_ok and getter is not None and items):
            return b"".join(self.format_items(items))
        rows = []
        for item in items:
            try:
                rows.append(getter(item))
            except KeyError:  # a missing field, or a dotted path into nested objects
                rows.append(tuple(_lookup(item, field, path) for field, path in self._columns))
        columns: list[Any] = list(zip(*rows, strict=True))
        pieces = []
        for index, column in enumerate(columns):
            texts = _column_texts(column)
            if texts is None:
                return b"".join(self.format_items(items))
            columns[index], piece = texts
            pieces.append(piece)
        template = self._joint.join(pieces) + "\n"
        return "".join(itertools.starmap(template.format, zip(*columns, strict=True))).encode("utf-8")


_PLAIN_TYPES = frozenset((str, int, float))
_NUMBER_TYPES = frozenset((int, float))
_STR_TYPES = frozenset((str,))
_JSON_TYPES = frozenset((dict, list))


def _column_texts(column: tuple[Any, ...]) -> tuple[Sequence[Any], str] | None:
    """The values of one column as ``str.format`` arguments, and the template piece for them.

    As the csv module writes with ``QUOTE_NONNUMERIC``: numbers bare (``str()``), text quoted with
    quotes doubled. ``None`` for values that need the csv module.
    """
    kinds = set(map(type, column))
    if kinds <= _NUMBER_TYPES:
        return column, "{}"
    texts: Sequence[Any]
    if kinds <= _STR_TYPES:
        texts = column
    elif kinds == {bool}:
        return ["true" if value else "false" for value in column], '"{}"'
    elif kinds <= _JSON_TYPES:
        return [text.replace('"', '""') for text in map(_json_text, column)], '"{}"'
    else:
        texts = [_convert(value) for value in column]
        kinds = set(map(type, texts))
        if not kinds <= _STR_TYPES:  # text and numbers mixed: each cell as it will be written
            if not kinds <= _PLAIN_TYPES:
                return None
            return [
                f'"{text.replace(chr(34), chr(34) * 2)}"' if type(text) is str else str(text)
                for text in texts
            ], "{}"
    if '"' in "".join(texts):
        texts = [text.replace('"', '""') for text in texts]
    return texts, '"{}"'


def _cell(item: dict[str, Any], field: str, path: list[str], value: Any) -> Any:
    """A cell for values that are not plain strings or numbers (``item.get(field)`` is ``value``)."""
    if value is None and len(path) > 1 and field not in item:
        value = _walk(item, path)
    return _convert(value)


def _lookup(item: dict[str, Any], field: str, path: list[str]) -> Any:
    """``item[field]``, else the dotted ``path`` into nested objects, else ``None``."""
    value = item.get(field)
    if value is None and len(path) > 1 and field not in item:
        value = _walk(item, path)
    return value


def _walk(item: dict[str, Any], path: list[str]) -> Any:
    value: Any = item
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _convert(value: Any) -> Any:
    """A cell's value as the csv module gets it: text for None, booleans, objects and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _json_text(value)
    return value


def _json_text(value: Any) -> str:
    """Compact JSON; integers beyond 64 bits (orjson refuses them) through the standard library."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
