"""Per-group buffer files: formatted items are compressed into a local file until it is full.

A buffer file is finished when it holds ``items_per_buffer_write`` items or ``size_per_buffer_write``
formatted (uncompressed) bytes; counting formatted bytes keeps file boundaries deterministic, which
the commit protocol relies on to rewrite the same files on resume.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any, NamedTuple

from airflow_provider_ozzy.core.compression import CompressedFile, suffix
from airflow_provider_ozzy.core.ordered_worker import OrderedWorker
from airflow_provider_ozzy.core.pipeline_item import PipelineItem
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter, ItemFile
from airflow_provider_ozzy.groupers.base_grouper import GroupKey

_FOLDER_PREFIX = "ozzy-buffers-"


def _remove_abandoned_folders(parent: str) -> None:
    """Buffer folders of processes that died (``kill -9``) are never cleaned by them: remove them."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(_FOLDER_PREFIX):
            continue
        pid = name[len(_FOLDER_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FinishedFile(NamedTuple):
    """A complete local file, ready to be put at its destination."""

    group: GroupKey
    path: str
    records: int
    size: int
    md5: str
    first_batch: int = 0  # the batch its first item came in (the commit protocol's watermark)
    # the items formatted into it, for writers that load items, not files (``keep_items``)
    items: list[dict[str, Any]] | None = None


# Items formatted at a time. orjson returns every item in a bytes object of 4 KiB, whatever its
# length: a whole batch of formatted items would hold 40 MB (and touch a fresh page per item);
# joined a slice at a time, formatted data is compact and the same few megabytes are reused.
FORMAT_SLICE = 1000


class BufferSettings(NamedTuple):
    formatter: BaseExportFormatter
    compression: str
    compression_level: int | None
    items_per_file: int
    bytes_per_file: int
    compression_engine: str = "zlib"  # who writes gz: zlib or isal (core/compression.py)
    keep_items: bool = False  # finished files carry their items (BaseWriter.takes_items)


class _OpenBuffer:
    __slots__ = ("file", "count", "size", "first_batch", "items", "kept")

    def __init__(
        self,
        file: CompressedFile,
        size: int,
        first_batch: int,
        items: ItemFile | None = None,
        keep: bool = False,
    ) -> None:
        self.file = file
        self.count = 0
        self.size = size
        self.first_batch = first_batch
        self.items = items  # the formatter's file object, for file-level formats (Parquet)
        self.kept: list[dict[str, Any]] | None = [] if keep else None


class WriteBuffer(PipelineItem):
    """The default buffer: one open file per group, rotated when full."""

    kind = "write_buffer"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._buffers: dict[GroupKey, _OpenBuffer] = {}
        self._folder = ""
        self._sequence = 0
        self.settings: BufferSettings | None = None
        self._background: OrderedWorker | None = None
        # names the data inside zip files: (group, files of the group opened before) -> name
        self.member_namer: Callable[[GroupKey, int], str | None] | None = None
        self._opened: dict[GroupKey, int] = {}

    def configure(self, settings: BufferSettings, folder: str | None = None) -> None:
        self.settings = settings
        _remove_abandoned_folders(folder or tempfile.gettempdir())
        self._folder = tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-", dir=folder)
        self._background = OrderedWorker(max_pending=4, name="ozzy-compress")

    @property
    def _config(self) -> BufferSettings:
        assert self.settings is not None, "configure() first"
        return self.settings

    def append(self, key: GroupKey, items: list[dict[str, Any]], batch_number: int) -> list[FinishedFile]:
        """Format and buffer ``items`` for group ``key``; returns the files this filled."""
        settings = self._config
        formatter = settings.formatter
        if formatter.file_level:
            return self._append_items(key, items, batch_number)
        separator = formatter.item_separator
        finished = []
        buffer: _OpenBuffer | None = None
        pieces: list[bytes] = []  # joined data for ``buffer``, handed to its file in one task
        for first in range(0, len(items), FORMAT_SLICE):
            some = items if len(items) <= FORMAT_SLICE else items[first : first + FORMAT_SLICE]
            if buffer is None:
                buffer = self._buffers.get(key) or self._open(key, batch_number)
            if buffer.count + len(some) <= settings.items_per_file:
                # the usual case: the whole slice goes into this file, unless it passes the byte limit
                data = formatter.format_joined(some)
                size = len(data) + (len(separator) if buffer.count else 0)
                if size < settings.bytes_per_file - buffer.size:
                    if buffer.count and separator:
                        pieces.append(separator)
                    pieces.append(data)
                    if buffer.kept is not None:
                        buffer.kept.extend(some)
                    buffer.count += len(some)
                    buffer.size += size
                    if buffer.count >= settings.items_per_file:
                        buffer.file.write_pieces(pieces)
                        pieces = []
                        finished.append(self._finish(key))
                        buffer = None
                    continue
            parts = formatter.format_items(some)  # the slice ends a file: item by item
            start = 0
            while start < len(parts):
                if buffer is None:
                    buffer = self._buffers.get(key) or self._open(key, batch_number)
                end, size = self._fitting(buffer, parts, start, len(separator))
                if buffer.count and separator:
                    pieces.append(separator)
                pieces.append(separator.join(parts if start == 0 and end == len(parts) else parts[start:end]))
                if buffer.kept is not None:
                    buffer.kept.extend(some[start:end])
                buffer.count += end - start
                buffer.size += size
                start = end
                if buffer.count >= settings.items_per_file or buffer.size >= settings.bytes_per_file:
                    buffer.file.write_pieces(pieces)
                    pieces = []
                    finished.append(self._finish(key))
                    buffer = None
        if pieces:
            assert buffer is not None
            buffer.file.write_pieces(pieces)
        return finished

    def _append_items(
        self, key: GroupKey, items: list[dict[str, Any]], batch_number: int
    ) -> list[FinishedFile]:
        """File-level formats: the formatter's file takes items and says where the byte limit cuts."""
        settings = self._config
        finished = []
        start = 0
        while start < len(items):
            buffer = self._buffers.get(key) or self._open(key, batch_number)
            assert buffer.items is not None
            end = min(len(items), start + settings.items_per_file - buffer.count)
            taken = buffer.items.write_items(items[start:end], settings.bytes_per_file)
            buffer.count += taken
            buffer.size = buffer.file.size
            start += taken
            if buffer.count >= settings.items_per_file or buffer.size >= settings.bytes_per_file:
                finished.append(self._finish(key))
        return finished

    def _fitting(
        self, buffer: _OpenBuffer, parts: list[bytes], start: int, separator: int
    ) -> tuple[int, int]:
        """End index of the parts that go into ``buffer`` before it is full, and their bytes with separators."""
        settings = self._config
        end = min(len(parts), start + settings.items_per_file - buffer.count)
        room = settings.bytes_per_file - buffer.size
        lengths = map(len, parts if start == 0 and end == len(parts) else parts[start:end])
        total = sum(lengths) + separator * (end - start - (0 if buffer.count else 1))
        if total < room:  # the usual case: all of them, without a Python loop per item
            return end, total
        total = 0
        for index in range(start, end):
            total += len(parts[index]) + (separator if (index > start or buffer.count) else 0)
            if total >= room:
                return index + 1, total
        return end, total

    def _open(self, key: GroupKey, batch_number: int) -> _OpenBuffer:
        settings = self._config
        self._sequence += 1
        extension = settings.formatter.file_extension
        path = os.path.join(
            self._folder, f"buffer-{self._sequence}.{extension}{suffix(settings.compression)}"
        )
        ordinal = self._opened.get(key, 0)
        self._opened[key] = ordinal + 1
        member = None
        if settings.compression == "zip" and self.member_namer is not None:
            member = self.member_namer(key, ordinal)
        member = member or f"buffer-{self._sequence}.{extension}"
        if settings.formatter.file_level:
            # the format compresses inside the file; written synchronously so sizes are current
            raw = CompressedFile(path, "none")
            buffer = _OpenBuffer(raw, 0, batch_number, settings.formatter.open_file(raw))
            self._buffers[key] = buffer
            return buffer
        file = CompressedFile(
            path,
            settings.compression,
            settings.compression_level,
            member_name=member,
            background=self._background,
            engine=settings.compression_engine,
        )
        header = settings.formatter.header()
        if header:
            file.write(header)
        buffer = _OpenBuffer(file, len(header), batch_number, keep=settings.keep_items)
        self._buffers[key] = buffer
        return buffer

    def _finish(self, key: GroupKey) -> FinishedFile:
        buffer = self._buffers.pop(key)
        if buffer.items is not None:
            try:
                buffer.items.close()
            except BaseException:  # no longer in _buffers: close() would not remove it
                buffer.items.discard()
                buffer.file.discard()
                raise
        footer = self._config.formatter.footer()
        if footer:
            buffer.file.write(footer)
        buffer.file.close()
        return FinishedFile(
            key,
            buffer.file.path,
            buffer.count,
            buffer.file.size,
            buffer.file.md5,
            buffer.first_batch,
            buffer.kept,
        )

    def flush_all(self) -> list[FinishedFile]:
        """Finish every open file (end of the export)."""
        return [self._finish(key) for key in list(self._buffers)]

    def open_groups(self) -> dict[GroupKey, tuple[int, int]]:
        """Groups with buffered items not yet at the destination: ``{key: (first batch, items)}``."""
        return {key: (buffer.first_batch, buffer.count) for key, buffer in self._buffers.items()}

    def close(self) -> None:
        for buffer in self._buffers.values():
            if buffer.items is not None:
                buffer.items.discard()
            buffer.file.discard()
        self._buffers.clear()
        if self._background is not None:
            try:
                self._background.shutdown()
            except Exception:  # a failed write already raised where it happened
                pass
            self._background = None
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)
