"""Random bytes and damaged compressed streams to every decompressor and deserializer.

The only allowed outcomes: the data is read, or a ``ReaderError`` names the stream (and, for
records, the line). Never another exception, never a hang, and never a damaged stream read as
if it were whole: a truncated stream must fail, not end early with part of its data.
"""

from __future__ import annotations

import bz2
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import zstandard
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_provider_ozzy.decompressors.stream_decompressors import BaseDecompressor
from airflow_provider_ozzy.deserializers.stream_deserializers import BaseDeserializer
from airflow_provider_ozzy.engine.registry import CATALOGUE, resolve
from airflow_provider_ozzy.errors import ReaderError
from tests.property.inputs import tried

NAME = "in/hostile-input.jl.gz"

DECOMPRESSORS = sorted(CATALOGUE["decompressors"])
DESERIALIZERS = sorted(CATALOGUE["deserializers"])


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("items.jl", data)
    return out.getvalue()


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "zlib": zlib.compress,
    "bz2": bz2.compress,
    "zstd": _zstd,
    "zip": _zip,
}
# which decompressors read each format (AutoDecompressor detects all but zlib)
READS = {
    "gzip": ["GzipDecompressor", "ZLibDecompressor", "AutoDecompressor"],
    "zlib": ["GzipDecompressor", "ZLibDecompressor"],
    "bz2": ["Bz2Decompressor", "AutoDecompressor"],
    "zstd": ["ZstdDecompressor", "AutoDecompressor"],
    "zip": ["ZipDecompressor", "AutoDecompressor"],
}

items = st.lists(
    st.dictionaries(
        st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20) | st.none(), max_size=3
    ),
    min_size=1,
    max_size=40,
)


