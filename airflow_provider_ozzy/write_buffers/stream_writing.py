"""What writers that accept whole streams share (used by StreamBypass).

A writer accepts a stream when it defines ``put_stream(stream, destination, size=None) -> (size,
md5)``: it uploads everything ``stream.read()`` gives as ``destination`` in one attempt (a stream
cannot be replayed; the caller reopens the source to retry), ``size`` being the length when known,
and returns the bytes sent and their hex MD5.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO


def accepts_streams(writer_class: type) -> bool:
    return callable(getattr(writer_class, "put_stream", None))


class HashingReader:
    """A read-only stream that counts and hashes what passes through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.size += len(data)
        self.md5.update(data)
        return data

    def tell(self) -> int:
        return self.size

    def seekable(self) -> bool:
        return False
