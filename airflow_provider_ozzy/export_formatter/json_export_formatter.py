"""JSON lines (the default) or a JSON array, optionally pretty-printed."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import orjson

from airflow_provider_ozzy.core.pipeline_item import PipelineItem
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter


def _fallback(value: Any) -> Any:
    """Types orjson does not serialise by itself."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__} to JSON")


def dumps_many(items: list[dict[str, Any]], option: int = 0) -> list[bytes]:
    """orjson per item; falls back to the standard library for values orjson rejects (huge ints)."""
    dumps = orjson.dumps
    try:
        return [dumps(item, default=_fallback, option=option) for item in items]
    except TypeError:
        return [_dumps_one(item, option) for item in items]


def _dumps_one(item: dict[str, Any], option: int) -> bytes:
    try:
        return orjson.dumps(item, default=_fallback, option=option)
    except TypeError:
        indent = 2 if option & orjson.OPT_INDENT_2 else None
        text = json.dumps(
            item,
            default=_fallback,
            ensure_ascii=False,
            indent=indent,
            sort_keys=indent is not None,
            separators=(",", ": ") if indent else (",", ":"),  # as orjson writes
        )
        return text.encode("utf-8")


class JsonExportFormatter(BaseExportFormatter):
    """JSON lines (``.jl``), or with ``jsonlines: false`` one JSON array per file (``.json``)."""

    supported_options = {
        "pretty_print": {"type": bool, "default": False, "help": "Indent by 2 and sort keys."},
        "jsonlines": {
            "type": bool,
            "default": True,
            "help": "One object per line; false writes a JSON array.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        PipelineItem.__init__(self, options)
        self._option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS if self.options["pretty_print"] else 0
        self._option |= orjson.OPT_NON_STR_KEYS
        if self.options["jsonlines"]:
            self.file_extension = "jl"  # type: ignore[misc]
            self.item_separator = b"\n"  # type: ignore[misc]
        else:
            self.file_extension = "json"  # type: ignore[misc]
            self.item_separator = b",\n"  # type: ignore[misc]

    def header(self) -> bytes:
        return b"" if self.options["jsonlines"] else b"["

    def footer(self) -> bytes:
        return b"\n" if self.options["jsonlines"] else b"\n]"

    def format_items(self, items: list[dict[str, Any]]) -> list[bytes]:
        return dumps_many(items, self._option)
