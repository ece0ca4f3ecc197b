"""The MD5 of a local file or of an object read as a stream, in chunks (never whole in memory).

Writers compare it with what a destination reports (check_consistency, Drive's md5Checksum), and
``ozzy shard check`` lists it for the files and objects of an export: one digest, computed one way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

CHUNK = 1 << 20


def chunks_md5(chunks: Iterable[bytes]) -> str:
    """The hex MD5 of the bytes of ``chunks`` one after the other."""
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def file_md5(path: str) -> str:
    """The hex MD5 of the file at ``path``."""
    with open(path, "rb") as handle:
        return chunks_md5(iter(lambda: handle.read(CHUNK), b""))
