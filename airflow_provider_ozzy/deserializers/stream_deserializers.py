"""Deserializers turn decompressed chunks into items, in lists, with line numbers for errors.

``batches(chunks, name, skip)`` skips the first ``skip`` records without parsing them (resume
inside a partially read stream) and yields lists of dicts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.pipeline_item import PipelineItem


class BaseDeserializer(PipelineItem):
    """Bytes of a stream to records."""

    kind = "deserializer"

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        raise NotImplementedError


class JsonLinesDeserializer(BaseDeserializer):
    """One JSON object per line; blank lines are ignored."""

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        pending = b""
        lines_before = 0
        for chunk in chunks:
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            pending = data[cut + 1 :]
            lines = data[:cut].split(b"\n")
            first = lines_before + 1
            lines_before += len(lines)
            if skip:
                lines, first, skip = _skip_records(lines, first, skip)
            if lines:
                yield _parse_lines(lines, name, first)
        if pending.strip():
            if skip:
                return
            yield _parse_lines([pending], name, lines_before + 1)


def _skip_records(lines: list[bytes], first: int, skip: int) -> tuple[list[bytes], int, int]:
    for index, line in enumerate(lines):
        if skip == 0:
            return lines[index:], first + index, 0
        if line.strip():
            skip -= 1
    return [], first + len(lines), skip


def _parse_lines(lines: list[bytes], name: str, first: int) -> list[dict[str, Any]]:
    loads = orjson.loads
    try:
        items = [loads(line) for line in lines]
    except orjson.JSONDecodeError:
        items = _parse_slowly(lines, name, first)
    else:
        dict_type = dict
        for item in items:
            if type(item) is not dict_type:
                return _parse_slowly(lines, name, first)
    return items


def _parse_slowly(lines: list[bytes], name: str, first: int) -> list[dict[str, Any]]:
    """Per-line parse: skips blank lines and names the exact line of a bad record."""
    items = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        line_number = first + offset
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise ReaderError(f"{name} line {line_number}: {_describe_bad_line(line, error)}") from None
        if not isinstance(item, dict):
            raise ReaderError(
                f"{name} line {line_number}: expected a JSON object per line, got {type(item).__name__}"
            )
        items.append(item)
    return items


def _describe_bad_line(line: bytes, error: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"not valid UTF-8 (byte 0x{line[bad.start]:02x} at column {bad.start + 1}); "
            "JSON lines input must be UTF-8 encoded"
        )
    snippet = line[:80].decode("utf-8", "replace")
    return f"not valid JSON ({error}): {snippet!r}"


class CSVDeserializer(BaseDeserializer):
    """CSV with a header row; every value is a string, as in the file."""

    supported_options = {
        "delimiter": {"type": str, "default": ",", "help": "Field delimiter."},
        "encoding": {"type": str, "default": "utf-8", "help": "Text encoding of the input."},
    }

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        text = io.TextIOWrapper(
            io.BufferedReader(_ChunkStream(iter(chunks))), encoding=self.options["encoding"], newline=""
        )
        reader = csv.DictReader(text, delimiter=self.options["delimiter"])
        batch: list[dict[str, Any]] = []
        try:
            for row in reader:
                if skip:
                    skip -= 1
                    continue
                if None in row:
                    raise ReaderError(f"{name} line {reader.line_num}: more fields than the header has")
                batch.append(row)
                if len(batch) >= 5000:
                    yield batch
                    batch = []
        except UnicodeDecodeError as error:
            raise ReaderError(
                f"{name} near line {reader.line_num + 1}: not valid {self.options['encoding']} ({error.reason})"
            ) from None
        except csv.Error as error:
            raise ReaderError(f"{name} line {reader.line_num}: bad CSV ({error})") from None
        if batch:
            yield batch


class _ChunkStream(io.RawIOBase):
    """A readable raw stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._current = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            try:
                self._current = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size
