"""The filter contract: keep or drop whole items, a batch at a time."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.pipeline_item import PipelineItem


class BaseFilter(PipelineItem):
    """Subclasses implement ``filter(item)``; hot filters override ``filter_batch`` instead."""

    kind = "filter"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.total = 0
        self.filtered_out = 0

    def filter(self, item: dict[str, Any]) -> bool:
        return True

    def filter_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [item for item in batch if self.filter(item)]
        self.total += len(batch)
        self.filtered_out += len(batch) - len(kept)
        return kept
