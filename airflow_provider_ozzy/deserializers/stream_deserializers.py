"""Deserializers turn decompressed chunks into items, in lists, with line numbers for errors.

``batches(chunks, name, skip)`` skips the first ``skip`` records without parsing them (resume
inside a partially read stream) and yields lists of dicts.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.options import Problem
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
    """CSV with a header row; every value is a string, as in the file.

    Quoting is strict: a quoted field that is never closed or text after a closing quote is an
    error naming the line, instead of silently merging the rest of the file into one field.
    """

    supported_options = {
        "delimiter": {"type": str, "default": ",", "help": "Field delimiter."},
        "encoding": {"type": str, "default": "utf-8", "help": "Text encoding of the input."},
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = []
        if len(values["delimiter"]) != 1:
            problems.append(
                Problem("delimiter", f"option 'delimiter' must be one character, got {values['delimiter']!r}")
            )
        try:
            codecs.lookup(values["encoding"])
        except LookupError:
            problems.append(
                Problem("encoding", f"option 'encoding': unknown encoding {values['encoding']!r}")
            )
        return problems

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        encoding = self.options["encoding"]
        reader = csv.DictReader(
            _decoded_lines(chunks, encoding, name), delimiter=self.options["delimiter"], strict=True
        )
        batch: list[dict[str, Any]] = []
        row_start = 1
        try:
            for row in reader:
                if skip:
                    skip -= 1
                elif None in row:
                    raise ReaderError(f"{name} line {reader.line_num}: more fields than the header has")
                else:
                    batch.append(row)
                    if len(batch) >= 5000:
                        yield batch
                        batch = []
                row_start = reader.line_num + 1
        except csv.Error as error:
            line = reader.reader.line_num  # DictReader.line_num is only updated after a good row
            started = f"; the row starts on line {row_start}" if row_start < line else ""
            raise ReaderError(f"{name} line {line}: bad CSV ({error}){started}") from None
        if batch:
            yield batch


def _decoded_lines(chunks: Iterable[bytes], encoding: str, name: str) -> Iterator[str]:
    """Text lines (ends kept, split as a file opened with ``newline=''``) of a byte stream.

    Decoding here, not in a read-ahead text wrapper, lets a decoding error name its real line.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    carry = ""
    lines_done = 0
    for chunk in _with_end(chunks):
        final = chunk is None
        try:
            text = decoder.decode(chunk or b"", final)
        except UnicodeDecodeError as error:
            before = bytes(error.object[: error.start]).decode(encoding, "replace")
            parts = io.StringIO(carry + before, newline="").readlines()
            line = lines_done + sum(1 for part in parts if part.endswith(("\n", "\r"))) + 1
            raise ReaderError(
                f"{name} line {line}: not valid {encoding} ({error.reason}); set the deserializer's "
                "option 'encoding' to the file's encoding"
            ) from None
        lines = io.StringIO(carry + text, newline="").readlines()
        carry = ""
        if lines and not final and not lines[-1].endswith("\n"):
            carry = lines.pop()  # an unfinished line, or a '\r' that may be followed by '\n'
        lines_done += len(lines)
        yield from lines


def _with_end(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None
