"""Leaves items as they are (the default transform)."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.transform.base_transform import BaseTransform


class NoTransform(BaseTransform):
    """Identity."""

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return batch
