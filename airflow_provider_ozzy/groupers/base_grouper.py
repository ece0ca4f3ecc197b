"""The grouper contract: split a batch into groups, each a tuple of values naming its files."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.fields import GroupKey
from airflow_provider_ozzy.core.pipeline_item import PipelineItem

_PLAIN_TYPES = (str, int, float, bool)


def group_value(value: Any) -> str:
    """A group value as the text that names its files.

    Text is kept; ``None`` (and a missing field) is ``unknown`` as in exporters; numbers and booleans
    become their text (``true``); lists and objects their JSON text. Keys made of text cannot merge
    by accident the way ``1``, ``1.0`` and ``True`` do as dict keys.
    """
    if type(value) is str:
        return value
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _PLAIN_TYPES):
        return str(value)
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str).decode()


class BaseGrouper(PipelineItem):
    """Returns ``{group key: items}`` keeping the input order inside each group.

    Group keys are tuples of plain values; writers turn them into safe path segments.
    """

    kind = "grouper"

    def group_key(self, item: dict[str, Any]) -> GroupKey:
        return ()

    def group_batch(self, batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
        return gather([self.group_key(item) for item in batch], batch)


def gather(keys: list[GroupKey], batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
    """``{key: items}`` of ``batch``, whose n-th item has the n-th key, in input order in each group.
    Groupers compute all keys of a batch at once (a comprehension is the fast way) and collect here."""
    groups: dict[GroupKey, list[dict[str, Any]]] = {}
    for key, item in zip(keys, batch, strict=True):
        members = groups.get(key)
        if members is None:
            groups[key] = [item]
        else:
            members.append(item)
    return groups
