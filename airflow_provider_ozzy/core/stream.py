"""``Stream``: one input of a stream reader as a service lists it (file, object, blob, remote file)."""

from __future__ import annotations

from typing import Any, NamedTuple


class Stream(NamedTuple):
    name: str
    size: int | None
    meta: Any = None  # what the service needs to open it again (an object's etag, a blob's properties)
