"""Collects the export's counters; the final report is the stats dict the CLI prints and the operator returns."""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_ozzy.pipeline_item import PipelineItem


class BasicStatsManager(PipelineItem):
    """Logs the final stats; nothing per batch. Stats errors are logged, never fatal."""

    kind = "stats_manager"

    def iteration_report(self, timings: dict[str, float], counters: dict[str, Any]) -> None:
        """Called after every batch with seconds spent per stage and running counters."""

    def final_report(self, stats: dict[str, Any]) -> None:
        self.log.info("Export stats: %s", stats)

    def safely(self, method: str, *args: Any) -> None:
        try:
            getattr(self, method)(*args)
        except Exception:  # stats must never break an export
            logging.getLogger(__name__).warning("stats manager %s failed", method, exc_info=True)
