"""The formatter contract: items to bytes, plus the header, separator and footer of a file."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from airflow_provider_ozzy.core.pipeline_item import PipelineItem


class ByteSink(Protocol):
    """Where a file-level formatter writes its bytes (the buffer file: size and md5 kept there)."""

    size: int

    def write(self, data: bytes) -> None: ...


class ItemFile(Protocol):
    """One output file of a whole-file format (Parquet), fed items by the write buffer.

    The file is complete only after ``close()`` (which writes what the format puts at the end);
    until then it is an unfinished buffer file like any other, so the commit protocol is unchanged.
    """

    def write_items(self, items: list[dict[str, Any]], byte_limit: int) -> int:
        """Take ``items`` in order; stop early only once the sink holds ``byte_limit`` bytes.

        Returns how many were taken. Where it stops must depend only on the items, so a resumed
        export cuts files where the first run did.
        """
        ...

    def close(self) -> None: ...

    def discard(self) -> None: ...


class BaseExportFormatter(PipelineItem):
    """A file is ``header + sep.join(format_items(...)) + footer``; buffers write batches at once."""

    kind = "formatter"
    file_extension: ClassVar[str] = "txt"
    item_separator: ClassVar[bytes] = b"\n"
    # Whole-file formats (Parquet) set this and implement ``open_file``: buffers then hand them
    # items instead of joining formatted bytes, and the writer's own compression must be none.
    file_level: ClassVar[bool] = False

    def open_file(self, sink: ByteSink) -> ItemFile:
        """A new output file writing into ``sink`` (file-level formatters only)."""
        raise NotImplementedError

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
