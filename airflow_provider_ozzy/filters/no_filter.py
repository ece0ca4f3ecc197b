"""Keeps every item (the default filter)."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.filters.base_filter import BaseFilter


class NoFilter(BaseFilter):
    """Passes the batch through untouched, without a per-item call."""

    def filter_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.total += len(batch)
        return batch
