"""Compact, JSON-able lists of inputs (name and size) for the positions of listing readers.

A stream reader's position names its inputs by identity (see ``base_stream_reader``): every
input finished by earlier runs, and the inputs of this run in read order. At a million inputs
that is tens of megabytes of names, committed after every batch, so the lists are stored as
chunks of ``CHUNK`` entries, each JSON, zlib-compressed and base64-encoded: names of one listing
share long prefixes and compress about tenfold, and JSON decodes at C speed. ``InputLog`` (a run's
inputs in read order) encodes each full chunk once and only re-encodes the last, partial chunk of
the part committed.

Any file name survives the round trip: newlines and tabs as JSON escapes, bytes that are not UTF-8
(``surrogateescape``) as base64.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import zlib
from collections.abc import Iterable, Iterator

import orjson

CHUNK = 4096

Entry = tuple[str, int | None]  # input name and size (None when the store does not say)


def encode_chunk(entries: Iterable[Entry]) -> str:
    """One chunk: ``[names, sizes, escaped]`` as compressed JSON. Names that JSON cannot carry
    (lone surrogates from bytes that are not UTF-8) are stored as base64 of their bytes, their
    places listed in ``escaped``."""
    names: list[str] = []
    sizes: list[int | None] = []
    for name, size in entries:
        names.append(name)
        sizes.append(size)
    try:
        raw = orjson.dumps([names, sizes, []])
    except orjson.JSONEncodeError:
        escaped = [index for index, name in enumerate(names) if not _json_safe(name)]
        for index in escaped:
            names[index] = base64.b64encode(names[index].encode("utf-8", "surrogateescape")).decode()
        raw = orjson.dumps([names, sizes, escaped])
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _json_safe(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_chunk(text: str) -> list[Entry]:
    try:
        names, sizes, escaped = orjson.loads(
            zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))
        )
        for index in escaped:
            names[index] = base64.b64decode(names[index]).decode("utf-8", "surrogateescape")
        if len(names) != len(sizes):
            raise ValueError("names and sizes differ in length")
    except (ValueError, TypeError, zlib.error) as error:
        raise ValueError(f"damaged input list in the job state ({error})") from None
    return list(zip(names, sizes, strict=True))


def encode_entries(entries: Iterable[Entry]) -> list[str]:
    """Entries (a list or any iterator) in chunks of ``CHUNK``, holding one chunk at a time."""
    iterator = iter(entries)
    chunks = []
    while chunk := list(itertools.islice(iterator, CHUNK)):
        chunks.append(encode_chunk(chunk))
    return chunks


def iter_entries(chunks: Iterable[str]) -> Iterator[Entry]:
    """The entries of encoded chunks, decoding one chunk at a time."""
    for chunk in chunks:
        yield from decode_chunk(chunk)


def decode_entries(chunks: Iterable[str]) -> list[Entry]:
    return list(iter_entries(chunks))


def merge_sorted(*sorted_entries: Iterable[Entry]) -> Iterator[Entry]:
    """Entries of several name-sorted iterables in one name order, each name once (the last given wins)."""
    pending: Entry | None = None
    for entry in heapq.merge(*sorted_entries, key=lambda entry: entry[0]):
        if pending is not None and pending[0] != entry[0]:
            yield pending
        pending = entry
    if pending is not None:
        yield pending


class InputLog:
    """A run's inputs in read order, whose encoding of any first part is cached chunk by chunk."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries: list[Entry] = list(entries)
        self._encoded: list[str] = []  # encodings of the full chunks, in order

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
