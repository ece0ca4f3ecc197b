"""CSV with a title row; nested values are written as JSON text so they stay machine readable."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter
from airflow_provider_ozzy.options import Problem


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
        columns = list(zip(self.fields, self._paths, strict=True))
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


_PLAIN_TYPES = frozenset((str, int, float))


def _cell(item: dict[str, Any], field: str, path: list[str], value: Any) -> Any:
    """A cell for values that are not plain strings or numbers (the rare path)."""
    if value is None and len(path) > 1 and field not in item:
        value = item
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode("utf-8")
    return value
