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
