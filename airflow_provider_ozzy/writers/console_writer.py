"""Prints formatted items to standard output, for trying a config out."""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.writers.base_writer import BaseWriter

_data_stream: BinaryIO | None = None


def use_data_stream(stream: BinaryIO | None) -> None:
    """Where the items go instead of ``sys.stdout``: the ``ozzy`` command keeps its standard output
    for data alone and points ``sys.stdout`` (and file descriptor 1) at standard error, because
    libraries it imports (Airflow's logging, once a module resolves a connection) print there."""
    global _data_stream
    _data_stream = stream


def data_stream() -> BinaryIO:
    return _data_stream if _data_stream is not None else sys.stdout.buffer


class ConsoleWriter(BaseWriter):
    """Writes each batch straight to stdout (no buffer files, no compression)."""

    supported_options = {
        "pretty_print": {
            "type": bool,
            "default": False,
            "help": "Accepted for exporters configs; use the formatter's.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._started = False
        self._count = 0
        self._last = b""  # the last bytes written, to end the output with a newline

    def write_batch(self, groups: dict[GroupKey, list[dict[str, Any]]], batch_number: int) -> None:
        assert self.formatter is not None
        out = data_stream()
        separator = self.formatter.item_separator
        for items in groups.values():
            self.accepted += len(items)
            if not self._started:
                out.write(self.formatter.header())
                self._started = True
            parts = self.formatter.format_items(items)
            out.write((separator if self._count else b"") + separator.join(parts))
            self._last = parts[-1] if parts else self._last
            self._count += len(parts)
            self.items_written += len(parts)
        out.flush()

    def flush(self) -> None:
        assert self.formatter is not None
        if self._started:
            footer = self.formatter.footer()
            # end with a newline, so what is printed next (the CLI's stats line) starts on its own line
            ends_line = (footer or self._last).endswith(b"\n")
            data_stream().write(footer if ends_line else footer + b"\n")
            data_stream().flush()
            self._started = False
