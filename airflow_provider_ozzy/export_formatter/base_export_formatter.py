"""The formatter contract: items to bytes, plus the header, separator and footer of a file."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_ozzy.pipeline_item import PipelineItem


class BaseExportFormatter(PipelineItem):
    """A file is ``header + sep.join(format_items(...)) + footer``; buffers write batches at once."""

    kind = "formatter"
    file_extension: ClassVar[str] = "txt"
    item_separator: ClassVar[bytes] = b"\n"

    def header(self) -> bytes:
        return b""

    def footer(self) -> bytes:
        return b""

    def format_items(self, items: list[dict[str, Any]]) -> list[bytes]:
        """One ``bytes`` per item, without separators."""
        raise NotImplementedError

    def format_joined(self, items: list[dict[str, Any]]) -> bytes:
        """``item_separator.join(self.format_items(items))``, the same bytes, maybe faster.

        Write buffers use it for runs of items that all go into one file; a formatter overriding
        it must return exactly what the joined ``format_items`` would.
        """
        return self.item_separator.join(self.format_items(items))
