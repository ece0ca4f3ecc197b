"""Everything in one group (the default grouper)."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.groupers.base_grouper import BaseGrouper, GroupKey


class NoGrouper(BaseGrouper):
    """One group ``()``, without a per-item call."""

    def group_batch(self, batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
        return {(): batch} if batch else {}
