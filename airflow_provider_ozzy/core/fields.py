"""Reading a field of an item by name, dotted names reaching into nested objects.

A name that is a key of the item itself wins (flattened items have dotted keys); otherwise the
name is split on the separator and walked through nested dicts. Used by filters and groupers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MISSING: Any = object()
"""What a getter returns for an absent field (``None`` is a present value)."""

FieldGetter = Callable[[dict[str, Any]], Any]

GroupKey = tuple[Any, ...]
"""A group of items: the values of the grouping fields, in the grouper's order."""


def field_getter(name: str, separator: str = ".") -> FieldGetter:
    """A fast function returning ``item``'s value for ``name``, or ``MISSING``."""
    path = name.split(separator) if separator and separator in name else [name]
    if len(path) == 1:

        def top_level(item: dict[str, Any]) -> Any:
            return item.get(name, MISSING)

        return top_level

    def nested(item: dict[str, Any]) -> Any:
        value = item.get(name, MISSING)
        if value is not MISSING:
            return value
        value = item
        for part in path:
            if not isinstance(value, dict):
                return MISSING
            value = value.get(part, MISSING)
            if value is MISSING:
                return MISSING
        return value

    return nested
