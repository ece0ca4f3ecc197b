"""Groups items by the values of some keys (dotted names reach into nested objects).

Missing or null values are ``unknown``, as in exporters; numbers, booleans, lists and objects name
their group by their text (``group_value``), so ``1`` and ``true`` never share a group by accident.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.fields import MISSING, field_getter
from airflow_provider_ozzy.groupers.base_grouper import BaseGrouper, GroupKey, gather, group_value


def _text(value: Any) -> str:
    return "unknown" if value is MISSING else group_value(value)


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
        self._getters = [field_getter(key) for key in self.options["keys"]]

    def group_key(self, item: dict[str, Any]) -> GroupKey:
        return tuple(_text(getter(item)) for getter in self._getters)

    def group_batch(self, batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
        if len(self._getters) != 1:
            return super().group_batch(batch)
        # one key, the common case: its text computed without a generator per item
        getter = self._getters[0]
        return gather(
            [(value if type(value) is str else _text(value),) for value in map(getter, batch)], batch
        )
