"""Deserializers turn decompressed chunks into items, in lists, with line numbers for errors.

``batches(chunks, name, skip)`` skips the first ``skip`` records without parsing them (resume
inside a partially read stream) and yields lists of dicts.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from airflow_provider_ozzy.core.dead_letters import BadRecord
from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.pipeline_item import PipelineItem


class BaseDeserializer(PipelineItem):
    """Bytes of a stream to records."""

    kind = "deserializer"
    # set by the exporter when a dead-letter file is configured: yield a ``BadRecord`` in place of
    # a bad record instead of raising (the reader counts it in its position and sets it aside)
    keep_bad_records = False

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        raise NotImplementedError


MIB = 1024 * 1024

LINE_LIMIT_OPTIONS: dict[str, dict[str, Any]] = {
    "max_line_bytes": {
        "type": int,
        "default": 64 * MIB,
        "minimum": 1,
        "maximum": 4096 * MIB,
        "help": "Longest line (one record) read, in bytes: a longer one is an error naming its line, or a "
        "dead letter; bounds the memory one record may take.",
    },
}

# how much of a line longer than max_line_bytes is kept for the error and the dead-letter file
_TOO_LONG_KEPT = 200


def _too_long(name: str, line_number: int, limit: int, start: bytes, keep_bad: bool) -> BadRecord:
    problem = (
        f"the line is longer than max_line_bytes ({limit} bytes); set the deserializer's option "
        "'max_line_bytes' higher if such records are expected"
    )
    if not keep_bad:
        raise ReaderError(f"{name} line {line_number}: {problem}")
    return BadRecord(name, line_number, problem, start[:_TOO_LONG_KEPT].decode("utf-8", "replace") + "...")


class JsonLinesDeserializer(BaseDeserializer):
    """One JSON object per line; blank lines are ignored.

    Integers beyond 64 bits stay exact (orjson would read them as floats): a line holding a run of
    19 or more digits (not after a point: fractions are floats anyway) is read again with the
    standard library.
    """

    supported_options = LINE_LIMIT_OPTIONS

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        limit = self.options["max_line_bytes"]
        keep_bad = self.keep_bad_records
        # the unfinished last line, in pieces: joined once when its end arrives (joining at every
        # chunk copied a long line again and again: quadratic)
        pending: list[bytes] = []
        pending_size = 0
        overlong: bytes | None = None  # the start of a line already past the limit; the rest is dropped
        lines_before = 0
        for chunk in chunks:
            cut = chunk.rfind(b"\n")
            if cut < 0:
                if overlong is None:
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if pending_size > limit:
                        overlong, pending, pending_size = b"".join(pending)[:_TOO_LONG_KEPT], [], 0
                continue
            if overlong is not None:
                end = chunk.find(b"\n")
                lines_before += 1
                if skip:
                    skip -= 1
                else:
                    yield [_too_long(name, lines_before, limit, overlong, keep_bad)]  # type: ignore[list-item]
                overlong = None
                data = chunk[end + 1 :]
                cut -= end + 1
            elif pending:
                data = b"".join((*pending, chunk))
                cut += pending_size
                pending, pending_size = [], 0
            else:
                data = chunk
            rest = data[cut + 1 :]
            if len(rest) > limit:
                overlong = rest[:_TOO_LONG_KEPT]
            elif rest:
                pending, pending_size = [rest], len(rest)
            if cut < 0:
                continue
            lines = data[:cut].split(b"\n")
            first = lines_before + 1
            lines_before += len(lines)
            if skip:
                lines, first, skip = _skip_records(lines, first, skip)
            if lines:
                yield _parse_lines(lines, name, first, keep_bad, limit if cut > limit else 0, data, cut)
        if overlong is not None:
            if not skip:
                yield [_too_long(name, lines_before + 1, limit, overlong, keep_bad)]  # type: ignore[list-item]
            return
        last = b"".join(pending)
        if last.strip():
            if skip:
                return
            yield _parse_lines([last], name, lines_before + 1, keep_bad)


def _skip_records(lines: list[bytes], first: int, skip: int) -> tuple[list[bytes], int, int]:
    for index, line in enumerate(lines):
        if skip == 0:
            return lines[index:], first + index, 0
        if line.strip():
            skip -= 1
    return [], first + len(lines), skip


def _parse_lines(
    lines: list[bytes],
    name: str,
    first: int,
    keep_bad: bool = False,
    limit: int = 0,
    whole: bytes | None = None,
    end: int = -1,
) -> list[Any]:
    """Items of ``lines``; ``limit``: when set, lines longer than it may be among them.

    ``whole[:end]``: the bytes ``lines`` were split from (scanned without a copy).
    """
    if limit and max(map(len, lines)) > limit:
        return _parse_slowly(lines, name, first, keep_bad, limit)
    loads = orjson.loads
    try:
        items = [loads(line) for line in lines]
    except orjson.JSONDecodeError:
        return _parse_slowly(lines, name, first, keep_bad)
    dict_type = dict
    for item in items:
        if type(item) is not dict_type:
            return _parse_slowly(lines, name, first, keep_bad)
    if long_integer_in(whole, end) if whole is not None else long_integer_in(b"\n".join(lines)):
        return _parse_slowly(lines, name, first, keep_bad)
    return items


_DIGITS_AS_ZEROS = bytes.maketrans(b"0123456789", b"0" * 10)
_RUN = b"0" * 19


def long_integer_in(data: bytes, end: int = -1) -> bool:
    """Whether ``data[:end]`` has 19 digits in a row that follow neither a digit nor a point.

    Such a run may be an integer beyond 64 bits, which orjson reads as a float (silently). The
    digits of a fraction follow the point: random floats (0.0071908389850935395) have such runs,
    and with a plain ``\\d{19}`` one of them sent the whole chunk to the line-by-line parse. One
    translate and a find per chunk: a regex over a chunk without a match took 25 ms per MB.
    """
    digits = data.translate(_DIGITS_AS_ZEROS)
    stop = len(digits) if end < 0 else end
    start = 0
    while (found := digits.find(_RUN, start, stop)) >= 0:
        if found == 0 or digits[found - 1] not in b"0.":
            return True
        start = found + len(_RUN)  # the rest of this run of digits starts no new number
    return False


def loads_exact(line: bytes | str) -> Any:
    """``orjson.loads``, but integers beyond 64 bits stay ``int`` (orjson makes them floats).

    orjson decides what is valid JSON (so NaN stays an error); only a line with 19 digits in a row
    (``long_integer_in``) is read a second time, by the standard library, to take its exact numbers.
    """
    item = orjson.loads(line)
    if not long_integer_in(line if isinstance(line, bytes) else line.encode()):
        return item
    return json.loads(line)


def _parse_slowly(
    lines: list[bytes], name: str, first: int, keep_bad: bool = False, limit: int = 0
) -> list[Any]:
    """Per-line parse: skips blank lines and names the exact line of a bad record.

    ``keep_bad``: a bad line becomes a ``BadRecord`` in its place instead of an error.
    """
    items: list[Any] = []
    for offset, line in enumerate(lines):
        if limit and len(line) > limit:
            items.append(_too_long(name, first + offset, limit, line, keep_bad))
            continue
        if not line.strip():
            continue
        line_number = first + offset
        try:
            item = loads_exact(line)
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
        **LINE_LIMIT_OPTIONS,
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
        limit = self.options["max_line_bytes"]
        # the csv module's own cap on one field (128 KiB by default, process-wide) must not be
        # the smaller one
        csv.field_size_limit(max(csv.field_size_limit(), limit))
        reader = csv.DictReader(
            _decoded_lines(chunks, encoding, name, limit), delimiter=self.options["delimiter"], strict=True
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


def _decoded_lines(chunks: Iterable[bytes], encoding: str, name: str, limit: int = 0) -> Iterator[str]:
    """Text lines (ends kept, split as a file opened with ``newline=''``) of a byte stream.

    Decoding here, not in a read-ahead text wrapper, lets a decoding error name its real line.
    ``limit``: a line longer than this many characters (about bytes) is an error naming it.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    carry: list[str] = []  # the unfinished line in pieces, joined once its end arrives (linear)
    carry_size = 0
    lines_done = 0
    for chunk in _with_end(chunks):
        final = chunk is None
        try:
            text = decoder.decode(chunk or b"", final)
        except UnicodeDecodeError as error:
            before = bytes(error.object[: error.start]).decode(encoding, "replace")
            parts = io.StringIO("".join(carry) + before, newline="").readlines()
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
        if not final and "\n" not in text and "\r" not in text:
            carry.append(text)
            carry_size += len(text)
            if limit and carry_size > limit:
                _too_long(name, lines_done + 1, limit, b"", False)
            continue
        lines = io.StringIO("".join(carry) + text, newline="").readlines()
        carry, carry_size = [], 0
        if lines and not final and not lines[-1].endswith("\n"):
            carry = [lines.pop()]  # an unfinished line, or a '\r' that may be followed by '\n'
            carry_size = len(carry[0])
        if limit:
            for offset, each in enumerate(lines):
                if len(each) > limit + 2:  # the line end is not part of the record
                    _too_long(name, lines_done + offset + 1, limit, b"", False)
            if carry_size > limit:
                _too_long(name, lines_done + len(lines) + 1, limit, b"", False)
        lines_done += len(lines)
        yield from lines


def _with_end(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None
