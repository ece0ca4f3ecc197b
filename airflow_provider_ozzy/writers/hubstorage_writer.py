"""Items into a Scrapy Cloud collection, each under ``_key`` = its ``key_field``.

No buffer files: every batch is stored (in requests of ``items_per_request`` items) before the
exporter commits the position after it. A crash between the two replays the batch on resume, which
stores the same values under the same keys again: the collection ends up exactly as after an
uninterrupted run (only the service's ``_ts`` of the replayed items is newer). Two items with the
same key keep the last one, as the service does. Items are written as they are (the formatter is
not used); the key field stays in the value, as in exporters.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_ozzy.core.errors import OzzyError, WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services.scrapy_cloud import (
    CollectionAccess,
    connection_options,
    connection_problems,
    name_problem,
    project_id_option,
)
from airflow_provider_ozzy.writers.unbuffered_writer import UnbufferedWriter

MAX_REQUEST_BYTES = 8 * 1024 * 1024  # keep each POST well under what a proxy in between accepts


class HubstorageWriter(UnbufferedWriter):
    """Writes items to collection ``collection_name`` of project ``project_id``."""

    supported_options = {
        **connection_options(),
        "project_id": project_id_option(),
        "collection_name": {"type": str, "help": "Store collection to write."},
        "key_field": {"type": str, "default": "_key", "help": "Item field holding the key."},
        "items_per_request": {
            "type": int,
            "minimum": 1,
            "maximum": 100_000,
            "default": 1000,
            "help": "Items per write request.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.access: CollectionAccess | None = None

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values) + connection_problems(values)
        problem = name_problem("collection_name", values["collection_name"])
        if problem:
            problems.append(problem)
        if not str(values["project_id"]).isdigit():
            problems.append(
                Problem("project_id", f"option 'project_id' must be a number, got {values['project_id']!r}")
            )
        if values["items_per_request"] <= 0:
            problems.append(Problem("items_per_request", "option 'items_per_request' must be positive"))
        return problems

    @property
    def label(self) -> str:
        return f"{self.kind} {type(self).__name__}"

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        super().open(formatter, state)
        self.access = CollectionAccess(
            self.label, self.options, self.options["project_id"], self.options["collection_name"]
        )

    def _value(self, item: dict[str, Any], number: int) -> dict[str, Any]:
        field = self.options["key_field"]
        key = item.get(field)
        if isinstance(key, bool) or not isinstance(key, (str, int)) or key == "":
            raise WriterError(
                f"{self.label}: item {number} has no usable key in field '{field}' "
                f"(a non-empty string or an integer), got {key!r}"
            )
        return dict(item, _key=str(key))

    def write_items(self, items: list[dict[str, Any]]) -> None:
        assert self.access is not None, "open() first"
        first = self.items_written + 1
        values = [self._value(item, first + offset) for offset, item in enumerate(items)]
        chunk: list[dict[str, Any]] = []
        size = 0
        for value in values:
            length = len(json.dumps(value, default=str)) + 1
            if chunk and (
                len(chunk) >= self.options["items_per_request"] or size + length > MAX_REQUEST_BYTES
            ):
                self._post(chunk, size)
                chunk, size = [], 0
            chunk.append(value)
            size += length
        if chunk:
            self._post(chunk, size)

    def _post(self, chunk: list[dict[str, Any]], size: int) -> None:
        assert self.access is not None
        try:
            self.access.set(chunk)
        except WriterError:
            raise
        except OzzyError as error:
            raise WriterError(str(error)) from None
        self.items_written += len(chunk)
        self.bytes_written += size
