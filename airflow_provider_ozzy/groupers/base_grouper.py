"""The grouper contract: split a batch into groups, each a tuple of values naming its files."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.pipeline_item import PipelineItem

GroupKey = tuple[Any, ...]


class BaseGrouper(PipelineItem):
    """Returns ``{group key: items}`` keeping the input order inside each group.

    Group keys are tuples of plain values; writers turn them into safe path segments.
    """

    kind = "grouper"

    def group_key(self, item: dict[str, Any]) -> GroupKey:
        return ()

    def group_batch(self, batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
        groups: dict[GroupKey, list[dict[str, Any]]] = {}
        for item in batch:
            key = self.group_key(item)
            members = groups.get(key)
            if members is None:
                groups[key] = [item]
            else:
                members.append(item)
        return groups
