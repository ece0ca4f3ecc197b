"""Group values as path segments: deterministic, never escaping ``filebase``, never colliding.

A value is *plain*, and used as is, when it is made only of letters, digits, ``_ - . space``, is
not hidden (``.x``, ``.``, ``..``), has no leading or trailing space, fits in ``VALUE_BYTES``
bytes of UTF-8 and does not end like a cleaned value (``-`` and ``DIGEST_HEX`` hex digits).
Any other value is cleaned (unsafe characters become ``_``, cut to ``CLEANED_BYTES``) and suffixed
with ``-`` and a hash of the original value. Plain values never end like that, so the mapping is
injective (up to a 64-bit hash collision) and a resumed run picks the same names.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

DIGEST_HEX = 16  # 64 bits: a collision needs ~2**32 cleaned values sharing their cleaned text
VALUE_BYTES = 100
CLEANED_BYTES = 60

_SAFE = re.compile(r"[\w\-. ]+\Z")
_UNSAFE_CHARS = re.compile(r"[^\w\-. ]+")
_LOOKS_CLEANED = re.compile(rf"-[0-9a-f]{{{DIGEST_HEX}}}\Z")


def segment_text(value: Any) -> str:
    """The text of a group value; ``None`` becomes ``unknown`` as in exporters."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def utf8(text: str) -> bytes:
    """The bytes a path segment takes (lone surrogates from JSON count as 3 bytes, never fail)."""
    return text.encode("utf-8", "surrogatepass")


def digest(text: str) -> str:
    return hashlib.sha1(utf8(text)).hexdigest()[:DIGEST_HEX]


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form fits in ``limit`` bytes."""
    data = utf8(text)
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def is_plain(text: str) -> bool:
    return bool(
        _SAFE.match(text)
        and not text.startswith(".")
        and text == text.strip()
        and len(utf8(text)) <= VALUE_BYTES
        and not _LOOKS_CLEANED.search(text)
    )


def safe_segment(value: Any) -> str:
    """The text a group value takes in a path: itself when plain, else cleaned + ``-`` + hash."""
    text = segment_text(value)
    if is_plain(text):
        return text
    cleaned = cut_to_bytes(_UNSAFE_CHARS.sub("_", text), CLEANED_BYTES).strip(". ") or "_"
    return f"{cleaned}-{digest(text)}"
