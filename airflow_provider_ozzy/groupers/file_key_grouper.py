"""Groups items by the values of some keys (dotted names reach into nested objects)."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.groupers.base_grouper import BaseGrouper, GroupKey

_MISSING_VALUE = "unknown"


def _scalar(value: Any) -> Any:
    """Group values must be hashable and JSON-able: nested values become their text."""
    if value is None:
        return _MISSING_VALUE
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class FileKeyGrouper(BaseGrouper):
    """``keys``: one group per distinct combination of values; missing or null values are ``unknown``."""

    supported_options = {
        "keys": {
            "type": "str_list",
            "help": "Fields whose values name the group (dotted for nested fields).",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._paths = [key.split(".") for key in self.options["keys"]]

    def group_key(self, item: dict[str, Any]) -> GroupKey:
        return tuple(
            _scalar(self._lookup(item, key, path))
            for key, path in zip(self.options["keys"], self._paths, strict=True)
        )

    @staticmethod
    def _lookup(item: dict[str, Any], key: str, path: list[str]) -> Any:
        if key in item or len(path) == 1:
            return item.get(key)
        value: Any = item
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value
