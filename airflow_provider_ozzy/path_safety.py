"""Group values as path segments: deterministic, never escaping ``filebase``, never colliding.

A value made only of letters, digits, ``_ - . space`` (and not ``.``/``..``/hidden) is used as is.
Anything else is cleaned and suffixed with a hash of the original value, so two different values
never map to the same segment and a resumed run picks the same names.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_SAFE = re.compile(r"^[\w\-. ]{1,100}$")
_UNSAFE_CHARS = re.compile(r"[^\w\-. ]+")


def segment_text(value: Any) -> str:
    """The text of a group value; ``None`` becomes ``unknown`` as in exporters."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def safe_segment(value: Any) -> str:
    text = segment_text(value)
    if _SAFE.match(text) and not text.startswith(".") and text == text.strip():
        return text
    cleaned = _UNSAFE_CHARS.sub("_", text).strip(". ")[:60] or "_"
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned}-{digest}"