def payload(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def decompress(class_name: str, data: bytes, name: str = NAME) -> bytes:
    decompressor: BaseDecompressor = resolve(class_name, "decompressors")()
    return b"".join(decompressor.chunks(io.BytesIO(data), name))


def _names_stream(error: ReaderError, name: str) -> None:
    assert name in str(error), f"the error does not name the stream: {error}"


@pytest.mark.parametrize("class_name", DECOMPRESSORS)
@given(data=st.binary(max_size=2000))
def test_random_bytes_to_every_decompressor(class_name: str, data: bytes) -> None:
    tried("random bytes to decompressors")
    try:
        decompress(class_name, data)
    except ReaderError as error:
        _names_stream(error, NAME)


@st.composite
def damaged_streams(draw: st.DrawFn) -> tuple[str, str, bytes, bytes, str]:
    """(format, decompressor, original payload, damaged stream, damage kind)."""
    fmt = draw(st.sampled_from(sorted(COMPRESSORS)))
    class_name = draw(st.sampled_from(READS[fmt]))
    original = payload(draw(items))
    stream = COMPRESSORS[fmt](original)
    kind = draw(st.sampled_from(["truncate", "flip", "garbage", "concatenate"]))
    if kind == "truncate":
        cut = draw(st.integers(1, len(stream) - 1))
        damaged = stream[:cut]
    elif kind == "flip":
        bits = draw(st.lists(st.integers(0, len(stream) * 8 - 1), min_size=1, max_size=4))
        buffer = bytearray(stream)
        for bit in bits:
            buffer[bit // 8] ^= 1 << (bit % 8)
        damaged = bytes(buffer)
    elif kind == "garbage":
        damaged = stream + draw(st.binary(min_size=1, max_size=50).filter(lambda extra: extra.strip(b"\0")))
    else:
        second = payload(draw(items))
        damaged = stream + COMPRESSORS[fmt](second)
        original += second
    return fmt, class_name, original, damaged, kind


@given(damaged_streams())
@example(("zstd", "ZstdDecompressor", b"{}\n", b"(", "truncate"))  # found: read as complete
@example(("zstd", "AutoDecompressor", b"{}\n", _zstd(b"{}\n")[:-4], "truncate"))
def test_damaged_compressed_streams_fail_clearly_and_never_as_complete(
    case: tuple[str, str, bytes, bytes, str],
) -> None:
    fmt, class_name, original, damaged, kind = case
    tried(f"damaged {fmt} streams to decompressors")
    try:
        out = decompress(class_name, damaged)
    except ReaderError as error:
        _names_stream(error, NAME)
        assert kind != "concatenate" or fmt == "zip", f"concatenated {fmt} streams must be read: {error}"
        return
    if kind == "truncate":
        pytest.fail(f"{class_name} read a truncated {fmt} stream as complete ({len(out)} bytes)")
    if kind == "concatenate" and fmt != "zip":
        assert out == original, f"{class_name} lost data of concatenated {fmt} members"
    if kind == "garbage" and fmt != "zip":
        pytest.fail(f"{class_name} ignored bytes after the end of a {fmt} stream")


def _deserializer(class_name: str, options: dict[str, Any] | None = None) -> BaseDeserializer:
    return resolve(class_name, "deserializers")(options or {})


def _read(deserializer: BaseDeserializer, data: bytes, name: str = NAME, chunk: int = 7) -> list[Any]:
    chunks = [data[start : start + chunk] for start in range(0, len(data), chunk)]
    return [record for batch in deserializer.batches(iter(chunks), name) for record in batch]


LINE_BASED = {"JsonLinesDeserializer", "CSVDeserializer"}  # whole-file formats (Parquet) have no lines


def _located(error: ReaderError, class_name: str) -> None:
    text = str(error)
    assert NAME in text, f"the error does not name the stream: {text}"
    if class_name in LINE_BASED:
        assert re.search(r"line \d+", text), f"the error does not name the line: {text}"


text_lines = st.lists(
    st.sampled_from(['{"a": 1}', "{", "[]", "1", '"x"', "null", "", " ", "a,b", '"q', '{"a": "é"}', "\r"])
    | st.text(max_size=20),
    max_size=12,
).map("\n".join)


@pytest.mark.parametrize("class_name", DESERIALIZERS)
@given(data=st.binary(max_size=500) | text_lines.map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_random_bytes_to_every_deserializer(class_name: str, data: bytes) -> None:
    tried("random bytes and lines to deserializers")
    try:
        records = _read(_deserializer(class_name), data)
    except ReaderError as error:
        _located(error, class_name)
        return
    assert all(isinstance(record, dict) for record in records)


@given(
    rows=st.lists(st.lists(st.text(max_size=6), min_size=1, max_size=4), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]),
    damage=st.binary(max_size=6),
    at=st.integers(0, 10_000),
)
@example(rows=[], delimiter=",", encoding="utf-16", damage=b"\x00", at=0)  # found: bare UnicodeError
def test_csv_with_random_cells_encodings_and_damage(
    rows: list[list[str]], delimiter: str, encoding: str, damage: bytes, at: int
) -> None:
    tried("damaged CSV to CSVDeserializer")
    text = "\n".join(delimiter.join(row) for row in rows)
    data = text.encode(encoding, "replace")
    at = at % (len(data) + 1)
    data = data[:at] + damage + data[at:]
    deserializer = _deserializer("CSVDeserializer", {"delimiter": delimiter, "encoding": encoding})
    try:
        records = _read(deserializer, data)
    except ReaderError as error:
        _located(error, "CSVDeserializer")
        return
    assert all(isinstance(record, dict) for record in records)


@given(records=items, cut=st.integers(0, 10_000), skip=st.integers(0, 50))
def test_json_lines_skip_is_the_same_as_dropping_records(
    records: list[dict[str, Any]], cut: int, skip: int
) -> None:
    """A resume skips ``skip`` records: the rest must be exactly what an uninterrupted read gives."""
    tried("JSON lines resumed at random offsets")
    data = payload(records)
    chunk = cut % 50 + 1
    chunks = [data[start : start + chunk] for start in range(0, len(data), chunk)]
    deserializer = _deserializer("JsonLinesDeserializer")
    resumed = [record for batch in deserializer.batches(iter(chunks), NAME, skip=skip) for record in batch]
    assert resumed == records[skip:]


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, 99])
def test_zip_member_with_a_wrong_compression_method_is_a_clear_error(method: int) -> None:
    """Found by the end-to-end property test: a bit flip in the central directory's method field
    made bz2 raise a bare OSError, an unknown method NotImplementedError."""
    archive = bytearray(_zip(payload([{"a": 1}] * 20)))
    central = archive.rfind(b"PK\x01\x02")
    archive[central + 10 : central + 12] = method.to_bytes(2, "little")
    with pytest.raises(ReaderError, match="member items.jl is damaged"):
        decompress("ZipDecompressor", bytes(archive))
