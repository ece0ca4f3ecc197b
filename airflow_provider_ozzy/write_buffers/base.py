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

from airflow_provider_ozzy.compression import BackgroundWriter, CompressedFile, suffix
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.pipeline_item import PipelineItem

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


class BufferSettings(NamedTuple):
    formatter: BaseExportFormatter
    compression: str
    compression_level: int | None
    items_per_file: int
    bytes_per_file: int


class _OpenBuffer:
    __slots__ = ("file", "count", "size", "first_batch")

    def __init__(self, file: CompressedFile, size: int, first_batch: int) -> None:
        self.file = file
        self.count = 0
        self.size = size
        self.first_batch = first_batch


class WriteBuffer(PipelineItem):
    """The default buffer: one open file per group, rotated when full."""

    kind = "write_buffer"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._buffers: dict[GroupKey, _OpenBuffer] = {}
        self._folder = ""
        self._sequence = 0
        self.settings: BufferSettings | None = None
        self._background: BackgroundWriter | None = None
        # names the data inside zip files: (group, files of the group opened before) -> name
        self.member_namer: Callable[[GroupKey, int], str | None] | None = None
        self._opened: dict[GroupKey, int] = {}

    def configure(self, settings: BufferSettings, folder: str | None = None) -> None:
        self.settings = settings
        _remove_abandoned_folders(folder or tempfile.gettempdir())
        self._folder = tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-", dir=folder)
        self._background = BackgroundWriter()

    @property
    def _config(self) -> BufferSettings:
        assert self.settings is not None, "configure() first"
        return self.settings

    def append(self, key: GroupKey, items: list[dict[str, Any]], batch_number: int) -> list[FinishedFile]:
        """Format and buffer ``items`` for group ``key``; returns the files this filled."""
        settings = self._config
        parts = settings.formatter.format_items(items)
        separator = settings.formatter.item_separator
        finished = []
        start = 0
        while start < len(parts):
            buffer = self._buffers.get(key) or self._open(key, batch_number)
            end = self._fitting(buffer, parts, start, len(separator))
            data = separator.join(parts[start:end])
            if buffer.count:
                data = separator + data
            buffer.file.write(data)
            buffer.count += end - start
            buffer.size += len(data)
            start = end
            if buffer.count >= settings.items_per_file or buffer.size >= settings.bytes_per_file:
                finished.append(self._finish(key))
        return finished

    def _fitting(self, buffer: _OpenBuffer, parts: list[bytes], start: int, separator: int) -> int:
        """End index of the parts that go into ``buffer`` before it is full."""
        settings = self._config
        end = min(len(parts), start + settings.items_per_file - buffer.count)
        room = settings.bytes_per_file - buffer.size
        total = 0
        for index in range(start, end):
            total += len(parts[index]) + (separator if (index > start or buffer.count) else 0)
            if total >= room:
                return index + 1
        return end

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
        file = CompressedFile(
            path,
            settings.compression,
            settings.compression_level,
            member_name=member,
            background=self._background,
        )
        header = settings.formatter.header()
        if header:
            file.write(header)
        buffer = _OpenBuffer(file, len(header), batch_number)
        self._buffers[key] = buffer
        return buffer

    def _finish(self, key: GroupKey) -> FinishedFile:
        buffer = self._buffers.pop(key)
        footer = self._config.formatter.footer()
        if footer:
            buffer.file.write(footer)
        buffer.file.close()
        return FinishedFile(key, buffer.file.path, buffer.count, buffer.file.size, buffer.file.md5)

    def flush_all(self) -> list[FinishedFile]:
        """Finish every open file (end of the export)."""
        return [self._finish(key) for key in list(self._buffers)]

    def open_groups(self) -> dict[GroupKey, tuple[int, int]]:
        """Groups with buffered items not yet at the destination: ``{key: (first batch, items)}``."""
        return {key: (buffer.first_batch, buffer.count) for key, buffer in self._buffers.items()}

    def close(self) -> None:
        for buffer in self._buffers.values():
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
