"""Compact, JSON-able lists of inputs (name and size) for the positions of listing readers.

A stream reader's position names its inputs by identity (see ``base_stream_reader``): every
input finished by earlier runs, and the inputs of this run in read order. At a million inputs
that is tens of megabytes of names, committed after every batch, so the lists are stored as
chunks of ``CHUNK`` entries, each zlib-compressed and base64-encoded: names of one listing share
long prefixes and compress about tenfold. An append-only list (``InputLog``) encodes each full
chunk once and only re-encodes its last, partial chunk at a commit.

Names are stored as bytes with ``surrogateescape``, so any file name (newlines, tabs, bytes that
are not UTF-8) survives the round trip.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterable

CHUNK = 4096

Entry = tuple[str, int | None]  # input name and size (None when the store does not say)


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode_chunk(entries: Iterable[Entry]) -> str:
    """One chunk: per entry the name's length and bytes, then the size plus one (0: unknown)."""
    raw = bytearray()
    for name, size in entries:
        data = name.encode("utf-8", "surrogateescape")
        _varint(len(data), raw)
        raw += data
        _varint(0 if size is None else size + 1, raw)
    return base64.b64encode(zlib.compress(bytes(raw), 6)).decode("ascii")


def decode_chunk(text: str) -> list[Entry]:
    try:
        raw = zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
    except (ValueError, zlib.error) as error:
        raise ValueError(f"damaged input list in the job state ({error})") from None
    entries: list[Entry] = []
    position, end = 0, len(raw)
    while position < end:
        length, position = _read_varint(raw, position)
        name = raw[position : position + length].decode("utf-8", "surrogateescape")
        position += length
        size, position = _read_varint(raw, position)
        entries.append((name, size - 1 if size else None))
    return entries


def _read_varint(raw: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(raw):
            raise ValueError("damaged input list in the job state (truncated)")
        byte = raw[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def encode_entries(entries: list[Entry]) -> list[str]:
    return [encode_chunk(entries[start : start + CHUNK]) for start in range(0, len(entries), CHUNK)]


def decode_entries(chunks: Iterable[str]) -> list[Entry]:
    entries: list[Entry] = []
    for chunk in chunks:
        entries.extend(decode_chunk(chunk))
    return entries


class InputLog:
    """An append-only list of entries whose encoding is cached chunk by chunk."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries: list[Entry] = list(entries)
        self._encoded: list[str] = []  # encodings of the full chunks, in order

    def append(self, entry: Entry) -> None:
        self.entries.append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def encoded(self, length: int) -> list[str]:
        """The encoding of the first ``length`` entries."""
        full = length // CHUNK
        while len(self._encoded) < full:
            start = len(self._encoded) * CHUNK
            self._encoded.append(encode_chunk(self.entries[start : start + CHUNK]))
        tail = self.entries[full * CHUNK : length]
        return self._encoded[:full] + ([encode_chunk(tail)] if tail else [])
