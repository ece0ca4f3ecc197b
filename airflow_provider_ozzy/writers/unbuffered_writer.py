"""Writers that finish each batch inside ``write_batch`` (a service call, a fold), with no buffer files.

Nothing stays open after a batch, so the commit protocol's watermark is always the next batch: the
committed state is the reader position after the batch plus whatever ``extra_state()`` holds
(a reduce accumulator). A crash between the writes and the commit replays that batch on resume, so
``write_items`` must be idempotent for the batch (same keys, same values) or keep its effect in
``extra_state`` only.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.writers.base_writer import BaseWriter


class UnbufferedWriter(BaseWriter):
    """Hands every batch to ``write_items``; ``extra_state``/``restore_extra`` carry the writer's own state."""

    def write_batch(self, groups: dict[GroupKey, list[dict[str, Any]]], batch_number: int) -> None:
        for key, items in groups.items():
            self.accepted += len(items)
            self.routed[key] = self.routed.get(key, 0) + len(items)
            if items:
                self.write_items(items)

    def write_items(self, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def open_groups(self) -> dict[GroupKey, tuple[int, int]]:
        return {}

    def state(self, routed_at_watermark: dict[GroupKey, int], accepted_at_watermark: int) -> dict[str, Any]:
        state = super().state(routed_at_watermark, accepted_at_watermark)
        state["extra"] = self.extra_state()
        return state

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        self.restore_extra(state.get("extra"))

    def extra_state(self) -> Any:
        """JSON-able state committed with the position after each batch."""
        return None

    def restore_extra(self, extra: Any) -> None:
        """Take back what ``extra_state`` returned at the last commit."""
