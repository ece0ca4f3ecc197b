"""The transform contract: a batch of items in, a batch of items (plain dicts) out."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.pipeline_item import PipelineItem


class BaseTransform(PipelineItem):
    """Subclasses implement ``transform_batch``; returning plain dicts is always fine."""

    kind = "transform"

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise NotImplementedError
