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

from airflow_provider_ozzy.dead_letters import BadRecord
from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.options import Problem
from airflow_provider_ozzy.pipeline_item import PipelineItem


class BaseDeserializer(PipelineItem):
    """Bytes of a stream to records."""

    kind = "deserializer"
    # set by the exporter when a dead-letter file is configured: yield a ``BadRecord`` in place of
    # a bad record instead of raising (the reader counts it in its position and sets it aside)
    keep_bad_records = False

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
                yield _parse_lines(lines, name, first, self.keep_bad_records)
        if pending.strip():
            if skip:
                return
            yield _parse_lines([pending], name, lines_before + 1, self.keep_bad_records)


def _skip_records(lines: list[bytes], first: int, skip: int) -> tuple[list[bytes], int, int]:
    for index, line in enumerate(lines):
        if skip == 0:
            return lines[index:], first + index, 0
        if line.strip():
            skip -= 1
    return [], first + len(lines), skip


def _parse_lines(lines: list[bytes], name: str, first: int, keep_bad: bool = False) -> list[Any]:
    loads = orjson.loads
    try:
        items = [loads(line) for line in lines]
    except orjson.JSONDecodeError:
        items = _parse_slowly(lines, name, first, keep_bad)
    else:
        dict_type = dict
        for item in items:
            if type(item) is not dict_type:
                return _parse_slowly(lines, name, first, keep_bad)
    return items


def _parse_slowly(lines: list[bytes], name: str, first: int, keep_bad: bool = False) -> list[Any]:
    """Per-line parse: skips blank lines and names the exact line of a bad record.

    ``keep_bad``: a bad line becomes a ``BadRecord`` in its place instead of an error.
    """
    items: list[Any] = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        line_number = first + offset
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            problem = _describe_bad_line(line, error)
        else:
            if isinstance(item, dict):
                items.append(item)
                continue
            problem = f"expected a JSON object per line, got {type(item).__name__}"
        if not keep_bad:
            raise ReaderError(f"{name} line {line_number}: {problem}")
        items.append(BadRecord(name, line_number, problem, line.decode("utf-8", "replace")))
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
        batch: list[Any] = []
        try:
            header = reader.fieldnames  # a bad header is never a bad record: nothing can be read
        except csv.Error as error:
            raise ReaderError(f"{name} line {reader.reader.line_num}: bad CSV header ({error})") from None
        row_start = reader.reader.line_num + 1 if header else 1
        while True:
            row: dict[str | Any, Any] | BadRecord
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                line = reader.reader.line_num  # DictReader.line_num is only updated after a good row
                started = f"; the row starts on line {row_start}" if row_start < line else ""
                if not self.keep_bad_records:
                    raise ReaderError(f"{name} line {line}: bad CSV ({error}){started}") from None
                # the csv module drops the bad row and goes on with the next line: one record
                row = BadRecord(name, row_start, f"bad CSV ({error}){started}", "")
            if skip:
                skip -= 1
            elif isinstance(row, BadRecord):
                batch.append(row)
            elif None in row:
                problem = "more fields than the header has"
                if not self.keep_bad_records:
                    raise ReaderError(f"{name} line {reader.line_num}: {problem}")
                raw = self.options["delimiter"].join(
                    [str(value) for key, value in row.items() if key is not None] + list(row[None])
                )
                batch.append(BadRecord(name, row_start, problem, raw))
            else:
                batch.append(row)
            if len(batch) >= 5000:
                yield batch
                batch = []
            row_start = reader.reader.line_num + 1
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
        except UnicodeError as error:  # e.g. utf-16 without a byte order mark: no position known
            raise ReaderError(
                f"{name} line {lines_done + 1}: not valid {encoding} ({error}); set the deserializer's "
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
