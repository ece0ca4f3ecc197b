"""The MD5 of a local file, read in 1 MiB chunks (never the whole file in memory).

Writers compare it with what a destination reports (check_consistency, Drive's md5Checksum), and
``ozzy shard check`` lists it for FSWriter's files: one digest, computed one way.
"""

from __future__ import annotations

import hashlib


def file_md5(path: str) -> str:
    """The hex MD5 of the file at ``path``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
